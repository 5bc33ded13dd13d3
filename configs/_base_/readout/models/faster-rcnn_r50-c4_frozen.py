# Frozen Faster R-CNN readout with the ResNet-C4 design (FlowE sec. 4.3, after Mask R-CNN [20]):
# the pretraining encoder's stem + layer1-3 are the backbone (stride 16) and its layer4 is the
# shared RoI head; both load `backbone.*` strictly from the same mmdense checkpoint and are frozen
# (no gradients, BN in eval mode). Only the small RPN and the two linear box layers are trained.
# Dilation does not change parameter shapes, so a dilated (output-stride-8) pretraining encoder
# loads here with the standard strides. Set the checkpoint with tools/benchmarks/readout.sh or
#   --cfg-options model.backbone.pretrained_ckpt=CKPT \
#                 model.roi_head.shared_head.pretrained_ckpt=CKPT
custom_imports = dict(imports=['mmdense'], allow_failed_imports=False)
pretrained_ckpt = None
norm_cfg = dict(type='BN', requires_grad=False)
model = dict(
    type='FasterRCNN',
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32),
    backbone=dict(type='ReadoutResNet', depth=50, num_stages=3, strides=(1, 2, 2),
                  dilations=(1, 1, 1), out_indices=(2, ), frozen_stages=3, norm_cfg=norm_cfg,
                  norm_eval=True, style='pytorch', pretrained_ckpt=pretrained_ckpt),
    rpn_head=dict(
        type='RPNHead', in_channels=1024, feat_channels=1024,
        anchor_generator=dict(type='AnchorGenerator', scales=[2, 4, 8, 16, 32],
                              ratios=[0.5, 1.0, 2.0], strides=[16]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                        target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        shared_head=dict(type='ReadoutResLayer', depth=50, stage=3, stride=2, dilation=1,
                         style='pytorch', norm_cfg=norm_cfg, norm_eval=True, frozen=True,
                         pretrained_ckpt=pretrained_ckpt),
        bbox_roi_extractor=dict(type='SingleRoIExtractor',
                                roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
                                out_channels=1024, featmap_strides=[16]),
        bbox_head=dict(
            type='BBoxHead', with_avg_pool=True, roi_feat_size=7, in_channels=2048,
            num_classes=80,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                          min_pos_iou=0.3, match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1,
                         add_gt_as_proposals=False),
            allowed_border=-1, pos_weight=-1, debug=False),
        rpn_proposal=dict(nms_pre=12000, max_per_img=2000, nms=dict(type='nms', iou_threshold=0.7),
                          min_bbox_size=0),
        rcnn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                          min_pos_iou=0.5, match_low_quality=False, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1,
                         add_gt_as_proposals=True),
            pos_weight=-1, debug=False)),
    test_cfg=dict(
        rpn=dict(nms_pre=6000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7),
                 min_bbox_size=0),
        rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)))
