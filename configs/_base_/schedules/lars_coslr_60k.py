# FlowE's schedule on BDD100K: LARS, lr 0.1 (64 GPUs x 2 pairs), wd 1e-6, cosine decay without
# restart, 60k iterations. BN and bias parameters are excluded from weight decay and LARS
# adaptation, as in BYOL.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=0.1, momentum=0.9, weight_decay=1e-6),
    paramwise_cfg=dict(custom_keys={
        'bn': dict(decay_mult=0, lars_exclude=True),
        'bias': dict(decay_mult=0, lars_exclude=True),
        'downsample.1': dict(decay_mult=0, lars_exclude=True),
    }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=False, begin=0, end=1000),
    dict(type='CosineAnnealingLR', T_max=59000, by_epoch=False, begin=1000, end=60000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=60000)
auto_scale_lr = dict(base_batch_size=128)
