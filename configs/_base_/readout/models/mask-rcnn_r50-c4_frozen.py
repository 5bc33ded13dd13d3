# Frozen Mask R-CNN readout, ResNet-C4 (FlowE sec. 4.3: "two more convolutional layers added for
# instance mask prediction", as in Mask R-CNN's C4 head): the frozen layer4 RoI head is shared by
# the box branch and the mask branch (a 2x deconvolution + a 1x1 mask predictor, no extra convs).
_base_ = './faster-rcnn_r50-c4_frozen.py'
model = dict(
    type='MaskRCNN',
    roi_head=dict(
        mask_roi_extractor=None,
        mask_head=dict(type='FCNMaskHead', num_convs=0, in_channels=2048, conv_out_channels=256,
                       num_classes=80,
                       loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=dict(rcnn=dict(mask_size=14)),
    test_cfg=dict(rcnn=dict(mask_thr_binary=0.5)))
