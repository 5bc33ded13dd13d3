# Hierarchical grouping, the paper's main setting (sec. 4.2): PASCAL train_aug + COCO train,
# from scratch, 80 epochs, batch 70 (7 GPUs x 10), Adam lr 1e-2, x0.1 at epochs 25 / 45 / 60,
# 224 crops, cns = 5:
#   tools/dist_train.sh \
#       configs/hiergroup/hiergroup_resnet50-hypercolumn_7xb10-adam-80e_voc12aug-coco.py 7
# Readout: configs/readout/seg/deeplabv3_r50-hypercolumn-frozen_4xb5-20k_voc12aug-384x384.py
_base_ = [
    '../_base_/models/hiergroup_r50-hypercolumn.py',
    '../_base_/datasets/voc12aug_coco_ucm.py',
    '../_base_/default_runtime.py',
]
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-2))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[25, 45, 60], gamma=0.1)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=80)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
auto_scale_lr = dict(base_batch_size=70)
