"""CACL: cycle-attention contrastive learning.

Pang, Li, Zhang, Peng, Tang, Zha, Li, Lu. *Unsupervised Representation for Semantic Segmentation
by Implicit Cycle-Attention Contrastive Learning*, AAAI 2022
(``shared/papers/cacl_cycle_attention_contrastive.txt``, method section, eqs. 1-7).

Two frames ``v``, ``v+`` of one video (8 frames apart, crops at the same position; on ImageNet
the same image twice) go through a MoCo pair of networks. The data gives both views one geometry
(one crop box and one flip: ``PairRandomResizedBoxCrop`` + ``PairRandomFlip``; only photometric
transforms per view), because the same-position pixel positives and the soft-cycle target pair
position ``j`` of ``v`` with position ``j`` of ``v+``. The online network (backbone ``f`` + three
heads) runs on ``v`` and the momentum network (an EMA copy, MoCo momentum 0.999, shuffled BN) on
``v+``. Every head is a 2-layer 1x1-conv MLP (hidden = input channels, ReLU, 128 out) on the
backbone's output stride 8 map; each keeps its own negative queue
(:class:`~mmdense.models.utils.FeatureQueue`):

* global head ``g_G``: ``u = GAP(g_G(h))``, InfoNCE of ``u`` against ``u+`` and the global queue
  (eq. 3);
* pixel head ``g_P``: the positive of pixel ``p^i`` is the pixel of ``p+`` whose *global-head*
  pixel is most similar, ``argmax_j cos(u^i, u+^j)`` (eq. 4); negatives: the pixel queue;
* cycle-attention head ``g_C``: ``M = softmax(<c, c+>/tau) x softmax(<c+, [c; c-]>/tau)``, a walk
  to frame 2 and back to frame 1 or to the cycle queue's negatives, trained towards the identity
  (cross entropy, eqs. 5-6) or, with the soft cycle, towards ``softmax(<u, u+>/tau)`` (KL).

Total loss ``w_G L_G + w_P L_P + w_C L_C``. Pixel shuffle (eq. 7): the input is rolled by a random
``(a, b)`` (multiples of the output stride) before the backbone and the features rolled back,
so no position is closer to the zero padding than another. Affinities are computed in chunks
(:mod:`~mmdense.models.utils.dense_contrast`), so large maps never allocate hw x hw at once.

Table 1 ablations are config switches: ``heads`` (any subset of global / pixel / cycle),
``pixel_positive`` ('global' eq. 4, 'same_position': the pixel at the same crop position of the
other frame, 'self': argmax of the pixel head's own affinity), ``soft_cycle``,
``cycle_negatives``, ``pixel_shuffle``; pair difficulty is the data's ``interval_frames``.

Shapes: ``inputs = [v, v+]`` each (N, 3, H, W); backbone output (N, C, h, w), h = H / 8 for a
dilated ResNet; head outputs (N, 128, h, w); queues (K, 128).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import ExponentialMovingAverage
from mmpretrain.models.selfsup.base import BaseSelfSupervisor

from mmdense.registry import MODELS
from ..utils.dense_contrast import (cycle_loss, nearest_by_affinity, normalize_pixels,
                                    pixel_infonce, rows_per_chunk)
from ..utils.queue import FeatureQueue, sample_pixels
from ..utils.shuffle_bn import shuffled_forward

HEADS = ('global_', 'pixel', 'cycle')  # 'global_': `global` is a Python keyword


class _Encoder(nn.Module):
    """backbone + heads in one module, the container the EMA copy (momentum network) needs;
    features come from :meth:`CACL._encode`, it has no ``forward`` of its own."""

    def __init__(self, backbone, heads):
        super().__init__()
        self.backbone = backbone
        self.heads = heads


@MODELS.register_module()
class CACL(BaseSelfSupervisor):
    """CACL (see the module docstring).

    Args:
        backbone (dict): e.g. ResNet-18/50 with the last two stages dilated (output stride 8).
            Initialise from a MoCo-v2 checkpoint with ``init_cfg=dict(type='Pretrained',
            checkpoint=PATH, prefix='backbone.')``.
        head (dict): the head MLP, built three times (global, pixel, cycle), e.g.
            ``DenseNonLinearNeck(C, C, 128, norm_cfg=None)``.
        heads (tuple[str]): heads whose losses are trained (Table 1a), a subset of
            ``('global_', 'pixel', 'cycle')`` (``global_`` because ``global`` is a Python keyword
            and configs are Python). ``pixel_positive='global'`` with the pixel head and
            ``soft_cycle`` with the cycle head read the global head, so they need ``global_``
            here (a ValueError otherwise: its outputs would be a random head's).
        loss_weights (dict): ``dict(global_=w_G, pixel=w_P, cycle=w_C)``.
        queue_len (int): negatives per queue (16384 in the paper).
        feat_dim (int): head output size (128).
        temperature (float): tau (0.07).
        momentum (float): EMA weight of the online parameters (0.001 = MoCo's 0.999).
        pixel_positive (str): 'global' | 'same_position' | 'self' (see module docstring).
        soft_cycle (bool): KL to ``softmax(<u, u+>/tau)`` instead of the identity target.
        cycle_negatives (bool): add the cycle queue to the return jump.
        pixel_shuffle (bool): random roll of the input, rolled back on the features (eq. 7).
        shuffle_stride (int): rolls are multiples of this (the backbone's output stride).
        queue_pixels_per_image (int): pixels of each image written to the pixel / cycle queues.
        shuffle_bn_splits (int): BN sub-batches of the momentum forward on a single process;
            under DDP the batch is shuffled across processes instead (MoCo), see
            :func:`~mmdense.models.utils.shuffle_bn.shuffled_forward`.
        max_affinity_elems (int): largest (N, rows, cols) affinity block held at once.
    """

    def __init__(self, backbone, head, heads=HEADS, loss_weights=None, queue_len=16384,
                 feat_dim=128, temperature=0.07, momentum=0.001, pixel_positive='global',
                 soft_cycle=True, cycle_negatives=True, pixel_shuffle=True, shuffle_stride=8,
                 queue_pixels_per_image=8, shuffle_bn_splits=2, max_affinity_elems=2**26,
                 pretrained=None, data_preprocessor=None, init_cfg=None):
        heads = tuple(heads)
        if not heads or any(h not in HEADS for h in heads):
            raise ValueError(f'heads must be a non-empty subset of {HEADS}, got {heads}')
        if pixel_positive not in ('global', 'same_position', 'self'):
            raise ValueError("pixel_positive must be 'global', 'same_position' or 'self', got "
                             f'{pixel_positive!r}')
        # eq. 4's positives and the soft-cycle target are read off the global head's per-pixel
        # outputs, which only its own loss (eq. 3) trains: without it they would come from a
        # random head. The paper's pixel head alone takes same-position positives (Table 1(a))
        untrained = [f'{switch} (the {head} head)' for head, switch, on in (
            ('pixel', "pixel_positive='global'", pixel_positive == 'global'),
            ('cycle', 'soft_cycle=True', soft_cycle)) if on and head in heads]
        if untrained and 'global_' not in heads:
            raise ValueError(
                f'{" and ".join(untrained)} read{"s" * (len(untrained) == 1)} the global '
                f'head\'s per-pixel outputs, but heads={heads} does not train that head: add '
                "'global_' to heads, or set "
                "pixel_positive='same_position' / soft_cycle=False")
        super().__init__(backbone=backbone, neck=None, head=None, pretrained=pretrained,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.train_heads = tuple(h for h in HEADS if h in heads)  # in the order of HEADS
        self.heads = nn.ModuleDict({h: MODELS.build(head) for h in self.train_heads})
        weights = dict(dict.fromkeys(HEADS, 1.0), **(loss_weights or {}))
        if set(weights) - set(HEADS):
            raise ValueError(f'loss_weights keys must be in {HEADS}, got {sorted(weights)}')
        self.loss_weights = weights
        self.queues = nn.ModuleDict({h: FeatureQueue(queue_len, feat_dim) for h in heads})
        self.momentum_net = ExponentialMovingAverage(_Encoder(self.backbone, self.heads),
                                                     momentum=momentum)
        self.temperature = temperature
        self.pixel_positive = pixel_positive
        self.soft_cycle = soft_cycle
        self.cycle_negatives = cycle_negatives
        self.pixel_shuffle = pixel_shuffle
        self.shuffle_stride = shuffle_stride
        self.queue_pixels_per_image = queue_pixels_per_image
        self.shuffle_bn_splits = shuffle_bn_splits
        self.max_affinity_elems = max_affinity_elems

    # ------------------------------------------------------------------ features
    def _rolled_features(self, backbone, img, shift=None):
        """Backbone output (N, C, h, w) of ``img`` rolled by ``shift`` (pixels, (a, b)) and
        rolled back; ``shift=None`` draws one (pixel shuffle) or uses none."""
        if shift is None and self.pixel_shuffle and self.training:
            s = self.shuffle_stride
            h, w = img.shape[-2:]
            shift = (s * int(torch.randint(max(1, h // s), ())),
                     s * int(torch.randint(max(1, w // s), ())))
        if not shift or shift == (0, 0):
            return backbone(img)[-1]
        feats = backbone(torch.roll(img, shifts=shift, dims=(2, 3)))[-1]
        sy, sx = img.shape[2] / feats.shape[2], img.shape[3] / feats.shape[3]
        if shift[0] % sy or shift[1] % sx:
            raise ValueError(f'pixel shuffle by {shift} px is not a multiple of the output stride '
                             f'({sy:g}, {sx:g}): set shuffle_stride to the backbone output stride '
                             'and use inputs divisible by it')
        return torch.roll(feats, shifts=(-int(shift[0] / sy), -int(shift[1] / sx)), dims=(2, 3))

    def _encode(self, net, img):
        feats = self._rolled_features(net.backbone, img)
        return tuple(net.heads[h](feats)[0] for h in self.train_heads)

    def extract_feat(self, inputs, data_samples=None, **kwargs):
        """Backbone features of ``inputs`` (N, 3, H, W) (no pixel shuffle outside training)."""
        return self.backbone(inputs)

    # ------------------------------------------------------------------ losses
    def _chunk(self, n, cols):
        return rows_per_chunk(n, cols, self.max_affinity_elems)

    def loss(self, inputs, data_samples, **kwargs):
        v, v_pos = inputs[0], inputs[1]
        online = dict(zip(self.train_heads, self._encode(self, v)))
        self.momentum_net.update_parameters(_Encoder(self.backbone, self.heads))
        with torch.no_grad():
            target = shuffled_forward(lambda x: self._encode(self.momentum_net.module, x), v_pos,
                                      self.shuffle_bn_splits)
            target = dict(zip(self.train_heads, target))
        n = v.shape[0]
        tau = self.temperature
        pix = {h: normalize_pixels(online[h]) for h in online}
        pix_t = {h: normalize_pixels(target[h]) for h in target}
        hw = next(iter(pix.values())).shape[1]
        losses, keys = {}, {}
        if 'global_' in self.train_heads:
            q = F.normalize(online['global_'].mean((2, 3)), dim=1)
            k = F.normalize(target['global_'].mean((2, 3)), dim=1)
            losses['global_'] = pixel_infonce(q[:, None], k[:, None], self.queues['global_'](),
                                              tau).mean()
            keys['global_'] = k
        if 'pixel' in self.train_heads:
            if self.pixel_positive == 'same_position':
                k = pix_t['pixel']
            else:
                src = 'global_' if self.pixel_positive == 'global' else 'pixel'
                idx = nearest_by_affinity(pix[src].detach(), pix_t[src], self._chunk(n, hw))
                k = torch.gather(pix_t['pixel'], 1, idx[..., None].expand_as(pix_t['pixel']))
            queue = self.queues['pixel']()
            losses['pixel'] = pixel_infonce(
                pix['pixel'], k, queue, tau, self._chunk(n, queue.shape[0] + 1)).mean()
            keys['pixel'] = sample_pixels(F.normalize(target['pixel'], dim=1),
                                          self.queue_pixels_per_image)
        if 'cycle' in self.train_heads:
            neg = self.queues['cycle']() if self.cycle_negatives else None
            soft = dict(u=pix['global_'].detach(), up=pix_t['global_']) if self.soft_cycle else {}
            cols = hw + (neg.shape[0] if neg is not None else 0)
            losses['cycle'] = cycle_loss(pix['cycle'], pix_t['cycle'], neg, tau,
                                         chunk=self._chunk(n, cols), **soft).mean()
            keys['cycle'] = sample_pixels(F.normalize(target['cycle'], dim=1),
                                          self.queue_pixels_per_image)
        for h, k in keys.items():
            self.queues[h].enqueue(k)
        return {f'loss_{h.rstrip("_")}': self.loss_weights[h] * v for h, v in losses.items()}
