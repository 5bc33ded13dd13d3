# VADeR's COCO fine-tuning (sec. 4): Mask R-CNN R50-FPN where BOTH the encoder (backbone.*) and
# the FPN decoder (neck.fpn.* -> the detector's FPN, where names and shapes match) start from the
# VADeR checkpoint; everything is fine-tuned with SyncBN, BN added on all FPN layers (MoCo's
# fine-tuning setup); MMDet's 1x schedule.
#   tools/readout/readout.sh THIS work_dirs/vader/iter_X.pth 8
_base_ = [
    '../../_base_/readout/models/mask-rcnn_r50-fpn_frozen.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    '../../_base_/readout/runtime_det.py',
]
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(frozen_stages=-1, norm_eval=False, norm_cfg=norm_cfg),
    neck=dict(type='ReadoutFPN', norm_cfg=norm_cfg, pretrained_ckpt=None),
    roi_head=dict(bbox_head=dict(num_classes=80), mask_head=dict(num_classes=80)))
