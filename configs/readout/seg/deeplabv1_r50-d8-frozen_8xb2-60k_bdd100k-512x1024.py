# BDD100K semantic segmentation (19 classes) readout, FlowE sec. 4.3: 60k iterations, batch 16,
# lr 0.02, poly; crops from images randomly resized to a short side of 512-2048.
_base_ = [
    '../../_base_/readout/models/deeplabv1_r50-d8_frozen.py',
    'mmseg::_base_/datasets/bdd100k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
crop_size = (512, 1024)
model = dict(data_preprocessor=dict(size=crop_size), decode_head=dict(num_classes=19))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomChoiceResize', scales=[int(512 * x * 0.25) for x in range(4, 17)],
         resize_type='ResizeShortestEdge', max_size=4096),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))  # x 8 GPUs = 16
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=60000,
                        by_epoch=False)]
train_cfg = dict(max_iters=60000, val_interval=6000)
auto_scale_lr = dict(enable=False, base_batch_size=16)
