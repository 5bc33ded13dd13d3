"""Context prediction (Doersch, Gupta, Efros, ICCV 2015): the relative position of two patches.

Transitive invariance (Wang, He, Gupta, ICCV 2017, ``shared/papers/transitive_invariance.txt``)
clusters its mined video patches with "the pool5 features of the VGG16 network trained as in
[Doersch et al.] ... ImageNet without labels ... because we use a patch size of 96x96, the
dimension of our pool5 feature is 3x3x512 = 4608" (sec. 4.2), initialises its Triplet-Siamese
tower from that network (sec. 6) and uses the task in its multi-task baseline. The task
(sec. 2, Fig. 3): "randomly samples a patch and one of its eight neighbors, and trains the
network to predict their relative position, defined as an 8-way classification problem".

Network (a late-fusion Siamese pair, as Doersch et al.'s): both patches go through the same
VGG16 convolutional tower to pool5 and a per-patch fc6; the two fc6 vectors are concatenated and
classified by fc7, fc8 and an 8-way layer. fc6 and fc7 carry batch normalisation (as Doersch et
al.'s released model); the VGG16 convolutions are plain (no BN), so the tower loads 1:1 into
``TripletSiamese`` and ``ReadoutVGG``. The patch pairs come from
:class:`~mmdense.datasets.transitive.ContextPatchPair` (patch 96, gap 48, jitter 7).

Shapes: ``inputs = [first, second]`` each (N, 3, 96, 96); ``data_samples[i].gt_label`` the
position of ``second`` around ``first`` (0..7, ``CONTEXT_OFFSETS``); pool5 (N, 512, 3, 3);
fc6 (N, 4096); logits (N, 8).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.selfsup.base import BaseSelfSupervisor

from mmdense.registry import MODELS


def _fc(cin, cout, norm):
    layers = [nn.Linear(cin, cout)]
    if norm:
        layers.append(nn.BatchNorm1d(cout))
    layers.append(nn.ReLU(inplace=True))
    return layers


@MODELS.register_module()
class ContextPrediction(BaseSelfSupervisor):
    """Doersch et al.'s patch-pair position task (see the module docstring).

    Args:
        backbone (dict): e.g. ``VGG(depth=16, num_classes=-1)`` (its last output is pool5).
        in_channels (int): flattened pool5 size (512 * 3 * 3 = 4608 for VGG16 at 96x96).
        patch_channels (int): fc6 width (4096).
        pair_channels (tuple[int]): widths of the fused layers fc7, fc8 (4096, 4096).
        num_positions (int): 8.
        norm (bool): batch normalisation in fc6 and fc7.
    """

    def __init__(self, backbone, in_channels=4608, patch_channels=4096,
                 pair_channels=(4096, 4096), num_positions=8, norm=True, pretrained=None,
                 data_preprocessor=None, init_cfg=None):
        super().__init__(backbone=backbone, neck=None, head=None, pretrained=pretrained,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.in_channels = in_channels
        self.patch_fc = nn.Sequential(nn.Flatten(), *_fc(in_channels, patch_channels, norm))
        layers, cin = [], 2 * patch_channels
        for i, c in enumerate(pair_channels):
            layers += _fc(cin, c, norm and i == 0)
            cin = c
        layers.append(nn.Linear(cin, num_positions))
        self.pair_head = nn.Sequential(*layers)

    def extract_feat(self, inputs):
        """pool5 of each patch: (N, 512, 3, 3) for (N, 3, 96, 96)."""
        out = self.backbone(inputs)
        return out[-1] if isinstance(out, (tuple, list)) else out

    def position_logits(self, first, second):
        """(N, num_positions) logits for the position of ``second`` around ``first``."""
        pool5 = self.extract_feat(torch.cat([first, second]))
        if pool5[0].numel() != self.in_channels:
            raise ValueError(
                f'pool5 is {tuple(pool5.shape[1:])} = {pool5[0].numel()} values per patch but '
                f'in_channels={self.in_channels}: set in_channels to C x h x w (512 x 3 x 3 = '
                f'4608 for VGG16 on 96x96 patches)')
        fc6 = self.patch_fc(pool5)
        n = len(first)
        return self.pair_head(torch.cat([fc6[:n], fc6[n:]], 1))

    def loss(self, inputs, data_samples, **kwargs):
        labels = torch.cat([ds.gt_label.reshape(-1) for ds in data_samples]).to(
            inputs[0].device)
        logits = self.position_logits(inputs[0], inputs[1])
        return dict(loss=F.cross_entropy(logits, labels),
                    acc_position=(logits.argmax(1) == labels).float().mean())
