# "random-regions" ablation of the CPU demo (issue 17; ours, the paper has no such row): the
# region tree of every image is a random one (RandomUCM: Voronoi cells of 40 random seed pixels,
# merged in a random order of adjacent pairs) instead of its UCM tree; every other step, the
# model and the schedule are the demo config's. Needs no UCM cache.
_base_ = ['./hiergroup_resnet18-hypercolumn_1xb8-300iters_demo-world.py']
data_root = 'data/demo_world/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomUCM', num_regions=40),
    dict(type='CorrespondingViews',
         geometric=[
             dict(type='RandomResizedCropAffine', scale=96, crop_ratio_range=(0.3, 1.)),
             dict(type='RandomAffineView', scale_range=(1., 1.), rotation_range=(0., 0.),
                  flip_prob=0.5)],
         appearance=[
             dict(type='RandomApply',
                  transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4,
                                   saturation=0.4, hue=0.1)],
                  prob=0.8)],
         min_shared=32, stride=4),
    dict(type='PackUCMInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
