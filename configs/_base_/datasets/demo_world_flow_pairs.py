# Demo-world frame pairs with their exact flow (tools/misc/make_demo_world.py), FlowE's data
# layer at demo size: same-location pair crop, per-view random affine (recorded), SimCLR colour
# distortion and blur per view. The frames are 4 apart, the paper's 0.4-0.5 s in spirit: the
# smallest interval at which the median pixel moves by a whole cell of the stride-8 feature map
# (9 px; consecutive frames move it 2.3 px, so there the flow barely differs from no motion and
# FlowE's objective from its no-flow ablation). See configs/flowe/README.md.
dataset_type = 'FramePairDataset'
data_root = 'data/demo_world/'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

view_pipeline = [
    dict(type='RandomAffineView', scale_range=(0.8, 1.25), rotation_range=(-20., 20.)),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.5),
]
train_pipeline = [
    # exact flow stored in the demo world (flow_root=None: under the dataset's data_root)
    dict(type='LoadFlow', template='flow_{direction}/{source_name}/{t1:05d}_{t2:05d}.flo'),
    dict(type='PairRandomResizedCrop', crop_size=(96, 128), scale_range=(0.9, 1.2)),
    dict(type='FramePairToViews', transforms=view_pipeline),
    dict(type='PackFlowInputs'),
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
        interval_frames=4,
        pairs_per_source=8,
        pipeline=train_pipeline))
