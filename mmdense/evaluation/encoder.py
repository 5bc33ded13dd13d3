"""Frozen dense encoder of any mmdense pretraining config + checkpoint (probes, propagation,
retrieval, feature pictures)."""
import copy

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmdense.utils.checkpoint import load_pretrained_strict
from mmdense.utils.logs import quiet_init_logs
from .dense_probe import extract_dense_features


class DenseEncoder(nn.Module):
    """The pretraining config's backbone (and, with ``use_neck``, its dense neck, e.g. VADeR's
    FPN decoder) with the checkpoint's ``backbone.*`` / ``neck.*`` weights, loaded strictly,
    in eval mode. ``forward`` maps (N, 3, H, W) normalised images to (N, C, h, w) features.

    Args:
        config (str | Config): pretraining config.
        checkpoint (str, optional): mmdense checkpoint; None: random init (the baseline).
        use_neck (bool | str): ``'auto'`` uses the neck when it is a dense decoder
            (``FPNDecoder``), else the last backbone stage.
        out_index (int): backbone output used without the neck.
    """

    DENSE_NECKS = ('FPNDecoder', )

    def __init__(self, config, checkpoint=None, use_neck='auto', out_index=-1):
        super().__init__()
        cfg = Config.fromfile(config) if isinstance(config, str) else config
        from mmdense.registry import MODELS
        init_default_scope(cfg.get('default_scope', 'mmdense'))
        neck_cfg = cfg.model.get('neck')
        if use_neck == 'auto':
            use_neck = bool(neck_cfg) and neck_cfg.get('type') in self.DENSE_NECKS
        with quiet_init_logs():
            self.backbone = MODELS.build(copy.deepcopy(cfg.model.backbone))
            self.backbone.init_weights()
            self.neck = MODELS.build(copy.deepcopy(neck_cfg)) if use_neck else None
            if self.neck is not None:
                self.neck.init_weights()
        if checkpoint:
            load_pretrained_strict(self.backbone, checkpoint, 'backbone.')
            if self.neck is not None:
                load_pretrained_strict(self.neck, checkpoint, 'neck.')
        pre = cfg.model.get('data_preprocessor') or {}
        self.mean = list(pre.get('mean', [123.675, 116.28, 103.53]))
        self.std = list(pre.get('std', [58.395, 57.12, 57.375]))
        self.to_rgb = pre.get('to_rgb', pre.get('bgr_to_rgb', True))
        self.out_index = out_index
        self.eval()

    def forward(self, x):
        out = self.backbone(x)
        if self.neck is not None:
            return self.neck(out)[0]
        return out[self.out_index] if isinstance(out, (tuple, list)) else out

    @torch.no_grad()
    def features(self, images, batch_size=4, device='cpu'):
        """(N, C, h, w) float32 features of BGR uint8 images (H, W, 3), all the same size."""
        return extract_dense_features(self, images, self.mean, self.std, self.to_rgb,
                                      batch_size=batch_size, device=device)
