# CACL on ImageNet-1k: both views from one image, cropped at the same position and flipped
# together, colour augmentations per view, so positives come from augmentation only (the
# paper's "two crops at the same position" on a single image: Table 1b "only augmentation",
# stride 0). Same-position pixel positives, as that row of the paper.
_base_ = [
    '../_base_/models/cacl_r18-d8.py',
    '../_base_/datasets/imagenet_pairs.py',
    '../_base_/schedules/lars_coslr_200e.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(depth=50), head=dict(in_channels=2048, hid_channels=2048),
             pixel_positive='same_position')
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
