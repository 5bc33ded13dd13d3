# CACL, ResNet-50 (dilated, output stride 8) on Kinetics-400, initialised from a MoCo-v2 ImageNet
# checkpoint (Table 1 "R50 backbones adopt initial parameter weights from MoCo-v2"), e.g.
# MMPretrain's mocov2_resnet50_8xb32-coslr-200e_in1k; set its path with
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = './cacl_resnet18-d8_16xb32-200e_kinetics400.py'
mocov2_checkpoint = 'checkpoints/mocov2_resnet50_8xb32-coslr-200e_in1k.pth'
model = dict(
    backbone=dict(depth=50, init_cfg=dict(type='Pretrained', checkpoint=mocov2_checkpoint,
                                          prefix='backbone.')),
    head=dict(in_channels=2048, hid_channels=2048))
