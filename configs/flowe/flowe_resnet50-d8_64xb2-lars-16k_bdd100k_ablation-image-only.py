# Table 3 row "image-only": both views from the same frame (interval 0), matched through the two
# view affines only (dense BYOL on frames; no video, no flow).
_base_ = ['./flowe_resnet50-d8_64xb2-lars-16k_bdd100k_ablation-full.py']
model = dict(correspondence='identity', flow_net=None)  # no flow needed
train_dataloader = dict(
    dataset=dict(
        interval_seconds=None,
        interval_frames=0,
        pipeline=[
            dict(type='PairRandomResizedCrop', crop_size=(512, 512), scale_range=(0.5, 1.0),
                 short_side=1024),
            dict(type='FramePairToViews', transforms={{_base_.view_pipeline}}),
            dict(type='PackFlowInputs'),
        ]))
