"""Triplet-Siamese network with a ranking loss (transitive invariance).

Wang, He, Gupta. *Transitive Invariance for Self-supervised Visual Representation Learning*,
ICCV 2017 (``shared/papers/transitive_invariance.txt``, sec. 5).

One tower (VGG16 convolutional layers + fc 4096 + fc 1024, shared weights) embeds the anchor
``X``, its positive ``X+`` (a pair of the transitive graph: intra-instance, or transitive
inter-instance) and a distractor ``X-`` taken from another pair of the same mini-batch whose
parent cluster differs from the anchor's; with ``D(A, B) = 1 - cos(F(A), F(B))`` the loss is
``max(0, D(X, X+) - D(X, X-) + m)``, m = 0.5.

The paper's multi-task comparison (``context_weight > 0``): the same tower also solves context
prediction (Doersch et al.): the centre cell of a 3 x 3 grid on ``X`` and one of its 8 neighbours,
each through the convolutional layers, concatenated, classify the neighbour's position (8-way
cross entropy), added to the ranking loss. This is a simplified context prediction (no gap,
jitter, pixelation or colour dropping; cells of the 96x96 patch itself), listed under "Where we
differ from the paper" in ``configs/transitive/README.md``; the full task, which trains the
clustering / initialisation network, is :class:`ContextPrediction`.

Shapes: ``inputs = [X, X+]`` each (N, 3, 96, 96); data samples carry ``parent`` (int, -1 when
unknown: never a distractor for another unknown); embeddings (N, 1024); context cells
(N, 3, 32, 32).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.selfsup.base import BaseSelfSupervisor

from mmdense.registry import MODELS


def ranking_loss(anchor, positive, negative, margin=0.5):
    """Per-triplet ``max(0, D(a, p) - D(a, n) + m)`` with cosine distance, (T,) for (T, C)."""
    d_pos = 1 - F.cosine_similarity(anchor, positive, dim=1)
    d_neg = 1 - F.cosine_similarity(anchor, negative, dim=1)
    return F.relu(d_pos - d_neg + margin)


def pick_distractors(parents, generator=None):
    """For every sample the index of another sample of the batch from a different parent
    cluster (-1 when there is none). ``parents``: (N,) long."""
    n = parents.numel()
    diff = parents[:, None] != parents[None, :]
    diff &= ~torch.eye(n, dtype=torch.bool, device=parents.device)
    scores = torch.rand(n, n, generator=generator).to(parents.device)
    scores = scores.masked_fill(~diff, -1.0)
    best = scores.argmax(1)
    return torch.where(diff.any(1), best, torch.full_like(best, -1))


@MODELS.register_module()
class TripletSiamese(BaseSelfSupervisor):
    """Triplet-Siamese ranking (see the module docstring).

    Args:
        backbone (dict): e.g. ``VGG(depth=16)``; initialise from a checkpoint with
            ``init_cfg=dict(type='Pretrained', checkpoint=PATH, prefix='backbone.')``.
        neck (dict): ``FlattenFCNeck(512 * 3 * 3, 4096, 1024)``.
        margin (float): m (0.5).
        context_weight (float): weight of the context-prediction loss (0: off, the method;
            > 0: the multi-task baseline).
        context_channels (int): conv feature size of one 32x32 cell (512 for VGG16).
    """

    def __init__(self, backbone, neck, margin=0.5, context_weight=0.0, context_channels=512,
                 pretrained=None, data_preprocessor=None, init_cfg=None):
        super().__init__(backbone=backbone, neck=neck, head=None, pretrained=pretrained,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.margin = margin
        self.context_weight = context_weight
        if context_weight > 0:
            self.context_head = nn.Sequential(
                nn.Linear(2 * context_channels, 1024), nn.ReLU(inplace=True), nn.Linear(1024, 8))

    def context_loss(self, x):
        """Context prediction on a 3 x 3 grid of ``x`` (N, 3, H, W): centre vs a random
        neighbour, 8-way cross entropy."""
        n, _, h, w = x.shape
        ch, cw = h // 3, w // 3
        offsets = [(dy, dx) for dy in range(3) for dx in range(3) if (dy, dx) != (1, 1)]
        label = torch.randint(8, (n, ), device=x.device)
        centre = x[:, :, ch:2 * ch, cw:2 * cw]
        neigh = torch.stack([x[i, :, offsets[k][0] * ch:(offsets[k][0] + 1) * ch,
                               offsets[k][1] * cw:(offsets[k][1] + 1) * cw]
                             for i, k in enumerate(label.tolist())])
        feats = self.backbone(torch.cat([centre, neigh]))[-1].flatten(1)
        logits = self.context_head(torch.cat([feats[:n], feats[n:]], 1))
        return F.cross_entropy(logits, label)

    def embed(self, img):
        return self.neck(self.backbone(img))[0]

    def loss(self, inputs, data_samples, **kwargs):
        x, x_pos = inputs[0], inputs[1]
        feats = self.embed(torch.cat([x, x_pos]))
        f, f_pos = feats[:len(x)], feats[len(x):]
        parents = torch.as_tensor([int(ds.get('parent', -1)) for ds in data_samples],
                                  device=f.device)
        # an unknown parent (-1) is treated as its own cluster per sample
        keyed = torch.where(parents >= 0, parents,
                            -1 - torch.arange(len(parents), device=f.device))
        neg = pick_distractors(keyed)
        valid = neg >= 0
        if valid.any():
            loss = ranking_loss(f[valid], f_pos[valid], f_pos[neg[valid]], self.margin).mean()
        else:
            loss = feats.sum() * 0
        out = dict(loss=loss, valid_triplets=valid.float().mean())
        if self.context_weight > 0:
            out['loss_context'] = self.context_weight * self.context_loss(x)
        return out
