# Transitive invariance readout (sec. 6): Faster R-CNN VGG16 on PASCAL VOC 2007 trainval -> test,
# all layers fine-tuned from the TripletSiamese checkpoint, lr 0.00025 as the paper (SGD m 0.9,
# wd 5e-4), batch 2; 12 epochs (VOC07 trainval repeated 3x, 4 epochs, step after 3).
#   tools/readout/readout.sh THIS work_dirs/triplet-siamese/iter_200000.pth 1
_base_ = [
    '../../_base_/readout/models/faster-rcnn_vgg16_finetune.py',
    'mmdet::_base_/datasets/voc0712.py',
    '../../_base_/readout/schedules/voc_12e.py',
    '../../_base_/readout/runtime_det.py',
]
train_dataloader = dict(dataset=dict(dataset=dict(
    _delete_=True, type='VOCDataset', data_root={{_base_.data_root}},
    ann_file='VOC2007/ImageSets/Main/trainval.txt',
    data_prefix=dict(sub_data_root='VOC2007/'),
    filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=32),
    pipeline={{_base_.train_pipeline}})))
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.00025, momentum=0.9, weight_decay=5e-4))
auto_scale_lr = dict(enable=False, base_batch_size=2)
