"""VADeR: view-agnostic dense representations.

Pinheiro, Almahairi, Benmalek, Golemo, Courville. *Unsupervised Learning of Dense Visual
Representations*, NeurIPS 2020 (``shared/papers/vader_dense_visual_representations.txt``,
sections 3.1-3.2, Table 3).

Pixel-level MoCo. An encoder-decoder ``f`` (ResNet-50 + :class:`~mmdense.models.necks.FPNDecoder`,
a 128-d embedding at 1/4 scale) sees view 1, its momentum copy ``g`` (EMA 0.999, shuffled BN)
sees view 2 of the same image. The two views' geometry is known
(:class:`~mmdense.datasets.transforms.CorrespondingViews`), so every view-1 pixel ``u`` that is
visible in view 2 has a known position there (``A2 . A1^-1``, the shared
``view_correspondence``). For 32 random matched pixels per image pair the loss is eq. 2, NCE with
temperature-scaled cosine similarity between ``f(v1)[u]`` and ``g(v2)[u]`` (bilinearly sampled),
the negatives being a queue of 65,536 pixels of other images; the loss is multiplied by 10.

Table 3 ablations: the view sampling ('different' / 'same') is the data transform's option;
``matching='random'`` ("unmatched") pairs each view-1 pixel with a random view-2 pixel.

Shapes: ``inputs = [v1, v2]`` each (N, 3, H, W); embeddings (N, 128, H/4, W/4); data samples
carry ``affine_v1`` / ``affine_v2`` (3, 3) frame -> view and ``frame_shape``; queue (K, 128).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import ExponentialMovingAverage
from mmpretrain.models.selfsup.base import BaseSelfSupervisor

from mmdense.registry import MODELS
from ...structures.geometry import (feature_grid_coords, pixel_to_grid, sample_at,
                                    stride_ratio, view_correspondence)
from ..utils.dense_contrast import pixel_infonce
from ..utils.queue import FeatureQueue
from ..utils.shuffle_bn import shuffled_forward


@MODELS.register_module()
class VADeR(BaseSelfSupervisor):
    """VADeR (see the module docstring).

    Args:
        backbone (dict): ResNet-50 with ``out_indices=(0, 1, 2, 3)``; initialise from MoCo-v2
            with ``init_cfg=dict(type='Pretrained', checkpoint=PATH, prefix='backbone.')``.
        neck (dict): the decoder, e.g. ``FPNDecoder``.
        queue_len (int): pixel queue length (65536). feat_dim (int): embedding size (128).
        temperature (float): tau (0.07). momentum (float): EMA weight (0.001 = MoCo's 0.999).
        num_matches (int): matched pixels per image pair (32).
        loss_weight (float): factor on eq. 2 (10).
        matching (str): ``'correspondence'`` or ``'random'`` (Table 3 "unmatched").
        shuffle_bn_splits (int): BN sub-batches of the momentum forward on one process.
    """

    def __init__(self, backbone, neck, queue_len=65536, feat_dim=128, temperature=0.07,
                 momentum=0.001, num_matches=32, loss_weight=10.0, matching='correspondence',
                 shuffle_bn_splits=2, pretrained=None, data_preprocessor=None, init_cfg=None):
        if matching not in ('correspondence', 'random'):
            raise ValueError(f"matching must be 'correspondence' or 'random', got {matching!r}")
        super().__init__(backbone=backbone, neck=neck, head=None, pretrained=pretrained,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.momentum_net = ExponentialMovingAverage(nn.Sequential(self.backbone, self.neck),
                                                     momentum=momentum)
        self.queue = FeatureQueue(queue_len, feat_dim)
        self.temperature = temperature
        self.num_matches = num_matches
        self.loss_weight = loss_weight
        self.matching = matching
        self.shuffle_bn_splits = shuffle_bn_splits

    def _embed(self, img):
        return self.neck(self.backbone(img))[0]

    @staticmethod
    def _geometry(data_samples, device):
        try:
            a1 = torch.stack([ds.affine_v1 for ds in data_samples]).to(device)
            a2 = torch.stack([ds.affine_v2 for ds in data_samples]).to(device)
        except AttributeError as e:
            raise KeyError('VADeR needs affine_v1 / affine_v2 in every data sample: use '
                           'CorrespondingViews and PackFlowInputs in the pipeline') from e
        return a1, a2

    def match(self, data_samples, view_size, feat_size, generator=None):
        """Matched pixels of every image pair.

        Returns:
            tuple: ``(idx (N, M) long`` flat indices into view 1's h x w grid, ``coords
            (N, 2, 1, M)`` their positions in view 2's feature grid (x, y)).
        """
        h, w = feat_size
        stride = float(stride_ratio((h, w), view_size))  # cell j on pixel s*j
        n = len(data_samples)
        a1, a2 = self._geometry(data_samples, torch.device('cpu'))
        query = feature_grid_coords(n, h, w, stride, dtype=torch.float64)
        frame = [tuple(ds.get('frame_shape') or ds.get('ori_shape') or view_size)
                 for ds in data_samples]
        idx, coords = [], []
        for i in range(n):
            tgt, valid = view_correspondence(query[i:i + 1], a1[i:i + 1].double(),
                                             a2[i:i + 1].double(), tgt_size=view_size,
                                             frame_size=frame[i])
            cand = valid.flatten().nonzero()[:, 0]
            if cand.numel() == 0:
                raise ValueError(f'{data_samples[i].get("img_path", f"sample {i}")}: the two '
                                 'views share no pixel; CorrespondingViews(min_shared=...) '
                                 'guarantees shared pixels')
            if cand.numel() >= self.num_matches:  # without replacement when possible
                pick = cand[torch.randperm(cand.numel(), generator=generator)[:self.num_matches]]
            else:
                pick = cand[torch.randint(cand.numel(), (self.num_matches, ),
                                          generator=generator)]
            if self.matching == 'random':  # Table 3 "unmatched": any location of view 2
                grid = torch.stack([torch.randint(w, (self.num_matches, ), generator=generator),
                                    torch.randint(h, (self.num_matches, ), generator=generator)])
                grid = grid.double()
            else:  # (2, M) view-2 pixels -> view-2 feature grid
                grid = pixel_to_grid(tgt.flatten(2)[0][:, pick], stride, dim=0)
            idx.append(pick)
            coords.append(grid[:, None])
        return torch.stack(idx), torch.stack(coords)

    def loss(self, inputs, data_samples, **kwargs):
        v1, v2 = inputs[0], inputs[1]
        q_map = self._embed(v1)  # (N, D, h, w)
        self.momentum_net.update_parameters(nn.Sequential(self.backbone, self.neck))
        with torch.no_grad():
            k_map = shuffled_forward(lambda x: self.momentum_net.module[1](
                self.momentum_net.module[0](x))[0], v2, self.shuffle_bn_splits)
        idx, coords = self.match(data_samples, v1.shape[-2:], q_map.shape[-2:])
        idx, coords = idx.to(q_map.device), coords.to(q_map.device, q_map.dtype)
        d = q_map.shape[1]
        q = torch.gather(q_map.flatten(2), 2, idx[:, None].expand(-1, d, -1))  # (N, D, M)
        k, _ = sample_at(k_map, coords)  # (N, D, 1, M)
        q = F.normalize(q.transpose(1, 2), dim=-1)
        k = F.normalize(k[:, :, 0].transpose(1, 2), dim=-1)
        loss = pixel_infonce(q, k, self.queue(), self.temperature).mean()
        self.queue.enqueue(k.reshape(-1, d))
        return dict(loss=self.loss_weight * loss)
