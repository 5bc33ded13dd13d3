# "random-regions" ablation of the CPU demo (issue 17; ours, the paper has no such row): the
# region tree of every image is replaced by a random one (RandomUCM with match_ucm: Voronoi cells
# of random seed pixels, merged in a random order of adjacent pairs) that has as many regions as
# the image's UCM tree and the UCM's own merge heights. Only which pixels are grouped changes;
# the region count, the distribution of tree distances (how sharply eqs. 2-3 sample), every other
# step, the model and the schedule are the demo config's. Reads the same UCM cache as the demo.
_base_ = ['./hiergroup_resnet18-hypercolumn_1xb8-300iters_demo-world.py']
data_root = 'data/demo_world/'
ucm_root = 'data/demo_world_ucm'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadUCM', ucm_root=ucm_root, img_root=data_root + 'frames'),
    dict(type='RandomUCM', match_ucm=True),
    {{_base_.corresponding_views}},
    dict(type='PackUCMInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
