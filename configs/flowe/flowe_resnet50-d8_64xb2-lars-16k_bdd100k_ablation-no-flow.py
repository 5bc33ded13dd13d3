# Table 3 row "adjacent frames without flow": frames 0.5 s apart matched as if nothing moved
# (T = A2 . A1^-1).
_base_ = ['./flowe_resnet50-d8_64xb2-lars-16k_bdd100k_ablation-full.py']
model = dict(correspondence='identity', flow_net=None)  # no flow needed
train_dataloader = dict(
    dataset=dict(
        pipeline=[
            dict(type='PairRandomResizedCrop', crop_size=(512, 512), scale_range=(0.5, 1.0),
                 short_side=1024),
            dict(type='FramePairToViews', transforms={{_base_.view_pipeline}}),
            dict(type='PackFlowInputs'),
        ]))
