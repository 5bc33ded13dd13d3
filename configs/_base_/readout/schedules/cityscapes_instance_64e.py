# FlowE's Cityscapes instance-segmentation readout schedule (sec. 4.3): 64 epochs, batch 8,
# SGD lr 0.01, x0.1 at epoch 56 (short linear warm-up as MMDet's schedules).
max_epochs = 64
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=8)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[56], gamma=0.1),
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
