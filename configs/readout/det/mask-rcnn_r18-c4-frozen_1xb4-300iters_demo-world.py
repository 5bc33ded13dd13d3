# Frozen-encoder instance segmentation readout on the demo world: Mask R-CNN C4 (frozen
# backbone + frozen shared layer4 head; trained: RPN, box layers, deconv + 1x1 mask predictor).
_base_ = './faster-rcnn_r18-c4-frozen_1xb4-300iters_demo-world.py'
# the mask branch of ../../_base_/readout/models/mask-rcnn_r50-c4_frozen.py at ResNet-18 width
model = dict(
    type='MaskRCNN',
    roi_head=dict(
        mask_roi_extractor=None,
        mask_head=dict(type='FCNMaskHead', num_convs=0, in_channels=512, conv_out_channels=256,
                       num_classes=4,
                       loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=dict(rcnn=dict(mask_size=14)),
    test_cfg=dict(rcnn=dict(mask_thr_binary=0.5)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(192, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(192, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(metric=['bbox', 'segm'])
test_evaluator = val_evaluator
