# Transitive invariance readout on COCO: Faster R-CNN VGG16, all layers fine-tuned from the
# TripletSiamese checkpoint; MMDet's COCO data and 1x schedule with lr 0.002: the paper's 0.001
# at 8 images per iteration, scaled linearly to 16 (configs/transitive/README.md).
_base_ = [
    '../../_base_/readout/models/faster-rcnn_vgg16_finetune.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    '../../_base_/readout/runtime_det.py',
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=80)))
optim_wrapper = dict(optimizer=dict(lr=0.002, momentum=0.9, weight_decay=5e-4))
