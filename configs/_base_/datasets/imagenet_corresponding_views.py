# ImageNet-1k, two views per image that keep their geometry (VADeR sec. 3.2): MoCo's crops
# (RandomResizedCrop 224, scale 0.2-1) and flips, recorded as affines; MoCo-v2's colour jitter,
# greyscale and blur per view; views redrawn until >= 32 pixels of the 1/4-scale grid are shared.
dataset_type = 'ImageNet'
data_root = 'data/imagenet/'
view_sampling = 'different'
geometric = [
    dict(type='RandomResizedCropAffine', scale=224, crop_ratio_range=(0.2, 1.)),
    dict(type='RandomAffineView', scale_range=(1., 1.), rotation_range=(0., 0.), flip_prob=0.5),
]
appearance = [
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
    dict(type='CorrespondingViews', geometric=geometric, appearance=appearance, min_shared=32,
         stride=4, view_sampling=view_sampling),
    dict(type='PackFlowInputs'),
]
train_dataloader = dict(
    batch_size=32, num_workers=8, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
