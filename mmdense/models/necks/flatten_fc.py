"""Fully connected tower top of the Triplet-Siamese network (Wang et al. 2017, sec. 5)."""
import torch.nn as nn
from mmengine.model import BaseModule

from mmdense.registry import MODELS


@MODELS.register_module()
class FlattenFCNeck(BaseModule):
    """``flatten -> fc(hid) -> ReLU -> fc(out)``: "after the VGG16 convolutional layers we add
    two fully-connected layers with 4096-d and 1024-d outputs".

    Shapes: input tuple with (N, C, h, w) (``in_channels = C * h * w``, 512 x 3 x 3 for 96x96
    patches); output tuple with (N, out_channels).
    """

    def __init__(self, in_channels=4608, hid_channels=4096, out_channels=1024, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(in_channels, hid_channels),
                                nn.ReLU(inplace=True), nn.Linear(hid_channels, out_channels))

    def forward(self, x):
        return (self.fc(x[-1] if isinstance(x, (tuple, list)) else x), )
