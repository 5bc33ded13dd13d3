# Cityscapes instance segmentation readout (FlowE sec. 4.3, Table 4 "mAP^dagger"): Mask R-CNN
# with the heavier FPN header on the frozen encoder; 64 epochs, batch 8 (8 GPUs x 1),
# SGD lr 0.01, x0.1 at epoch 56; 2048x1024 images. COCO-style bbox / segm AP + Cityscapes AP.
_base_ = [
    '../../_base_/readout/models/mask-rcnn_r50-fpn_frozen.py',
    '../../_base_/readout/datasets/cityscapes_instance.py',
    '../../_base_/readout/schedules/cityscapes_instance_64e.py',
    '../../_base_/readout/runtime_det.py',
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=8), mask_head=dict(num_classes=8)))
