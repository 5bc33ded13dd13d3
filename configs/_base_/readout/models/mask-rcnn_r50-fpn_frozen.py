# Frozen Mask R-CNN readout with the FPN header: MMDet's Mask R-CNN R50-FPN on the frozen
# pretraining encoder (see faster-rcnn_r50-fpn_frozen.py).
custom_imports = dict(imports=['mmdense'], allow_failed_imports=False)
_base_ = 'mmdet::_base_/models/mask-rcnn_r50_fpn.py'
pretrained_ckpt = None
model = dict(
    backbone=dict(_delete_=True, type='ReadoutResNet', depth=50, num_stages=4,
                  out_indices=(0, 1, 2, 3), frozen_stages=4,
                  norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True,
                  style='pytorch', pretrained_ckpt=pretrained_ckpt))
