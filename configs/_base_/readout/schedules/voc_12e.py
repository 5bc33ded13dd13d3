# MMDet's PASCAL VOC schedule: the training set is repeated 3 times, so 4 epochs = 12 passes;
# x0.1 after epoch 3.
max_epochs = 4
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
                        milestones=[3], gamma=0.1)]
