# Hierarchical grouping (Zhang & Maire 2020): a from-scratch ResNet-50 (strides unchanged) and the
# hypercolumn head (Res3 + Res4 -> 3x3 Conv-BN-ReLU to 256 each, both to 1/4 scale, concatenated,
# 3x3 conv -> 32-d); 7 regions x 10 positives x 5 negatives per image, sigma_p 0.8, cns 5.
# num_stages=3: the loss reaches Res3 / Res4 only, so Res5 (layer4) is not built (a random layer4
# in the checkpoint would be read out as if pretrained). Readout: ReadoutHypercolumn.
model = dict(
    type='HierGroup',
    data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
    backbone=dict(type='ResNet', depth=50, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1),
                  out_indices=(1, 2), norm_cfg=dict(type='SyncBN'), zero_init_residual=False),
    neck=dict(type='HypercolumnNeck', in_channels=(512, 1024), mid_channels=256,
              out_channels=32, norm_cfg=dict(type='SyncBN')),
    num_regions=7, num_pos=10, num_neg=5, sigma=0.8, cns=5, temperature=1.0)
