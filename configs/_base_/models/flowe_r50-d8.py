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
    # Algorithm 1 / eq. 5: the prediction of view 1 against the warped target of view 2 only
    # (symmetric=True adds BYOL's second direction; README "Where we differ from the paper")
    symmetric=False,
    resolution='feature',
    occlusion='fb_check',
    # eq. 5: the loss at every valid location (the 512-location sample, ~1x BYOL's step cost
    # instead of 1.34x, is the separate `..._sample512` config; README "Cost")
    num_pixels=None,
    # the paper's frozen, off-the-shelf RAFT inside the train step (sec. 3.3, Algorithm 1):
    # forward and backward flow of the two cropped frames, no cache. Weights only from this local
    # file (nothing is downloaded): torchvision's raft_large_C_T_SKHT_V1-0b8c9e55.pth (= the RAFT
    # repo's raft-sintel.pth, Chairs + Things + Sintel mix), or raft-sintel.pth converted with
    # tools/model_converters/raft_to_torchvision.py (configs/flowe/README.md).
    flow_net=dict(
        type='RAFTFlow',
        arch='raft_large',
        checkpoint='checkpoints/raft/raft_large_C_T_SKHT_V1-0b8c9e55.pth',
        num_flow_updates=12,
        autocast_dtype=None))
