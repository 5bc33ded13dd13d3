# Cityscapes (19 classes) readout: 40k iterations, batch 8, lr 0.01, poly (FlowE Table 4).
_base_ = [
    '../../_base_/readout/models/deeplabv1_r50-d8_frozen.py',
    'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]
crop_size = (512, 1024)
model = dict(data_preprocessor=dict(size=crop_size), decode_head=dict(num_classes=19))
train_dataloader = dict(batch_size=2)  # x 4 GPUs = 8
auto_scale_lr = dict(enable=False, base_batch_size=8)
