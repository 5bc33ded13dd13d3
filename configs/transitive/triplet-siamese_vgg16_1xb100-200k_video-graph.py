# Transitive invariance (Wang, He, Gupta 2017): Triplet-Siamese VGG16 (+ fc 4096 + fc 1024) with
# the ranking loss (m = 0.5) on the pairs of a graph built from videos:
#   python tools/transitive/build_graph.py data/videos data/transitive \
#       --features configs/transitive/context-prediction_vgg16_1xb256-1000k_in1k.py \
#       --checkpoint checkpoints/context_prediction_vgg16.pth --workers 32
# (those two are the defaults: pool5 features, 4608-d, of the context-prediction VGG16).
# Paper: batch 100, lr 0.001, 200k iterations, convolutional layers initialised from the same
# context-prediction checkpoint (or --cfg-options model.backbone.init_cfg.checkpoint=PATH)
_base_ = ['../_base_/default_runtime.py']
init_checkpoint = 'checkpoints/context_prediction_vgg16.pth'
model = dict(
    type='TripletSiamese',
    margin=0.5,
    data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
    backbone=dict(type='VGG', depth=16, num_classes=-1,
                  init_cfg=dict(type='Pretrained', checkpoint=init_checkpoint,
                                prefix='backbone.')),
    neck=dict(type='FlattenFCNeck', in_channels=512 * 3 * 3, hid_channels=4096,
              out_channels=1024))
graph_file = 'data/transitive/graph.json'
view_pipeline = [dict(type='RandomFlip', prob=0.5)]
train_pipeline = [
    dict(type='FramePairToViews', transforms=view_pipeline),
    dict(type='PackInputs', meta_keys=('parent', 'kind', 'img_path')),
]
train_dataloader = dict(
    batch_size=100, num_workers=8, persistent_workers=True, drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='TransitivePairDataset', graph_file=graph_file, pipeline=train_pipeline))
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=200000)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=20000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(base_batch_size=100)
