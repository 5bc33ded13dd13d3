# CPU demo: CACL on demo-world frame pairs 4 apart, ResNet-18 dilated, 112x112 crops at the
# same position in both frames (one box, one flip), colour augmentations per view, 300
# iterations of SGD; the queues are shortened to 512. The paper pairs Kinetics
# frames 8 apart (about 0.3 s), its Table 1(b) pair-difficulty factor (stride 2 / 4 / 8: 28.4 /
# 29.7 / 33.1 mIoU); demo frames 4 apart move as far in feature cells as FlowE's (9 px median
# against 2.3 px for consecutive frames, a third of a stride-8 cell). Read out with
#   tools/readout/readout.sh \
#       configs/readout/seg/linear_r18-d8-frozen_1xb8-400iters_demo-world.py CKPT 1
_base_ = [
    '../_base_/models/cacl_r18-d8.py',
    '../_base_/datasets/demo_world_pairs.py',
    '../_base_/schedules/sgd_cosine_300iters_demo.py',
    '../_base_/demo_runtime.py',
]
model = dict(queue_len=512)
view_pipeline = [
    dict(type='RandomApply',
         transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4,
                          hue=0.1)],
         prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
]
train_pipeline = [
    dict(type='PairRandomResizedBoxCrop', scale=112, crop_ratio_range=(0.3, 1.)),
    dict(type='PairRandomFlip', prob=0.5),
    dict(type='FramePairToViews', transforms=view_pipeline),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(interval_frames=4, pipeline=train_pipeline))
