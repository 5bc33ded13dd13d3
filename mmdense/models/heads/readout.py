"""Readout heads for frozen-backbone evaluation in MMSeg."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS as MMSEG_MODELS

from mmdense.registry import MODELS


class ConvReadoutHead(BaseDecodeHead):
    """One convolution from the encoder output straight to per-pixel class logits.

    * ``kernel_size=3`` (optionally dilated): FlowE's "standard header", DeepLab-v1 style: besides
      the dilated encoder only one convolutional layer is added (FlowE sec. 4.3).
    * ``kernel_size=1``: the linear 1x1 readout of CACL / VADeR.

    No normalisation, activation or hidden layer: the readout adds as few parameters as possible.
    Logits are upsampled bilinearly to the label size by MMSeg as usual.

    Args:
        in_channels (int): encoder channels (2048 for ResNet-50).
        num_classes (int): classes.
        kernel_size (int): 1 (linear) or 3 (DeepLab-v1 style).
        dilation (int): dilation of the convolution.
        **kwargs: ``BaseDecodeHead`` arguments (``dropout_ratio``, ``loss_decode``, ...).

    Shapes:
        input: tuple of (N, C_in, h, w) feature maps (``in_index`` picks one);
        output: (N, num_classes, h, w) logits.
    """

    def __init__(self, in_channels, num_classes, kernel_size=3, dilation=1, **kwargs):
        kwargs.setdefault('dropout_ratio', 0.0)
        super().__init__(in_channels=in_channels, channels=in_channels,
                         num_classes=num_classes, **kwargs)
        self.conv_seg = nn.Conv2d(in_channels, self.out_channels, kernel_size,
                                  padding=(kernel_size // 2) * dilation, dilation=dilation)

    def forward(self, inputs):
        return self.cls_seg(self._transform_inputs(inputs))


class DepthReadoutHead(ConvReadoutHead):
    """Linear depth regression readout (VADeR sec. 4, NYU-depth v2): one convolution (1x1 by
    default) to a single depth channel, trained with the L1 loss on pixels with ground truth
    (depth > 0). For MMSeg's ``DepthEstimator`` and ``DepthMetric``.

    Args:
        in_channels (int): feature channels (128 for VADeR's decoder).
        kernel_size (int): 1 (linear).
        loss_weight (float): L1 weight.

    Shapes: input tuple of (N, C, h, w); output (N, 1, h, w) depth (metres).
    """

    def __init__(self, in_channels, kernel_size=1, loss_weight=1.0, **kwargs):
        kwargs.setdefault('threshold', 0.5)  # unused; MMSeg wants one for 1-channel heads
        kwargs.setdefault('loss_decode', dict(type='CrossEntropyLoss'))  # replaced by L1 below
        super().__init__(in_channels, num_classes=1, kernel_size=kernel_size, out_channels=1,
                         **kwargs)
        self.loss_weight = loss_weight

    def loss_by_feat(self, seg_logits, batch_data_samples):
        gt = torch.stack([ds.gt_depth_map.data for ds in batch_data_samples])
        pred = F.interpolate(seg_logits, size=gt.shape[-2:], mode='bilinear',
                             align_corners=self.align_corners)
        valid = gt > 0
        if not valid.any():
            return dict(loss_depth=pred.sum() * 0)
        return dict(loss_depth=self.loss_weight * (pred - gt).abs()[valid].mean())


for _reg in (MODELS, MMSEG_MODELS):
    _reg.register_module(module=ConvReadoutHead)
    _reg.register_module(module=DepthReadoutHead)
