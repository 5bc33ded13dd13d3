"""Hypercolumn head of hierarchical grouping (Zhang & Maire 2020, sec. 4.2)."""
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from mmdense.registry import MODELS
from mmdense.structures import upsample_cells


@MODELS.register_module()
class HypercolumnNeck(BaseModule):
    """"A single 3x3 Conv-BN-ReLU block projects the last outputs of the Res3 and Res4 blocks
    into 256-channel maps, both interpolated to 1/4 of the input and concatenated; a single 3x3
    convolution produces the 32-channel embedding."

    Args:
        in_channels (tuple[int]): channels of the two backbone outputs (512, 1024 for ResNet-50
            ``out_indices=(1, 2)``). mid_channels (int): 256. out_channels (int): 32.
        out_stride (int): output stride relative to the input (4); the input size is inferred
            from the first map's stride ``first_stride`` (8 for Res3).
        in_index (tuple[int]): which backbone outputs are Res3 and Res4 ((0, 1) for
            ``out_indices=(1, 2)`` or ``(1, 2, 3)``).

    Shapes: inputs (N, 512, H/8, W/8), (N, 1024, H/16, W/16) -> tuple with (N, 32, H/4, W/4).

    The upsampling keeps cell j of a stride-s map on image pixel s*j
    (:func:`~mmdense.structures.upsample_cells`), so both parts of cell i sit on pixel 4i, as
    the ResNet stages and the correspondences of :mod:`mmdense.structures` place them (bilinear
    with ``align_corners=False`` put the Res3 part at 4i - 2 and the Res4 part at 4i - 6).
    """

    def __init__(self, in_channels=(512, 1024), mid_channels=256, out_channels=32,
                 first_stride=8, out_stride=4, norm_cfg=dict(type='BN'), in_index=(0, 1),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_index = tuple(in_index)
        self.proj = nn.ModuleList(ConvModule(c, mid_channels, 3, padding=1, norm_cfg=norm_cfg)
                                  for c in in_channels)
        self.out = nn.Conv2d(mid_channels * len(in_channels), out_channels, 3, padding=1)
        self.scale = first_stride / out_stride
        self.out_stride = out_stride

    def hypercolumn(self, inputs):
        """The projected, upsampled and concatenated Res3 / Res4 maps before the final
        convolution: (N, 2 * mid_channels, H/4, W/4)."""
        feats = [inputs[i] for i in self.in_index]
        h, w = feats[0].shape[-2:]
        size = (int(round(h * self.scale)), int(round(w * self.scale)))
        maps = [upsample_cells(p(x), size=size) for p, x in zip(self.proj, feats)]
        return torch.cat(maps, 1)

    def forward(self, inputs):
        return (self.out(self.hypercolumn(inputs)), )
