# FlowE on BDD100K raw videos, the paper's setting (sec. 4.2): 64 GPUs x 2 frame pairs, LARS lr
# 0.1, wd 1e-6, cosine, 60k iterations, BYOL momentum. `tools/dist_train.sh THIS 64`.
_base_ = [
    '../_base_/models/flowe_r50-d8.py',
    '../_base_/datasets/bdd100k_flow_pairs.py',
    '../_base_/schedules/lars_coslr_60k.py',
    '../_base_/default_runtime.py',
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=5000, by_epoch=False, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
