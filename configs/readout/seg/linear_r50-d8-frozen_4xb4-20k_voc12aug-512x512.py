# PASCAL VOC 2012 + aug (21 classes), linear 1x1 readout of the frozen encoder (CACL / VADeR
# protocol): only a 1x1 convolution is trained.
_base_ = [
    '../../_base_/readout/models/deeplabv1_r50-d8_frozen.py',
    'mmseg::_base_/datasets/pascal_voc12_aug.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]
crop_size = (512, 512)
model = dict(data_preprocessor=dict(size=crop_size),
             decode_head=dict(kernel_size=1, num_classes=21))
train_dataloader = dict(batch_size=4)  # x 4 GPUs = 16
