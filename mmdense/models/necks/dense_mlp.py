"""Dense (per-pixel) MLP neck: BYOL's projector / predictor as 1x1 convolutions."""
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule

from mmdense.registry import MODELS


@MODELS.register_module()
class DenseNonLinearNeck(BaseModule):
    """``in -> [1x1 conv -> BN -> ReLU] x (num_layers - 1) -> 1x1 conv -> out``, per pixel.

    The 1x1-conv counterpart of MMPretrain's ``NonLinearNeck`` (BYOL's MLP): same channel counts
    and so the same parameters, applied at every location instead of after global pooling, as in
    FlowE (sec. 3.3) and the dense heads of CACL / VADeR.

    Args:
        in_channels (int): input channels (e.g. 2048 for ResNet-50).
        hid_channels (int): hidden channels (4096 in BYOL).
        out_channels (int): output channels (256 in BYOL).
        num_layers (int): number of 1x1 convs (>= 1). Defaults to 2.
        norm_cfg (dict, optional): normalisation after hidden convs. Defaults to BN. None: no
            normalisation (hidden convs get a bias), e.g. CACL's heads (conv-ReLU-conv).
        in_index (int): which backbone output to use when given a tuple. Defaults to -1.

    Shapes:
        input: tuple of (N, C_in, H, W) (or a single tensor); output: tuple with one
        (N, C_out, H, W) tensor.
    """

    def __init__(self, in_channels, hid_channels, out_channels, num_layers=2,
                 norm_cfg=dict(type='BN'), in_index=-1, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        self.in_index = in_index
        layers = []
        c = in_channels
        for _ in range(num_layers - 1):
            layers.append(nn.Conv2d(c, hid_channels, 1, bias=norm_cfg is None))
            if norm_cfg is not None:
                layers.append(build_norm_layer(norm_cfg, hid_channels)[1])
            layers.append(nn.ReLU(inplace=True))
            c = hid_channels
        layers.append(nn.Conv2d(c, out_channels, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        if isinstance(x, (tuple, list)):
            x = x[self.in_index]
        return (self.mlp(x), )
