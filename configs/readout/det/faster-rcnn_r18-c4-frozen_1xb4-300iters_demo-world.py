# Frozen-encoder detection readout on the demo world: Faster R-CNN with the ResNet-C4 design, the
# encoder's first three stages as the frozen backbone and its fourth stage as the frozen shared
# RoI head, both loaded strictly from the same mmdense checkpoint (backbone.*):
#   tools/readout/readout.sh THIS CKPT 1      (CKPT=none: the random-init baseline)
# Only the RPN and the box classifier / regressor are trained. ResNet-18 as in the FlowE demo.
_base_ = [
    '../../_base_/readout/models/faster-rcnn_r50-c4_frozen.py',
    '../../_base_/readout/datasets/demo_world_det.py',
    '../../_base_/readout/schedules/det_demo_300iters.py',
    '../../_base_/readout/runtime_det.py',
]
model = dict(
    backbone=dict(depth=18),
    rpn_head=dict(in_channels=256, feat_channels=256,
                  anchor_generator=dict(scales=[2, 4, 8])),
    roi_head=dict(shared_head=dict(depth=18),
                  bbox_roi_extractor=dict(out_channels=256),
                  bbox_head=dict(in_channels=512, num_classes=4)),
    train_cfg=dict(rpn=dict(sampler=dict(num=128)),
                   rpn_proposal=dict(nms_pre=2000, max_per_img=300),
                   rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=100), rcnn=dict(max_per_img=20)))
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(by_epoch=False, interval=300, max_keep_ckpts=1))
log_processor = dict(window_size=50, by_epoch=False)
