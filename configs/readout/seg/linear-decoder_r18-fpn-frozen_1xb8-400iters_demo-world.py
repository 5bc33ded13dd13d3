# Linear readout of a frozen VADeR demo model's decoder (ResNet-18 + FPN decoder) on the demo
# world; same data and schedule as the other demo-world segmentation readouts.
_base_ = ['./deeplabv1_r18-d8-frozen_1xb8-400iters_demo-world.py']
model = dict(
    backbone=dict(strides=(1, 2, 2, 2), dilations=(1, 1, 1, 1), out_indices=(0, 1, 2, 3)),
    neck=dict(type='ReadoutFPNDecoder', in_channels=[64, 128, 256, 512], fpn_channels=256,
              hid_channels=128, out_channels=128, frozen=True, pretrained_ckpt=None),
    decode_head=dict(in_channels=128, kernel_size=1, in_index=0))
