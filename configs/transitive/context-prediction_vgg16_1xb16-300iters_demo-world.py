# CPU demo of context prediction on the demo world's frames (no labels used):
#   python tools/misc/make_demo_world.py data/demo_world
#   python tools/train.py configs/transitive/context-prediction_vgg16_1xb16-300iters_demo-world.py
# The paper's patch / gap / jitter (96 / 48 / 7); the small frames (128x192) are only enlarged
# until a pair fits (no 150K-450K pixel resize). Its checkpoint can feed
#   python tools/transitive/build_graph.py data/sample_videos data/transitive_demo \
#       --features THIS --checkpoint work_dirs/THIS/iter_300.pth ...
_base_ = ['./context-prediction_vgg16_1xb256-1000k_in1k.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ContextPatchPair', patch_size=96, gap=48, jitter=7, target_pixels=None,
         downsample_prob=1 / 3, min_downsample_pixels=100, color_drop=True),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='CustomDataset', data_root='data/demo_world/',
                 data_prefix='frames', with_label=False, pipeline=train_pipeline))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0)]
train_cfg = dict(max_iters=300)
default_hooks = dict(logger=dict(type='LoggerHook', interval=20),
                     checkpoint=dict(interval=100, max_keep_ckpts=2))
auto_scale_lr = dict(base_batch_size=16)
