# Hierarchical grouping's readout on the demo world (the CPU-sized version of
# deeplabv3_r50-hypercolumn-frozen_4xb5-20k_voc12aug-384x384.py): the frozen base features the
# pixel loss trained, i.e. the demo's ResNet-18 up to Res4 + its hypercolumn head (Res3 / Res4 ->
# 3x3 Conv-BN-ReLU 256 each at 1/4 scale, concatenated: 512 channels; ReadoutHypercolumn reads
# backbone.* and neck.* strictly), + a DeepLabV3 ASPP head (128 channels and dilations 1 / 6 / 12
# / 18 for the 32x48 demo maps). Same data and schedule as the other demo-world readouts.
#   DEMO_CONFIG=configs/hiergroup/hiergroup_resnet18-hypercolumn_1xb8-300iters_demo-world.py \
#   DEMO_READOUT=configs/readout/seg/deeplabv3_r18-hypercolumn-frozen_1xb8-400iters_demo-world.py \
#   DEMO_DET_READOUT=none bash tools/demo.sh
_base_ = ['./deeplabv1_r18-d8-frozen_1xb8-400iters_demo-world.py']
model = dict(
    backbone=dict(
        _delete_=True, type='ReadoutHypercolumn',
        backbone=dict(depth=18, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1),
                      out_indices=(1, 2), norm_cfg={{_base_.norm_cfg}}),
        neck=dict(in_channels=(128, 256), mid_channels=256, out_channels=32,
                  norm_cfg={{_base_.norm_cfg}}),
        outputs=('hypercolumn', ), frozen=True, pretrained_ckpt=None),
    decode_head=dict(
        _delete_=True, type='ASPPHead', in_channels=512, in_index=0, channels=128,
        dilations=(1, 6, 12, 18), dropout_ratio=0.1, num_classes=5,
        norm_cfg=dict(type='BN', requires_grad=True), align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
