# BDD100K detection readout with the heavier FPN header (FlowE Table 1/2 "mAP^dagger"): frozen
# encoder, trained FPN + RPN + box head; schedule as the C4 readout (12 epochs, batch 16, lr 0.02,
# steps 8 / 11, 1280x720, no multi-scale).
_base_ = [
    '../../_base_/readout/models/faster-rcnn_r50-fpn_frozen.py',
    '../../_base_/readout/datasets/bdd100k_det.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    '../../_base_/readout/runtime_det.py',
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=8)))
