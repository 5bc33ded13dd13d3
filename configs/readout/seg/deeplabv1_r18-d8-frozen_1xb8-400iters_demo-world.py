# Frozen-backbone readout of an mmdense checkpoint on the demo world: the pretraining encoder
# (dilated ResNet-18, output stride 8) frozen (no gradients, BN in eval mode) + FlowE's standard
# header, one 3x3 convolution to per-pixel logits (DeepLab-v1 style).
#   python tools/train.py THIS --cfg-options model.backbone.pretrained_ckpt=work_dirs/x/iter_300.pth
# or tools/readout/readout.sh THIS CKPT 1. Without a checkpoint: the random-init baseline.
_base_ = ['../../_base_/readout/demo_world_seg.py', '../../_base_/readout/runtime_seg.py']
pretrained_ckpt = None
norm_cfg = dict(type='BN', requires_grad=False)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0,
                           seg_pad_val=255, size=(128, 192)),
    backbone=dict(type='ReadoutResNet', depth=18, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
                  out_indices=(3, ), frozen_stages=4, norm_eval=True, norm_cfg=norm_cfg,
                  style='pytorch', pretrained_ckpt=pretrained_ckpt),
    decode_head=dict(type='ConvReadoutHead', in_channels=512, kernel_size=3, num_classes=5,
                     in_index=0, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    train_cfg=dict(), test_cfg=dict(mode='whole'))
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=400,
                        by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=400, val_interval=400)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
