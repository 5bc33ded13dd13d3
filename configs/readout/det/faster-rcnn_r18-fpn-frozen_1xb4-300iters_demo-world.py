# Frozen-encoder detection readout on the demo world with the heavier FPN header (FlowE's
# "heavier header" rows): frozen ResNet-18 encoder, trained FPN + RPN + box head.
_base_ = [
    '../../_base_/readout/models/faster-rcnn_r50-fpn_frozen.py',
    '../../_base_/readout/datasets/demo_world_det.py',
    '../../_base_/readout/schedules/det_demo_300iters.py',
    '../../_base_/readout/runtime_det.py',
]
model = dict(
    backbone=dict(depth=18),
    neck=dict(in_channels=[64, 128, 256, 512]),
    rpn_head=dict(anchor_generator=dict(scales=[4])),
    roi_head=dict(bbox_head=dict(num_classes=4)),
    test_cfg=dict(rcnn=dict(max_per_img=20)))
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(by_epoch=False, interval=300, max_keep_ckpts=1))
log_processor = dict(window_size=50, by_epoch=False)
