# Frozen Faster R-CNN readout with the ResNet-C4 design (FlowE sec. 4.3, after Mask R-CNN [20]):
# the pretraining encoder's stem + layer1-3 are the backbone (stride 16) and its layer4 is the
# shared RoI head; both load `backbone.*` strictly from the same mmdense checkpoint and are frozen
# (no gradients, BN in eval mode). Only the small RPN and the two linear box layers are trained.
# Dilation does not change parameter shapes, so a dilated (output-stride-8) pretraining encoder
# loads here with the standard strides. Set the checkpoint with tools/readout/readout.sh or
#   --cfg-options model.backbone.pretrained_ckpt=CKPT \
#                 model.roi_head.shared_head.pretrained_ckpt=CKPT
# The RPN, box head and train / test settings are MMDet's own C4 model; only the encoder parts
# (mmdense readout modules, torchvision-style 'pytorch' ResNet, our pixel normalisation) change.
_base_ = ['mmdet::_base_/models/faster-rcnn_r50-caffe-c4.py']
custom_imports = dict(imports=['mmdense'], allow_failed_imports=False)
pretrained_ckpt = None
norm_cfg = dict(type='BN', requires_grad=False)
model = dict(
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32),
    backbone=dict(_delete_=True, type='ReadoutResNet', depth=50, num_stages=3, strides=(1, 2, 2),
                  dilations=(1, 1, 1), out_indices=(2, ), frozen_stages=3, norm_cfg=norm_cfg,
                  norm_eval=True, style='pytorch', pretrained_ckpt=pretrained_ckpt),
    roi_head=dict(
        shared_head=dict(_delete_=True, type='ReadoutResLayer', depth=50, stage=3, stride=2,
                         dilation=1, style='pytorch', norm_cfg=norm_cfg, norm_eval=True,
                         frozen=True, pretrained_ckpt=pretrained_ckpt)))
