# Unlabeled PASCAL VOC 2012 train_aug + COCO train2017 images with their UCM region trees
# (precomputed once per image folder):
#   python tools/ucm/compute_ucm.py data/VOCdevkit/VOC2012/JPEGImages data/ucm/voc2012 --workers 32
#   python tools/ucm/compute_ucm.py data/coco/train2017 data/ucm/coco_train2017 --workers 32
# Two augmented views per image (random resized crop + flip, recorded as affines so the region
# map follows them exactly; colour jitter), 224x224.
geometric = [
    dict(type='RandomResizedCropAffine', scale=224, crop_ratio_range=(0.2, 1.)),
    dict(type='RandomAffineView', scale_range=(1., 1.), rotation_range=(0., 0.), flip_prob=0.5),
]
appearance = [
    dict(type='RandomApply',
         transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4,
                          hue=0.1)],
         prob=0.8),
]
views = dict(type='CorrespondingViews', geometric=geometric, appearance=appearance,
             min_shared=32, stride=4)
voc_root = 'data/VOCdevkit/VOC2012/'
coco_root = 'data/coco/'
voc = dict(
    type='CustomDataset', data_root=voc_root, data_prefix='JPEGImages', with_label=False,
    ann_file='ImageSets/Segmentation/trainaug_images.txt',  # one "<id>.jpg" per line
    pipeline=[dict(type='LoadImageFromFile'),
              dict(type='LoadUCM', ucm_root='data/ucm/voc2012', img_root=voc_root + 'JPEGImages'),
              views, dict(type='PackUCMInputs')])
coco = dict(
    type='CustomDataset', data_root=coco_root, data_prefix='train2017', with_label=False,
    pipeline=[dict(type='LoadImageFromFile'),
              dict(type='LoadUCM', ucm_root='data/ucm/coco_train2017',
                   img_root=coco_root + 'train2017'),
              views, dict(type='PackUCMInputs')])
train_dataloader = dict(
    batch_size=10, num_workers=8, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ConcatDataset', datasets=[voc, coco]))
