# Cityscapes (19 classes) linear readout, CACL's protocol: a 1x1 convolution on the frozen
# ResNet-18 (dilated, output stride 8) features, 300 epochs, lr 0.6, wd 0, batch 16.
_base_ = [
    '../../_base_/readout/models/deeplabv1_r50-d8_frozen.py',
    'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py',
    '../../_base_/readout/schedules/linear_300e.py',
]
crop_size = (512, 1024)
model = dict(data_preprocessor=dict(size=crop_size), backbone=dict(depth=18),
             decode_head=dict(in_channels=512, kernel_size=1, num_classes=19))
train_dataloader = dict(batch_size=4,  # x 4 GPUs = 16
                        sampler=dict(type='DefaultSampler', shuffle=True))
log_processor = dict(by_epoch=True)
auto_scale_lr = dict(enable=False, base_batch_size=16)
