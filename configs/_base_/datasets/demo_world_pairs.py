# Frame pairs of the demo world (tools/misc/make_demo_world.py data/demo_world) as two views.
# Each view: MoCo-v2 augmentations at 112x112; the two frames are `interval_frames` apart.
dataset_type = 'FramePairDataset'
data_root = 'data/demo_world/'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

view_pipeline = [
    dict(type='RandomResizedCrop', scale=112, crop_ratio_range=(0.3, 1.)),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='RandomFlip', prob=0.5),
]
train_pipeline = [
    dict(type='FramePairToViews', transforms=view_pipeline),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,  # explicit: MMPretrain's tools/train.py defaults it to True
    drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        sources='splits/train_clips.txt',
        interval_frames=(1, 3),
        pairs_per_source=8,
        pipeline=train_pipeline))
