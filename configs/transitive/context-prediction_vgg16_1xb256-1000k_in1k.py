# Context prediction (Doersch, Gupta, Efros, ICCV 2015) with VGG16 on ImageNet without labels:
# the network whose pool5 features (4608-d on 96x96 patches) cluster the transitive-invariance
# graph (Wang et al. 2017, sec. 4.2) and whose convolutional layers initialise the
# Triplet-Siamese tower (sec. 6). 8-way relative position of two 96x96 patches, gap 48, jitter
# 7, images resized to 150K-450K pixels, pixelation + colour dropping per patch (Doersch et
# al.'s settings; the transitive paper states only the 96x96 patches). Then:
#   mkdir -p checkpoints && cp work_dirs/THIS/iter_1000000.pth \
#       checkpoints/context_prediction_vgg16.pth
#   python tools/transitive/build_graph.py data/videos data/transitive --workers 32
# Schedule (not stated by the transitive paper): 1M iterations (the length of Doersch et al.'s
# public training), 256 pairs per iteration, SGD lr 0.01 constant after a 2k warm-up.
_base_ = ['../_base_/default_runtime.py']
model = dict(
    type='ContextPrediction',
    data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
    backbone=dict(type='VGG', depth=16, num_classes=-1),  # last output: pool5
    in_channels=512 * 3 * 3,
    patch_channels=4096,
    pair_channels=(4096, 4096),
    num_positions=8)
context_pair = dict(type='ContextPatchPair', patch_size=96, gap=48, jitter=7,
                    target_pixels=(150000, 450000), downsample_prob=1 / 3,
                    min_downsample_pixels=100, color_drop=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    context_pair,
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=256, num_workers=16, persistent_workers=True, drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ImageNet', data_root='data/imagenet/', split='train',
                 pipeline=train_pipeline))
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=2000),
    dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=2000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000000)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=50000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(base_batch_size=256)
