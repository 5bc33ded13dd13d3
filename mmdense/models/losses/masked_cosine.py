"""Masked dense BYOL / equivariance loss."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdense.registry import MODELS


@MODELS.register_module()
class MaskedCosineLoss(nn.Module):
    """``|| p/|p| - z/|z| ||^2 = 2 - 2 cos(p, z)`` averaged over valid locations.

    FlowE eq. 5 (BYOL's eq. 1 applied at every pixel), ignoring pixels without a correspondence.

    Args:
        loss_weight (float): scale of the loss.

    Shapes:
        pred, target: (N, C, H, W) (or (N, C) for the global variant);
        valid: (N, 1, H, W) bool (or None = all valid). Returns a scalar; 0 (with a graph) when no
        location is valid.
    """

    def __init__(self, loss_weight=1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred, target, valid=None):
        if pred.shape != target.shape:
            raise ValueError(f'pred {tuple(pred.shape)} and target {tuple(target.shape)} differ')
        per_loc = 2 - 2 * (F.normalize(pred, dim=1) * F.normalize(target, dim=1)).sum(1)
        if valid is None:
            return self.loss_weight * per_loc.mean()
        mask = valid[:, 0].to(per_loc.dtype)
        denom = mask.sum()
        if denom == 0:
            return pred.sum() * 0
        return self.loss_weight * (per_loc * mask).sum() / denom


def valid_fraction(valid):
    """Fraction of valid locations, for logging."""
    return valid.float().mean().detach() if valid is not None else torch.tensor(1.0)
