# CPU demo: VADeR on demo-world frames (single images: interval 0), ResNet-18 + FPN decoder,
# 96x96 views, 300 iterations of SGD (decoder lr 0.03, encoder x0.1 since it starts from scratch
# here, not from MoCo), a 2048-pixel queue. Read the decoder out with
#   tools/readout/readout.sh \
#       configs/readout/seg/linear-decoder_r18-fpn-frozen_1xb8-400iters_demo-world.py CKPT 1
_base_ = [
    '../_base_/models/vader_r50-fpn.py',
    '../_base_/datasets/demo_world_pairs.py',
    '../_base_/schedules/sgd_cosine_300iters_demo.py',
    '../_base_/demo_runtime.py',
]
model = dict(backbone=dict(depth=18), neck=dict(in_channels=[64, 128, 256, 512]),
             queue_len=2048)
train_pipeline = [
    dict(type='CorrespondingViews',
         geometric=[
             dict(type='RandomResizedCropAffine', scale=96, crop_ratio_range=(0.3, 1.)),
             dict(type='RandomAffineView', scale_range=(1., 1.), rotation_range=(0., 0.),
                  flip_prob=0.5)],
         appearance=[
             dict(type='RandomApply',
                  transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4,
                                   saturation=0.4, hue=0.1)],
                  prob=0.8),
             dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
                  channel_weights=(0.114, 0.587, 0.2989))],
         min_shared=32, stride=4),
    dict(type='PackFlowInputs'),
]
train_dataloader = dict(dataset=dict(interval_frames=0, pipeline=train_pipeline))
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.03, weight_decay=1e-4, momentum=0.9),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
