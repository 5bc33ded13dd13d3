# NYU-depth v2 depth regression readout of VADeR's frozen decoder (VADeR sec. 4): a 1x1
# convolution on the 128-d embedding, L1 loss, MMSeg's DepthEstimator / NYU data / DepthMetric
# (RMSE and the usual threshold accuracies). The paper's schedule is in its supplement; ours:
# 20k iterations, batch 16, SGD lr 0.01, poly. Albumentations colour jitter of MMSeg's NYU base
# is left out (no extra dependency).
#   tools/readout/readout.sh THIS work_dirs/vader/iter_X.pth 4
_base_ = [
    '../../_base_/readout/models/linear-decoder_r50-fpn_frozen.py',
    'mmseg::_base_/datasets/nyu.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]
crop_size = (480, 480)
model = dict(
    type='DepthEstimator',
    data_preprocessor=dict(size=crop_size, seg_pad_val=0),
    decode_head=dict(_delete_=True, type='DepthReadoutHead', in_channels=128, kernel_size=1,
                     in_index=0, align_corners=False),
    test_cfg=dict(mode='whole'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs',
         meta_keys=('img_path', 'depth_map_path', 'ori_shape', 'img_shape', 'pad_shape',
                    'scale_factor', 'flip', 'flip_direction', 'category_id')),
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))  # x 4 GPUs = 16
optim_wrapper = dict(optimizer=dict(lr=0.01, weight_decay=0.0))
default_hooks = dict(visualization=dict(type='SegVisualizationHook', draw=False))
auto_scale_lr = dict(enable=False, base_batch_size=16)
