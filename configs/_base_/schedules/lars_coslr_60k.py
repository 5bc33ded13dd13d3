# FlowE's schedule on BDD100K: LARS, lr 0.1 (64 GPUs x 2 pairs), wd 1e-6, cosine decay without
# restart, 60k iterations. BN and bias parameters are excluded from weight decay and LARS
# adaptation, as in BYOL: the constructor finds every normalisation layer by type (the dense
# projector / predictor's BN is `mlp.1`, which MMPretrain's name-based `custom_keys` miss).
optim_wrapper = dict(
    type='OptimWrapper',
    constructor='NormBiasExcludeOptimWrapperConstructor',
    optimizer=dict(type='LARS', lr=0.1, momentum=0.9, weight_decay=1e-6))
# sec. 4.3: "cosine decay learning rate schedule without restart and an initial learning rate
# 0.1": no warm-up (the paper names none; README "Where we differ from the paper")
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=60000, by_epoch=False, begin=0, end=60000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=60000)
auto_scale_lr = dict(base_batch_size=128)
