# FlowE on the demo world, CPU-sized: dilated ResNet-18 (output stride 8), dense BYOL MLPs at
# quarter width, the demo world's exact flow, 300 iterations (a few minutes on 2 cores).
_base_ = [
    '../_base_/datasets/demo_world_flow_pairs.py',
    '../_base_/schedules/lars_coslr_60k.py',
    '../_base_/demo_runtime.py',
]

model = dict(
    type='FlowE',
    base_momentum=0.01,
    backbone=dict(type='ResNet', depth=18, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
                  norm_cfg=dict(type='BN'), zero_init_residual=False),
    neck=dict(type='DenseNonLinearNeck', in_channels=512, hid_channels=512, out_channels=128),
    predictor=dict(type='DenseNonLinearNeck', in_channels=128, hid_channels=512,
                   out_channels=128),
    correspondence='flow',
    resolution='feature',
    occlusion='fb_check')

optim_wrapper = dict(optimizer=dict(lr=0.3))  # LARS as the paper, tuned for batch 8
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=20, end=300, T_max=280),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300)
auto_scale_lr = dict(base_batch_size=8)
