"""Shared dense-geometry utilities: pixel grids, affine matrices, flow warping.

Conventions used throughout mmdense:

* pixel coordinates are ``(x, y)`` with the centre of the top-left pixel at ``(0, 0)``
  (OpenCV's convention, so ``cv2.warpAffine`` matrices compose with these directly);
* an affine is a ``(..., 2, 3)`` or ``(..., 3, 3)`` matrix mapping source to destination
  pixel coordinates;
* a flow ``F`` of shape ``(N, 2, H, W)`` (or ``(H, W, 2)`` in numpy, as ``.flo`` files store it)
  moves pixel ``p`` of the source frame to ``p + F[:, p]`` in the target frame.
"""
import numpy as np
import torch
import torch.nn.functional as F


def to_homogeneous(mat):
    """Lift ``(..., 2, 3)`` affines to ``(..., 3, 3)``; ``(..., 3, 3)`` pass through.

    Works for numpy arrays and torch tensors.
    """
    if mat.shape[-2:] == (3, 3):
        return mat
    if mat.shape[-2:] != (2, 3):
        raise ValueError(f'expected (..., 2, 3) or (..., 3, 3) affine, got {tuple(mat.shape)}')
    if isinstance(mat, torch.Tensor):
        last = mat.new_tensor([0., 0., 1.]).expand(*mat.shape[:-2], 1, 3)
        return torch.cat([mat, last], dim=-2)
    last = np.broadcast_to(np.array([0., 0., 1.], dtype=mat.dtype), mat.shape[:-2] + (1, 3))
    return np.concatenate([mat, last], axis=-2)


def compose_affine(*mats):
    """``compose_affine(A, B, C)`` = ``A @ B @ C`` as 3x3 (apply C first, A last)."""
    out = to_homogeneous(mats[0])
    for m in mats[1:]:
        out = out @ to_homogeneous(m)
    return out


def coords_grid(n, h, w, device=None, dtype=torch.float32):
    """Pixel coordinates ``(N, 2, H, W)``: channel 0 is x, channel 1 is y."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=dtype),
                            torch.arange(w, device=device, dtype=dtype), indexing='ij')
    return torch.stack([xs, ys]).unsqueeze(0).expand(n, 2, h, w)


def sample_at(src, coords, mode='bilinear'):
    """Sample ``src`` ``(N, C, Hs, Ws)`` at pixel coordinates ``coords`` ``(N, 2, H, W)``.

    Returns:
        tuple: ``(values (N, C, H, W), inside (N, 1, H, W) bool)``, ``inside`` marking the
        coordinates that fall within ``src`` (values outside are zero).
    """
    n, _, hs, ws = src.shape
    x = coords[:, 0]
    y = coords[:, 1]
    grid = torch.stack([2 * x / max(ws - 1, 1) - 1, 2 * y / max(hs - 1, 1) - 1], dim=-1)
    out = F.grid_sample(src, grid.to(src.dtype), mode=mode, padding_mode='zeros',
                        align_corners=True)
    inside = (x >= 0) & (x <= ws - 1) & (y >= 0) & (y <= hs - 1)
    return out, inside.unsqueeze(1)


def flow_warp(target, flow, mode='bilinear'):
    """Backward-warp ``target`` (N, C, H, W) into the source frame of ``flow`` (N, 2, H, W).

    ``out[:, :, p] = target[:, :, p + flow[:, :, p]]``: with the forward flow t -> t+1,
    warping frame t+1 reproduces frame t wherever the pixel is visible in both.

    Returns:
        tuple: ``(warped (N, C, H, W), inside (N, 1, H, W) bool)``.
    """
    if flow.shape[1] != 2 or flow.shape[-2:] != target.shape[-2:] or flow.shape[0] != target.shape[0]:
        raise ValueError(f'flow of shape {tuple(flow.shape)} does not match target '
                         f'{tuple(target.shape)}: expected (N, 2, H, W) with the same N, H, W')
    n, _, h, w = flow.shape
    coords = coords_grid(n, h, w, device=flow.device, dtype=flow.dtype) + flow
    return sample_at(target, coords, mode=mode)
