# CACL's schedule (implementation details): LARS (SGD momentum 0.9, trust coefficient 0.001),
# lr 1.0 for 16 GPUs x 32, weight decay 1e-6, cosine decay. The epoch count is not in the paper:
# 200 epochs as MoCo-v2, whose hyper-parameters CACL follows. BN and bias parameters are excluded
# from weight decay and LARS adaptation.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=1.0, momentum=0.9, weight_decay=1e-6, eta=0.001),
    paramwise_cfg=dict(custom_keys={
        'bn': dict(decay_mult=0, lars_exclude=True),
        'bias': dict(decay_mult=0, lars_exclude=True),
        'downsample.1': dict(decay_mult=0, lars_exclude=True),
    }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=190, by_epoch=True, begin=10, end=200,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200)
auto_scale_lr = dict(base_batch_size=512)
