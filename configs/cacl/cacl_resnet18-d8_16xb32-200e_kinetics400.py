# CACL, ResNet-18 (dilated, output stride 8) on Kinetics-400 frame pairs 8 frames apart, as the
# paper (16 GPUs x 32 pairs, LARS lr 1.0, wd 1e-6, trust coefficient 0.001, cosine):
#   tools/dist_train.sh configs/cacl/cacl_resnet18-d8_16xb32-200e_kinetics400.py 16
# Readout: configs/readout/seg/linear_r18-d8-frozen_4xb4-300e_cityscapes-512x1024.py
_base_ = [
    '../_base_/models/cacl_r18-d8.py',
    '../_base_/datasets/kinetics400_frame_pairs.py',
    '../_base_/schedules/lars_coslr_200e.py',
    '../_base_/default_runtime.py',
]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
