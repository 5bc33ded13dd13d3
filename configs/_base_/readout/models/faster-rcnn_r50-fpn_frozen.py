# Frozen Faster R-CNN readout with the heavier FPN header (FlowE sec. 4.3, after LoCo): MMDet's
# Faster R-CNN R50-FPN whose backbone is the pretraining encoder, loaded strictly from
# `pretrained_ckpt` and frozen (stem + all four stages, BN in eval mode). FPN, RPN and the box
# head are trained. Dilation does not change parameter shapes, so a dilated pretraining encoder
# loads here with the standard strides (strides 4-32, as the anchors and RoI extractor below
# expect; tools/benchmark/learning_det.py's dilate() reads one with its own strides instead).
custom_imports = dict(imports=['mmdense'], allow_failed_imports=False)
_base_ = 'mmdet::_base_/models/faster-rcnn_r50_fpn.py'
pretrained_ckpt = None
model = dict(
    backbone=dict(_delete_=True, type='ReadoutResNet', depth=50, num_stages=4,
                  out_indices=(0, 1, 2, 3), frozen_stages=4,
                  norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True,
                  style='pytorch', pretrained_ckpt=pretrained_ckpt))
