# CPU demo schedule: 300 iterations of SGD (lr 0.03 for 8 samples), 20 warm-up iterations, cosine.
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.03, weight_decay=1e-4, momentum=0.9))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=20, end=300, T_max=280),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300)
auto_scale_lr = dict(base_batch_size=8)
