# CPU demo: hierarchical grouping on the demo world's frames (unlabeled; all clips), ResNet-18 +
# hypercolumn head from scratch, 96x96 views, 300 iterations of Adam. UCM trees first:
#   python tools/ucm/compute_ucm.py data/demo_world/frames data/demo_world_ucm
_base_ = [
    '../_base_/models/hiergroup_r50-hypercolumn.py',
    '../_base_/demo_runtime.py',
]
data_root = 'data/demo_world/'
ucm_root = 'data/demo_world_ucm'
model = dict(backbone=dict(depth=18, norm_cfg=dict(type='BN')),
             neck=dict(in_channels=(128, 256), norm_cfg=dict(type='BN')))
# the two views and their recorded affines (shared with the random-regions ablation)
corresponding_views = dict(
    type='CorrespondingViews',
    geometric=[
        dict(type='RandomResizedCropAffine', scale=96, crop_ratio_range=(0.3, 1.)),
        dict(type='RandomAffineView', scale_range=(1., 1.), rotation_range=(0., 0.),
             flip_prob=0.5)],
    appearance=[
        dict(type='RandomApply',
             transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4,
                              saturation=0.4, hue=0.1)],
             prob=0.8)],
    min_shared=32, stride=4)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadUCM', ucm_root=ucm_root, img_root=data_root + 'frames'),
    corresponding_views,
    dict(type='PackUCMInputs'),
]
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False, drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='frames',
                 with_label=False, pipeline=train_pipeline))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=20, end=300, T_max=280),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300)
