# VADeR Table 3 "same view": both views share one geometry (crop, flip); only their appearance
# differs. Positives are still the corresponding pixels.
_base_ = './vader_resnet50-fpn_4xb32-6m-iters_in1k.py'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CorrespondingViews', geometric={{_base_.geometric}},
         appearance={{_base_.appearance}}, min_shared=32, stride=4, view_sampling='same'),
    dict(type='PackFlowInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
