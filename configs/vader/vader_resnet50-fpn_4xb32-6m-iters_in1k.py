# VADeR on ImageNet-1k as the paper (sec. 3.2): 4 GPUs x 32 (batch 128), SGD momentum 0.9,
# wd 1e-4, lr 3e-3 for the decoder and 3e-7 for the encoder (lr_mult 1e-4), "about 6M
# iterations", encoder initialised from MoCo (v2) and decoder random:
#   tools/dist_train.sh configs/vader/vader_resnet50-fpn_4xb32-6m-iters_in1k.py 4 \
#       --cfg-options model.backbone.init_cfg.checkpoint=PATH/TO/mocov2_r50.pth
# The paper gives no lr schedule: constant.
_base_ = [
    '../_base_/models/vader_r50-fpn.py',
    '../_base_/datasets/imagenet_corresponding_views.py',
    '../_base_/default_runtime.py',
]
mocov2_checkpoint = 'checkpoints/mocov2_resnet50_8xb32-coslr-200e_in1k.pth'
model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=mocov2_checkpoint,
                                         prefix='backbone.')))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=3e-3, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=1e-4)}))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=6_000_000)
train_dataloader = dict(sampler=dict(type='InfiniteSampler', shuffle=True))
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=50000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(base_batch_size=128)
