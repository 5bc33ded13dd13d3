# CACL (Pang et al. 2022): ResNet-18 with the last two stages dilated (output stride 8), three
# 1x1-conv MLP heads (hidden = 512 input channels, ReLU, 128 out) for the global, pixel and
# cycle-attention losses, MoCo-v2 hyper-parameters (dim 128, tau 0.07, momentum 0.999), one
# 16384-long negative queue per head, shuffled BN (per-process BN, as MoCo), pixel shuffle and
# the soft cycle on.
model = dict(
    type='CACL',
    data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
    backbone=dict(type='ResNet', depth=18, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
                  norm_cfg=dict(type='BN'), zero_init_residual=False),
    head=dict(type='DenseNonLinearNeck', in_channels=512, hid_channels=512, out_channels=128,
              norm_cfg=None),
    heads=('global_', 'pixel', 'cycle'),
    loss_weights=dict(global_=1.0, pixel=1.0, cycle=1.0),
    queue_len=16384,
    feat_dim=128,
    temperature=0.07,
    momentum=0.001,  # MoCo's 0.999 (mmengine's EMA weight of the online parameters)
    pixel_positive='global',
    soft_cycle=True,
    cycle_negatives=True,
    pixel_shuffle=True,
    shuffle_stride=8,
    queue_pixels_per_image=8,
    shuffle_bn_splits=2,  # one process: 2 BN sub-batches; DDP: shuffled across processes
    max_affinity_elems=2**26)
