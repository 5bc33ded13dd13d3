"""VADeR's encoder-decoder neck: FPN + semantic-FPN-style merge to one 1/4-scale embedding."""
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.models.necks import FPN
from mmengine.model import BaseModule

from mmdense.registry import MODELS


@MODELS.register_module()
class FPNDecoder(BaseModule):
    """FPN decoder of VADeR (Pinheiro et al. 2020, sec. 3.2, "Architecture").

    MMDet's ``FPN`` (4 scales, 1/4 .. 1/32, ``fpn_channels`` = 256) on the ResNet stages; at each
    scale a stack of upsampling blocks (3x3 conv, GroupNorm, ReLU, 2x bilinear) brings the map to
    ``hid_channels`` (128) at 1/4 scale (3 blocks for 1/32, 2 for 1/16, 1 for 1/8; the 1/4 level
    gets one block without upsampling, as the semantic-segmentation branch of Panoptic FPN); the
    four maps are summed and a final 1x1 conv gives the ``out_channels`` (128) embedding.

    The FPN part is MMDet's own module under ``fpn.``, so its weights initialise a detector's
    FPN neck (``neck.fpn.*`` -> ``neck.*``) when shapes match.

    Args:
        in_channels (list[int]): channels of the 4 backbone stages ((256, 512, 1024, 2048)).
        fpn_channels (int): FPN width. hid_channels (int): merge width. out_channels (int):
            embedding size. num_groups (int): GroupNorm groups.

    Shapes: inputs 4 maps (N, C_i, H/2^(i+2), W/2^(i+2)); output tuple with one
    (N, out_channels, H/4, W/4).
    """

    def __init__(self, in_channels=(256, 512, 1024, 2048), fpn_channels=256, hid_channels=128,
                 out_channels=128, num_groups=32, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != 4:
            raise ValueError(f'FPNDecoder takes 4 backbone stages, got {len(in_channels)}')
        self.fpn = FPN(in_channels=list(in_channels), out_channels=fpn_channels, num_outs=4)
        norm = dict(type='GN', num_groups=num_groups, requires_grad=True)
        self.branches = nn.ModuleList()
        for level in range(4):
            blocks = []
            for i in range(max(1, level)):
                blocks.append(ConvModule(fpn_channels if i == 0 else hid_channels, hid_channels,
                                         3, padding=1, norm_cfg=norm))
                if level > 0:
                    blocks.append(nn.Upsample(scale_factor=2, mode='bilinear',
                                              align_corners=False))
            self.branches.append(nn.Sequential(*blocks))
        self.out_conv = nn.Conv2d(hid_channels, out_channels, 1)

    def forward(self, inputs):
        pyramid = self.fpn(tuple(inputs[-4:]))
        merged = self.branches[0](pyramid[0])
        for level in range(1, 4):
            up = self.branches[level](pyramid[level])
            if up.shape[-2:] != merged.shape[-2:]:  # inputs not divisible by 32
                up = F.interpolate(up, size=merged.shape[-2:], mode='bilinear',
                                   align_corners=False)
            merged = merged + up
        return (self.out_conv(merged), )
