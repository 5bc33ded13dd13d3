"""VADeR's encoder-decoder neck: FPN + semantic-FPN-style merge to one 1/4-scale embedding."""
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.models.necks import FPN
from mmengine.model import BaseModule

from mmdense.registry import MODELS
from mmdense.structures import upsample_cells


class CellUpsample(nn.Module):
    """2x (``factor``) upsampling that keeps cell j of a stride-s map on pixel s*j
    (:func:`mmdense.structures.upsample_cells`). Shapes: (N, C, h, w) -> (N, C, 2h, 2w)."""

    def __init__(self, factor=2):
        super().__init__()
        self.factor = int(factor)

    def forward(self, x):
        return upsample_cells(x, self.factor)

    def extra_repr(self):
        return f'factor={self.factor}'


class CellCentredFPN(FPN):
    """MMDet's ``FPN`` (same parameters and names, so its weights initialise a detector's FPN)
    whose top-down path upsamples with :func:`~mmdense.structures.upsample_cells` instead of
    nearest 2x, which leaves half the cells half a coarser cell behind where the finer level
    has them. Only the levels of the inputs (``num_outs == len(in_channels)``)."""

    def __init__(self, in_channels, out_channels, num_outs, **kwargs):
        if num_outs != len(in_channels):
            raise ValueError('CellCentredFPN gives one output per input level, got '
                             f'num_outs={num_outs} for {len(in_channels)} inputs')
        super().__init__(in_channels, out_channels, num_outs, **kwargs)

    def forward(self, inputs):
        laterals = [conv(inputs[i + self.start_level])
                    for i, conv in enumerate(self.lateral_convs)]
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + upsample_cells(laterals[i], 2,
                                                               size=laterals[i - 1].shape[-2:])
        return tuple(conv(lat) for conv, lat in zip(self.fpn_convs, laterals))


@MODELS.register_module()
class FPNDecoder(BaseModule):
    """FPN decoder of VADeR (Pinheiro et al. 2020, sec. 3.2, "Architecture").

    MMDet's ``FPN`` (4 scales, 1/4 .. 1/32, ``fpn_channels`` = 256) on the ResNet stages; at each
    scale a stack of upsampling blocks (3x3 conv, GroupNorm, ReLU, 2x bilinear) brings the map to
    ``hid_channels`` (128) at 1/4 scale (3 blocks for 1/32, 2 for 1/16, 1 for 1/8; the 1/4 level
    gets one block without upsampling, as the semantic-segmentation branch of Panoptic FPN); the
    four maps are summed and a final 1x1 conv gives the ``out_channels`` (128) embedding.

    Every upsampling (the FPN's top-down path and the blocks) keeps cell j of a stride-s map on
    image pixel s*j, where the ResNet stages put it and where the correspondences of
    :mod:`mmdense.structures` look (:func:`~mmdense.structures.upsample_cells`): with MMDet's
    nearest top-down path and ``align_corners=False`` blocks, a cell's content sat 1-7 px up
    and left of 4j, and a flipped view's positives were paired about 0.75 cell apart.

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
        self.fpn = CellCentredFPN(in_channels=list(in_channels), out_channels=fpn_channels,
                                  num_outs=4)
        norm = dict(type='GN', num_groups=num_groups, requires_grad=True)
        self.branches = nn.ModuleList()
        for level in range(4):
            blocks = []
            for i in range(max(1, level)):
                blocks.append(ConvModule(fpn_channels if i == 0 else hid_channels, hid_channels,
                                         3, padding=1, norm_cfg=norm))
                if level > 0:
                    blocks.append(CellUpsample(2))
            self.branches.append(nn.Sequential(*blocks))
        self.out_conv = nn.Conv2d(hid_channels, out_channels, 1)

    def forward(self, inputs):
        pyramid = self.fpn(tuple(inputs[-4:]))
        merged = self.branches[0](pyramid[0])
        for level in range(1, 4):
            up = self.branches[level](pyramid[level])
            # inputs not divisible by 32: cell i is on pixel 4i in both, so the extra cells of
            # the upsampled coarse map (past the input's last cell) are cut off
            merged = merged + up[..., :merged.shape[-2], :merged.shape[-1]]
        return (self.out_conv(merged), )
