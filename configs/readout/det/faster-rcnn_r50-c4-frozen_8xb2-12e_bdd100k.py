# BDD100K detection readout (FlowE sec. 4.3, Table 1/2 "mAP"): Faster R-CNN ResNet-C4, backbone and
# shared layer4 head frozen from the pretraining checkpoint; 8 classes; 12 epochs, batch 16
# (8 GPUs x 2), SGD lr 0.02, x0.1 at epochs 8 and 11; images at their 1280x720 resolution.
#   python tools/dataset_converters/bdd100k_det_to_coco.py \
#       data/bdd100k/labels/det_20/det_train.json data/bdd100k/annotations/det_train_8cls_coco.json
#   (and the same for val), then
#   tools/readout/readout.sh THIS work_dirs/flowe_r50_bdd/iter_60000.pth 8
_base_ = [
    '../../_base_/readout/models/faster-rcnn_r50-c4_frozen.py',
    '../../_base_/readout/datasets/bdd100k_det.py',
    'mmdet::_base_/schedules/schedule_1x.py',  # 12 epochs, lr 0.02, steps at 8 and 11
    '../../_base_/readout/runtime_det.py',
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=8)))
