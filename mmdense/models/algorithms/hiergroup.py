"""HierGroup: pixel contrastive learning from scratch, guided by hierarchical grouping.

Zhang, Maire. *Self-Supervised Visual Representation Learning from Hierarchical Grouping*,
NeurIPS 2020 (``shared/papers/hierarchical_grouping.txt``, sections 3-4).

A contour detector and a watershed hierarchy turn every training image into a region tree (the
UCM cache, :mod:`mmdense.datasets.ucm`). For every image, 7 anchor regions are drawn; per anchor
pixel ``i``, 10 positives and 5 negatives are drawn by tree distance (eqs. 2-3,
:mod:`~mmdense.models.utils.region_pairs`), each from a random augmented view of the image that
shows its region ("augmented reference sampling"), plus ``cns`` random pixels of other images
of the batch (cross-image negatives). The loss is eq. 1 per positive:
``-log exp(s_im) / (exp(s_im) + sum_n exp(s_in))`` with cosine similarity ``s`` (``temperature``
1 as written; configurable). The network is a from-scratch ResNet-50 with the hypercolumn head
(:class:`~mmdense.models.necks.HypercolumnNeck`, 32-d embedding at 1/4 scale).

"Ours + MoCo" (Table 1, ImageNet): with ``moco=dict(...)`` an image-level MoCo-v2 loss on the
last backbone stage (a momentum copy of backbone + MoCo-v2 neck, shuffled BN, a key queue) is
added to the pixel loss; the backbone then also outputs Res5 (``out_indices=(1, 2, 3)``).

Without MoCo nothing reaches Res5, so the backbone is built with ``num_stages=3`` (Res2-Res4):
a stage the losses never reach is refused at construction, so no checkpoint holds random
``layer4`` weights that a readout could mistake for pretrained ones. The frozen readout reads
the pretrained hypercolumn instead (``ReadoutHypercolumn``).

Shapes: ``inputs = [v1, v2]`` (N, 3, H, W); embeddings (N, 32, H/4, W/4); data samples carry
``ucm_labels_v1`` / ``ucm_labels_v2`` (H, W) region maps of each view and ``ucm_dist`` (M, M).
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import ExponentialMovingAverage
from mmpretrain.models.selfsup.base import BaseSelfSupervisor

from mmdense.registry import MODELS
from ...structures import stride_ratio
from ..utils.dense_contrast import pixel_infonce
from ..utils.queue import FeatureQueue
from ..utils.region_pairs import sample_region_pairs
from ..utils.shuffle_bn import shuffled_forward


@MODELS.register_module()
class HierGroup(BaseSelfSupervisor):
    """HierGroup (see the module docstring).

    Args:
        backbone (dict): ResNet-50 with ``num_stages=3, out_indices=(1, 2)`` (Res3, Res4),
            from scratch (with ``moco``: ``num_stages=4, out_indices=(1, 2, 3)``).
        neck (dict): ``HypercolumnNeck``.
        num_regions, num_pos, num_neg (int): 7, 10, 5 (sec. 4.2).
        sigma (float): sigma_p of eqs. 2-3 (0.8).
        cns (int): cross-image negatives per anchor (5 in the main setting; 0 / 20 ablations).
        temperature (float): divides the cosine similarities (1: eq. 1 as written).
        moco (dict, optional): "Ours + MoCo": ``neck`` (e.g. ``MoCoV2Neck(2048, 2048, 128)``),
            ``queue_len`` (65536), ``momentum`` (0.001), ``temperature`` (0.2), ``weight`` (1),
            ``shuffle_bn_splits`` (2: BN sub-batches of the momentum forward on one process, as
            VADeR's / CACL's option of that name).

    The pair sampler's numpy generator is seeded from torch's, so runs with a fixed
    ``randomness.seed`` repeat.
    """

    def __init__(self, backbone, neck, num_regions=7, num_pos=10, num_neg=5, sigma=0.8, cns=5,
                 temperature=1.0, moco=None, pretrained=None, data_preprocessor=None,
                 init_cfg=None):
        super().__init__(backbone=backbone, neck=neck, head=None, pretrained=pretrained,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.moco = dict(moco) if moco else None
        if self.moco:
            self.moco_neck = MODELS.build(self.moco['neck'])
            self.momentum_net = ExponentialMovingAverage(
                nn.Sequential(self.backbone, self.moco_neck),
                momentum=self.moco.get('momentum', 0.001))
            self.moco_queue = FeatureQueue(self.moco.get('queue_len', 65536),
                                           self.moco['neck']['out_channels'])
        self._check_stages_reached()
        self.num_regions = num_regions
        self.num_pos = num_pos
        self.num_neg = num_neg
        self.sigma = sigma
        self.cns = cns
        self.temperature = temperature

    def _check_stages_reached(self):
        """Build no stage the losses never reach: the pixel loss reads the backbone outputs
        the neck's ``in_index`` picks (Res3, Res4), the MoCo loss the last one (Res5). A
        deeper stage would keep its random weights and end up in the checkpoint, where a
        readout could take it for pretrained features (issue 15)."""
        out_indices = getattr(self.backbone, 'out_indices', None)
        num_stages = getattr(self.backbone, 'num_stages', None)
        if out_indices is None or num_stages is None:
            return
        out_indices = sorted(int(i) % num_stages for i in out_indices)
        in_index = tuple(getattr(self.neck, 'in_index', range(len(out_indices))))
        used = [out_indices[i] for i in in_index]
        if self.moco:
            used.append(out_indices[-1])
        reached = max(used) + 1
        if num_stages > reached:
            raise ValueError(
                f'HierGroup: the backbone builds {num_stages} stages but its losses reach only '
                f'the first {reached} (out_indices {tuple(out_indices)}, neck in_index '
                f'{in_index}{", moco" if self.moco else ""}); set '
                f'backbone.num_stages={reached} (with {reached} strides / dilations) so no '
                'untrained stage is built and saved')

    def _embed(self, img):
        feats = self.backbone(img)
        return F.normalize(self.neck(feats)[0], dim=1), feats

    def _moco_loss(self, feats_v1, v2):
        """Image-level MoCo-v2 InfoNCE of view 1 against view 2 and the key queue."""
        q = F.normalize(self.moco_neck((feats_v1[-1], ))[0], dim=1)
        self.momentum_net.update_parameters(nn.Sequential(self.backbone, self.moco_neck))
        with torch.no_grad():
            k = shuffled_forward(lambda x: self.momentum_net.module[1](
                (self.momentum_net.module[0](x)[-1], ))[0], v2,
                self.moco.get('shuffle_bn_splits', 2))
            k = F.normalize(k, dim=1)
        loss = pixel_infonce(q[:, None], k[:, None], self.moco_queue(),
                             self.moco.get('temperature', 0.2)).mean()
        self.moco_queue.enqueue(k)
        return self.moco.get('weight', 1.0) * loss

    @staticmethod
    def _labels(sample, view, size, stride=None):
        """The view's region labels on the embedding's grid ``size`` (h, w): cell i takes the
        label of view pixel ``s * i`` (4i at stride 4), clamped to the last row / column for
        the cell a map of a view not divisible by its stride has past the view's edge. ``s``
        is ``stride`` (the neck's ``out_stride``) or, by default, the power-of-two stride
        ratio of the grid to the labels (:func:`~mmdense.structures.stride_ratio`).

        That is where the cell's features come from: ResNet's padded convolutions put feature
        n of a stride-s stage at input pixel s*n, and the hypercolumn's upsampling
        (:func:`~mmdense.structures.upsample_cells`) keeps both its Res3 and Res4 parts on
        pixel 4i. (Bilinear with ``align_corners=False`` had put them at 4i - 2 and 4i - 6;
        nearest resizing to ``size``, pixel ``floor(i * H / h)``, drifts from 4i when H is not
        a multiple of 4 h.)"""
        key = f'ucm_labels_v{view + 1}'
        if key not in sample:
            raise KeyError(f'HierGroup needs {key} in every data sample: put LoadUCM, '
                           'CorrespondingViews and PackUCMInputs in the pipeline')
        lab = torch.as_tensor(sample.get(key))
        H, W = lab.shape[-2:]
        s = stride or stride_ratio(size, (H, W))
        rows = (torch.arange(size[0]) * s).clamp(max=H - 1)
        cols = (torch.arange(size[1]) * s).clamp(max=W - 1)
        return lab[rows][:, cols].long().numpy()

    def loss(self, inputs, data_samples, **kwargs):
        embedded = [self._embed(v) for v in inputs[:2]]
        views = [e[0] for e in embedded]  # each (N, D, h, w)
        n, d, h, w = views[0].shape
        flat = torch.stack([v.flatten(2) for v in views], 1)  # (N, V, D, hw)
        rng = np.random.default_rng(int(torch.randint(2**31 - 1, ())))
        anchors, positives, negatives = [], [], []
        for i, sample in enumerate(data_samples):
            labels = [self._labels(sample, v, (h, w), getattr(self.neck, 'out_stride', None))
                      for v in range(len(views))]
            a, p, q = sample_region_pairs(labels, sample.ucm_dist.numpy(), self.num_regions,
                                          self.num_pos, self.num_neg, self.sigma, rng)
            feats = flat[i]  # (V, D, hw)
            anchors.append(feats[a[:, 0], :, a[:, 1]])  # (A, D)
            positives.append(feats[p[..., 0], :, p[..., 1]])  # (A, P, D)
            if q is None:  # a single region in view: no within-image negative
                q_feats = feats.new_zeros(len(a), 0, d)
            else:
                q_feats = feats[q[..., 0], :, q[..., 1]]
            if self.cns and n > 1:  # random pixels of other images of the batch
                others = np.array([j for j in range(n) if j != i])
                img = rng.choice(others, size=(len(a), self.cns))
                pix = rng.integers(0, h * w, size=(len(a), self.cns))
                cross = flat[torch.as_tensor(img), 0, :, torch.as_tensor(pix)]  # (A, cns, D)
                q_feats = torch.cat([q_feats, cross], 1)
            negatives.append(q_feats)
        anc = torch.cat(anchors)  # (A_all, D)
        pos = torch.cat(positives)  # (A_all, P, D)
        neg = torch.cat(negatives)  # (A_all, Q, D)
        s_pos = (anc[:, None] * pos).sum(-1) / self.temperature  # (A_all, P)
        s_neg = (anc[:, None] * neg).sum(-1) / self.temperature  # (A_all, Q)
        neg_lse = torch.logsumexp(s_neg, dim=1, keepdim=True) if neg.shape[1] else None
        denom = s_pos if neg_lse is None else torch.logaddexp(s_pos, neg_lse)
        losses = dict(loss=(denom - s_pos).mean())
        if self.moco:
            losses['loss_moco'] = self._moco_loss(embedded[0][1], inputs[1])
        return losses
