# Cityscapes instance segmentation (8 classes) as FlowE reads it out: MMDet's Cityscapes layout
# and evaluators, the images kept at their 2048x1024 resolution (no multi-scale, as the paper does
# for its readouts) and no RepeatDataset, so `max_epochs` counts real epochs (paper: 64).
# Prepare the COCO-style labels with MMDet's tools/dataset_converters/cityscapes.py.
_base_ = 'mmdet::_base_/datasets/cityscapes_instance.py'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(
    dataset=dict(_delete_=True, type={{_base_.dataset_type}}, data_root={{_base_.data_root}},
                 ann_file='annotations/instancesonly_filtered_gtFine_train.json',
                 data_prefix=dict(img='leftImg8bit/train/'),
                 filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=train_pipeline))
