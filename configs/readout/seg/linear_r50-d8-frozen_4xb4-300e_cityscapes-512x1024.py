# Cityscapes (19 classes) linear readout, CACL's protocol: a 1x1 convolution on the frozen
# ResNet-50 (dilated, output stride 8) features, 300 epochs, lr 0.6, wd 0, batch 16.
_base_ = './linear_r18-d8-frozen_4xb4-300e_cityscapes-512x1024.py'
model = dict(backbone=dict(depth=50), decode_head=dict(in_channels=2048))
