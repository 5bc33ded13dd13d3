# Runtime of the 300-iteration CPU demo configs: iteration-based logging every 20 iterations and
# a checkpoint every 100 (the last two kept), on top of the shared pretraining runtime.
_base_ = ['./default_runtime.py']
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=100, by_epoch=False, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
