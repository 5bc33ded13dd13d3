# Frozen encoder + DeepLabV3's ASPP head (MMSeg's ASPPHead): FlowE's "heavier header" and the
# hierarchical-grouping readout. Only the head is trained (BN inside the head is trained).
_base_ = ['./deeplabv1_r50-d8_frozen.py']
model = dict(
    decode_head=dict(
        _delete_=True, type='ASPPHead', in_channels=2048, in_index=0, channels=512,
        dilations=(1, 12, 24, 36), dropout_ratio=0.1, num_classes=19,
        norm_cfg=dict(type='SyncBN', requires_grad=True), align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
