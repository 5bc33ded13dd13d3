# Linear readout "on the decoder output" (VADeR sec. 4): the pretraining encoder (ResNet-50,
# standard strides) and VADeR's FPN decoder, both loaded strictly from `pretrained_ckpt`
# (backbone.* and neck.*) and frozen, + a 1x1 convolution on the 128-d 1/4-scale embedding.
#   --cfg-options model.backbone.pretrained_ckpt=CKPT model.neck.pretrained_ckpt=CKPT
custom_imports = dict(imports=['mmdense'], allow_failed_imports=False)
pretrained_ckpt = None
norm_cfg = dict(type='BN', requires_grad=False)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0,
                           seg_pad_val=255),
    backbone=dict(type='ReadoutResNet', depth=50, out_indices=(0, 1, 2, 3), frozen_stages=4,
                  norm_eval=True, norm_cfg=norm_cfg, style='pytorch',
                  pretrained_ckpt=pretrained_ckpt),
    neck=dict(type='ReadoutFPNDecoder', in_channels=[256, 512, 1024, 2048], fpn_channels=256,
              hid_channels=128, out_channels=128, frozen=True, pretrained_ckpt=pretrained_ckpt),
    decode_head=dict(type='ConvReadoutHead', in_channels=128, kernel_size=1, num_classes=19,
                     in_index=0, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    train_cfg=dict(), test_cfg=dict(mode='whole'))
