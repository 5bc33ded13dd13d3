# Kinetics-400 frame pairs for CACL: the official layout (one folder per class holding the
# videos), decoded with OpenCV, seeking only the two frames; "for each video we randomly choose
# one pair of frames with stride 8"; both frames cropped at the same position (RandomResizedCrop
# box shared) and flipped together (MoCo-v2's flip, shared: "two crops at the same position"),
# then MoCo-v2's colour augmentations per view (photometric only, so every position of view 1
# shows the same place of the frame as that position of view 2).
#   data/kinetics400/train/<class name>/<youtube id>_<start>_<end>.mp4
# `index_file` caches the video headers (frame counts, fps) after the first scan of 240k videos.
dataset_type = 'FramePairDataset'
data_root = 'data/kinetics400/train/'
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
    dict(type='PairRandomResizedBoxCrop', scale=224, crop_ratio_range=(0.2, 1.)),
    dict(type='PairRandomFlip', prob=0.5),
    dict(type='FramePairToViews', transforms=view_pipeline),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32, num_workers=8, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, interval_frames=8,
                 index_file='../kinetics400_train_index.json', pipeline=train_pipeline))
