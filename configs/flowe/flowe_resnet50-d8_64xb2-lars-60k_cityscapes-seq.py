# FlowE on Cityscapes leftImg8bit_sequence (frames 9 apart = 0.5 s at 17 Hz).
_base_ = [
    '../_base_/models/flowe_r50-d8.py',
    '../_base_/datasets/cityscapes_sequence_flow_pairs.py',
    '../_base_/schedules/lars_coslr_60k.py',
    '../_base_/default_runtime.py',
]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=5000, by_epoch=False, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
