# BDD100K object detection with the paper's 8 Cityscapes instance classes (FlowE sec. 4.1/4.3):
# 70k train / 10k val images, "we keep the image resolution as it is (1280x720) and do not apply
# multi-scale training". Layout (official BDD100K download) + the converted labels:
#   data/bdd100k/images/100k/{train,val}/*.jpg
#   data/bdd100k/annotations/det_{train,val}_8cls_coco.json   <- tools/dataset_converters/
#                                                                 bdd100k_det_to_coco.py
dataset_type = 'CocoDataset'
data_root = 'data/bdd100k/'
metainfo = dict(classes=('person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle',
                         'bicycle'))
backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(1280, 720), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(1280, 720), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(type=dataset_type, data_root=data_root, metainfo=metainfo,
                 ann_file='annotations/det_train_8cls_coco.json',
                 data_prefix=dict(img='images/100k/train/'),
                 filter_cfg=dict(filter_empty_gt=True, min_size=4),
                 pipeline=train_pipeline, backend_args=backend_args))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, metainfo=metainfo,
                 ann_file='annotations/det_val_8cls_coco.json',
                 data_prefix=dict(img='images/100k/val/'), test_mode=True,
                 pipeline=test_pipeline, backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/det_val_8cls_coco.json',
                     metric='bbox', format_only=False, backend_args=backend_args)
test_evaluator = val_evaluator
