# MoCo v2 (MMPretrain's registered implementation) on demo-world frame pairs: the two views are
# two frames of the same clip, so the positives are temporal. The CPU demo baseline.
_base_ = [
    '../_base_/datasets/demo_world_pairs.py',
    '../_base_/schedules/sgd_cosine_300iters_demo.py',
    '../_base_/demo_runtime.py',
]

model = dict(
    type='MoCo',
    queue_len=256,  # divisible by the total batch size (8 per process, 1 or 2 processes)
    feat_dim=128,
    momentum=0.01,
    # output stride 8 (last two stages dilated), as the dense methods use
    backbone=dict(type='ResNet', depth=18, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
                  norm_cfg=dict(type='BN'), zero_init_residual=False),
    neck=dict(type='MoCoV2Neck', in_channels=512, hid_channels=512, out_channels=128,
              with_avg_pool=True),
    head=dict(type='ContrastiveHead', loss=dict(type='CrossEntropyLoss'), temperature=0.2))
