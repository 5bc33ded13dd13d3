# "random-regions" ablation of the CPU demo (issue 17; ours, the paper has no such row): the
# region tree of every image is a random one (RandomUCM: Voronoi cells of 40 random seed pixels,
# merged in a random order of adjacent pairs) instead of its UCM tree; every other step, the
# model and the schedule are the demo config's. Needs no UCM cache.
_base_ = ['./hiergroup_resnet18-hypercolumn_1xb8-300iters_demo-world.py']
data_root = 'data/demo_world/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomUCM', num_regions=40),
    {{_base_.corresponding_views}},
    dict(type='PackUCMInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
