# Hierarchical grouping on PASCAL train_aug only (Table 1: 400 epochs; steps scaled x5).
_base_ = './hiergroup_resnet50-hypercolumn_7xb10-adam-80e_voc12aug-coco.py'
train_dataloader = dict(dataset=dict(_delete_=True, type='ConcatDataset',
                                     datasets=[{{_base_.voc}}]))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[125, 225, 300],
                        gamma=0.1)]
train_cfg = dict(max_epochs=400)
