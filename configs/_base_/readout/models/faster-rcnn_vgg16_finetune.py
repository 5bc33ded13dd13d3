# Faster R-CNN on VGG16 (conv5_3, stride 16; two 4096-d fc layers in the box head), the detector
# of the transitive-invariance readout (Wang et al. 2017, sec. 6: Fast / Faster R-CNN, all layers
# fine-tuned). The backbone loads `backbone.*` strictly from `pretrained_ckpt` (a TripletSiamese
# checkpoint); the fc layers are new (the tower's fc layers see 3x3 pool5 maps of 96x96 patches,
# the detector's 7x7 RoI features).
# Train / test settings: MMDet's Faster R-CNN C4 ones (single stride-16 map), with the VGG16
# detector's 128 RoIs per image and 300 test proposals.
_base_ = ['mmdet::_base_/models/faster-rcnn_r50-caffe-c4.py']
custom_imports = dict(imports=['mmdense'], allow_failed_imports=False)
pretrained_ckpt = None
model = dict(
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32),
    backbone=dict(_delete_=True, type='ReadoutVGG', depth=16, num_classes=-1,
                  with_last_pool=False, out_indices=(4, ), frozen_stages=-1,
                  pretrained_ckpt=pretrained_ckpt),
    rpn_head=dict(in_channels=512, feat_channels=512,
                  anchor_generator=dict(scales=[8, 16, 32])),
    roi_head=dict(
        _delete_=True,
        type='StandardRoIHead',
        bbox_roi_extractor=dict(type='SingleRoIExtractor',
                                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                                out_channels=512, featmap_strides=[16]),
        bbox_head=dict(
            type='Shared2FCBBoxHead', in_channels=512, fc_out_channels=4096, roi_feat_size=7,
            num_classes=20,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg=dict(rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(max_per_img=300)))
