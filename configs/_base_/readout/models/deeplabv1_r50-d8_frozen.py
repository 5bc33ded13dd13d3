# Frozen readout model: the pretraining encoder (ResNet-50, last two stages dilated, output
# stride 8, torchvision-style stem) loaded strictly from `pretrained_ckpt`, frozen (no gradients,
# BN in eval mode), + FlowE's standard header: one 3x3 convolution to the class logits
# (DeepLab-v1 style). Set the checkpoint with
#   --cfg-options model.backbone.pretrained_ckpt=work_dirs/flowe/iter_60000.pth
custom_imports = dict(imports=['mmdense'], allow_failed_imports=False)
pretrained_ckpt = None
norm_cfg = dict(type='BN', requires_grad=False)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0,
                           seg_pad_val=255),
    backbone=dict(type='ReadoutResNet', depth=50, strides=(1, 2, 1, 1),
                  dilations=(1, 1, 2, 4), out_indices=(3, ), frozen_stages=4, norm_eval=True,
                  norm_cfg=norm_cfg, style='pytorch', pretrained_ckpt=pretrained_ckpt),
    decode_head=dict(type='ConvReadoutHead', in_channels=2048, kernel_size=3, num_classes=19,
                     in_index=0, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    train_cfg=dict(), test_cfg=dict(mode='whole'))
