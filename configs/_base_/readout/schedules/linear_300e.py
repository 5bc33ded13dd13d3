# CACL's linear protocol (Evaluation setup): the 1x1 classifier on the frozen representation is
# trained for 300 epochs, lr 0.6, weight decay 0 (SGD momentum 0.9, poly decay by iteration).
# Epoch-based: the configs using it set a DefaultSampler and log_processor(by_epoch=True).
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.6, momentum=0.9, weight_decay=0.0))
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=300, by_epoch=True,
                        convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300, val_interval=30)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=30, max_keep_ckpts=2))
