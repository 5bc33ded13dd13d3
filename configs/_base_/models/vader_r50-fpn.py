# VADeR (Pinheiro et al. 2020): ResNet-50 encoder (all four stages to the decoder) + FPN decoder
# (FPN 256 ch, 1/4..1/32, upsampling blocks to 128 ch at 1/4, summed, 1x1 conv -> 128-d), pixel
# NCE with a 65,536-pixel queue, tau 0.07, momentum 0.999, 32 matched pixels per pair, x10.
model = dict(
    type='VADeR',
    data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
    backbone=dict(type='ResNet', depth=50, out_indices=(0, 1, 2, 3), norm_cfg=dict(type='BN'),
                  zero_init_residual=False),
    neck=dict(type='FPNDecoder', in_channels=[256, 512, 1024, 2048], fpn_channels=256,
              hid_channels=128, out_channels=128, num_groups=32),
    queue_len=65536,
    feat_dim=128,
    temperature=0.07,
    momentum=0.001,
    num_matches=32,
    loss_weight=10.0,
    matching='correspondence',
    shuffle_bn_splits=2)
