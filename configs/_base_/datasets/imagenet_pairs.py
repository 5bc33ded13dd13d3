# ImageNet-1k as "pairs" for the image-only setting (CACL trains on ImageNet too; Table 1b
# "only augmentation", stride 0): both views come from one image (DuplicateAsPair) cropped at the
# same position (one RandomResizedCrop box) and flipped together, as CACL's "two crops at the
# same position", then MoCo-v2's colour augmentations per view (photometric only). So the same
# position of the two views shows the same image point, which the pixel head's same-position
# positives and the soft-cycle target assume. MMPretrain's ImageNet layout (data/imagenet/train/).
dataset_type = 'ImageNet'
data_root = 'data/imagenet/'
data_preprocessor = dict(type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53],
                         std=[58.395, 57.12, 57.375], to_rgb=True)
view_pipeline = [
    dict(type='RandomApply',
         transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4,
                          hue=0.1)],
         prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.5),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='DuplicateAsPair'),
    dict(type='PairRandomResizedBoxCrop', scale=224, crop_ratio_range=(0.2, 1.)),
    dict(type='PairRandomFlip', prob=0.5),
    dict(type='FramePairToViews', transforms=view_pipeline),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32, num_workers=8, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
