# BDD100K readout with the heavier DeepLabV3 (ASPP) header (same data and schedule as the
# DeepLab-v1 config it inherits).
_base_ = ['./deeplabv1_r50-d8-frozen_8xb2-60k_bdd100k-512x1024.py']
model = dict(
    decode_head=dict(
        _delete_=True, type='ASPPHead', in_channels=2048, in_index=0, channels=512,
        dilations=(1, 12, 24, 36), dropout_ratio=0.1, num_classes=19,
        norm_cfg=dict(type='SyncBN', requires_grad=True), align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
