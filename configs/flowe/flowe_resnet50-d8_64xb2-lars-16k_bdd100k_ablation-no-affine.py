# Table 3 row "no random affine": views keep the frames' geometry (colour and blur only).
_base_ = ['./flowe_resnet50-d8_64xb2-lars-16k_bdd100k_ablation-full.py']
view_pipeline = [
    dict(type='RandomAffineView', scale_range=(1.0, 1.0), rotation_range=(0., 0.)),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='ColorJitter', brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.5),
]
train_dataloader = dict(
    dataset=dict(
        pipeline=[
            dict(type='PairRandomResizedCrop', crop_size=(512, 512), scale_range=(0.5, 1.0),
                 short_side=1024),
            dict(type='KeepFlowFrames'),
            dict(type='FramePairToViews', transforms=view_pipeline),
            dict(type='PackFlowInputs'),
        ]))
