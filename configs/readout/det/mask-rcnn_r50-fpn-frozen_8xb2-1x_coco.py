# COCO readout: Mask R-CNN FPN on the frozen encoder,
# MMDet's COCO data and 1x schedule (12 epochs, batch 16, lr 0.02, steps 8 / 11).
_base_ = [
    '../../_base_/readout/models/mask-rcnn_r50-fpn_frozen.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    '../../_base_/readout/runtime_det.py',
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=80), mask_head=dict(num_classes=80)))
