# PASCAL VOC 07+12 detection readout: Faster R-CNN FPN on the frozen encoder,
# MMDet's VOC data (trainval 07+12, repeated 3 times) and schedule: 4 x 3 = 12 epochs, lr 0.01,
# step after 3 x 3 epochs; VOC mAP@0.5 from MMDet's VOCMetric.
_base_ = [
    '../../_base_/readout/models/faster-rcnn_r50-fpn_frozen.py',
    'mmdet::_base_/datasets/voc0712.py',
    '../../_base_/readout/schedules/voc_12e.py',
    '../../_base_/readout/runtime_det.py',
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=20)))
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
auto_scale_lr = dict(enable=False, base_batch_size=16)  # --auto-scale-lr
