# BDD100K raw videos (official layout: data/bdd100k/videos/train/*.mov, 70k clips, 30 fps, 720p),
# pairs 0.5 s apart drawn anew every iteration (any start frame: ~83M pairs). The flow comes from
# the model's frozen RAFT in the train step (model.flow_net): the pipeline keeps the two cropped
# frames (KeepFlowFrames) and loads no flow. Other flow sources are separate configs
# (`..._flow-cache.py`: LoadFlow from a tools/flow/compute_flow.py cache; `..._dis-workers.py`:
# DIS in the dataloader workers).
# Geometry (paper sec. 4.2, numbers lost from its text; ours): frames upsampled to a 1024 short
# side, random scale 0.5-1.0, same-location 512x512 crop; per-view random affine with scale
# 0.8-1.25 (log-uniform) and rotation +-20 deg; SimCLR colour distortion and blur per view.
dataset_type = 'FramePairDataset'
data_root = 'data/bdd100k/videos/train'
flow_root = 'data/bdd100k/flow_dis/train'  # the flow-cache variant's cache

view_pipeline = [
    dict(type='RandomAffineView', scale_range=(0.8, 1.25), rotation_range=(-20., 20.)),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='ColorJitter', brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.5),
]
train_pipeline = [
    dict(type='PairRandomResizedCrop', crop_size=(512, 512), scale_range=(0.5, 1.0),
         short_side=1024),
    dict(type='KeepFlowFrames'),  # the cropped frames, for model.flow_net
    dict(type='FramePairToViews', transforms=view_pipeline),
    dict(type='PackFlowInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        interval_seconds=0.5,
        index_file='.mmdense_index.json',
        pipeline=train_pipeline))
