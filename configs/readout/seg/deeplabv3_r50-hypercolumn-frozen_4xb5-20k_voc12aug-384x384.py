# Hierarchical grouping's readout (sec. 4.2): the frozen base features + the ASPP head of
# DeepLabV3 on PASCAL VOC 2012 train_aug -> val; 20k iterations, batch 20, SGD lr 0.03,
# momentum 0.9, wd 5e-4, x0.1 at 10k and 15k; 384x384 random crops. The base features are those
# the pixel loss trained: ResNet-50 up to Res4 + the hypercolumn head (Res3 / Res4 -> 3x3
# Conv-BN-ReLU 256 each, at 1/4 scale, concatenated: 512 channels), read by ReadoutHypercolumn
# from the checkpoint's backbone.* and neck.*; HierGroup builds no Res5.
#   tools/readout/readout.sh THIS work_dirs/hiergroup/epoch_80.pth 4
_base_ = [
    '../../_base_/readout/models/deeplabv3_r50-d8_frozen.py',
    'mmseg::_base_/datasets/pascal_voc12_aug.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]
crop_size = (384, 384)
norm_cfg = dict(type='BN', requires_grad=False)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        _delete_=True, type='ReadoutHypercolumn',
        backbone=dict(depth=50, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1),
                      out_indices=(1, 2), norm_cfg=norm_cfg),
        neck=dict(in_channels=(512, 1024), mid_channels=256, out_channels=32,
                  norm_cfg=norm_cfg),
        outputs=('hypercolumn', ), frozen=True, pretrained_ckpt=None),
    decode_head=dict(in_channels=512, num_classes=21), auxiliary_head=None)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=5, dataset=dict(pipeline=train_pipeline))  # x 4 GPUs = 20
optim_wrapper = dict(optimizer=dict(lr=0.03, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, begin=0, end=20000,
                        milestones=[10000, 15000], gamma=0.1)]
auto_scale_lr = dict(enable=False, base_batch_size=20)
