# FlowE (Xiong et al. 2021): ResNet-50 with the last two stages dilated (output stride 8; the
# same parameter names as MMSeg / MMDet ResNets, so checkpoints load there unchanged), BYOL's
# projector / predictor as 1x1 convolutions (2048 -> 4096 -> 256, 256 -> 4096 -> 256).
model = dict(
    type='FlowE',
    base_momentum=0.004,  # BYOL: tau 0.996 -> 1 with a cosine schedule
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet', depth=50, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
        norm_cfg=dict(type='SyncBN'), zero_init_residual=False),
    neck=dict(type='DenseNonLinearNeck', in_channels=2048, hid_channels=4096, out_channels=256,
              norm_cfg=dict(type='SyncBN')),
    predictor=dict(type='DenseNonLinearNeck', in_channels=256, hid_channels=4096,
                   out_channels=256, norm_cfg=dict(type='SyncBN')),
    loss=dict(type='MaskedCosineLoss'),
    correspondence='flow',
    pixel=True,
    symmetric=True,
    resolution='feature',
    occlusion='fb_check',
    # the online projector / predictor run on 512 valid locations per image drawn uniformly
    # (1/8 of the 64x64 grid of a 512x512 crop); the loss is an unbiased estimate of eq. 5's
    # mean over all valid locations at ~1x BYOL's step cost instead of 1.34x (configs/flowe/
    # README.md, "Cost"). num_pixels=None: every location.
    num_pixels=512)
