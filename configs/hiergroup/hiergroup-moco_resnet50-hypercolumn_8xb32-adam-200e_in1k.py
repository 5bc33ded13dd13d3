# "Ours + MoCo" (Table 1, ImageNet, 200 epochs): the hierarchical-grouping pixel loss plus an
# image-level MoCo-v2 loss on Res5 (momentum encoder, 65536-key queue, t 0.2) on ImageNet-1k;
# Res5 is reached by the MoCo loss, so all four stages are built. The paper gives no schedule for
# this run: the main setting's steps (25 / 45 / 60 of 80 epochs) scaled x2.5. UCM trees of the
# ImageNet train images first:
#   python tools/ucm/compute_ucm.py data/imagenet/train data/ucm/imagenet_train --workers 32
_base_ = ['./hiergroup_resnet50-hypercolumn_7xb10-adam-80e_voc12aug-coco.py']
model = dict(
    backbone=dict(num_stages=4, strides=(1, 2, 2, 2), dilations=(1, 1, 1, 1),
                  out_indices=(1, 2, 3), norm_cfg=dict(type='BN')),
    neck=dict(in_index=(0, 1)),
    moco=dict(neck=dict(type='MoCoV2Neck', in_channels=2048, hid_channels=2048,
                        out_channels=128, with_avg_pool=True),
              queue_len=65536, momentum=0.001, temperature=0.2, weight=1.0))
imagenet = dict(
    type='ImageNet', data_root='data/imagenet/', split='train',
    pipeline=[dict(type='LoadImageFromFile'),
              dict(type='LoadUCM', ucm_root='data/ucm/imagenet_train',
                   img_root='data/imagenet/train'),
              {{_base_.views}}, dict(type='PackUCMInputs')])
train_dataloader = dict(batch_size=32, dataset=dict(_delete_=True, type='ConcatDataset',
                                                    datasets=[imagenet]))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[63, 113, 150],
                        gamma=0.1)]
train_cfg = dict(max_epochs=200)
auto_scale_lr = dict(base_batch_size=256)
