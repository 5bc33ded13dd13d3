# PASCAL VOC 2012 + aug linear readout of VADeR's frozen decoder output (1x1 conv on the 128-d
# embedding),
# trained as the linear protocol (300 epochs, lr 0.6, wd 0, batch 16). For the encoder-only
# readout use linear_r50-d8-frozen_4xb4-300e_voc12aug-512x512.py with the same checkpoint.
_base_ = [
    '../../_base_/readout/models/linear-decoder_r50-fpn_frozen.py',
    'mmseg::_base_/datasets/pascal_voc12_aug.py',
    'mmseg::_base_/default_runtime.py',
    '../../_base_/readout/schedules/linear_300e.py',
]
crop_size = (512, 512)
model = dict(data_preprocessor=dict(size=crop_size), decode_head=dict(num_classes=21))
train_dataloader = dict(batch_size=4,  # x 4 GPUs = 16
                        sampler=dict(type='DefaultSampler', shuffle=True))
log_processor = dict(by_epoch=True)
auto_scale_lr = dict(enable=False, base_batch_size=16)
