"""Shared dense-geometry utilities: pixel grids, affine matrices, flow warping.

Conventions used throughout mmdense:

* pixel coordinates are ``(x, y)`` with the centre of the top-left pixel at ``(0, 0)``
  (OpenCV's convention, so ``cv2.warpAffine`` matrices compose with these directly);
* an affine is a ``(..., 2, 3)`` or ``(..., 3, 3)`` matrix mapping source to destination
  pixel coordinates;
* a flow ``F`` of shape ``(N, 2, H, W)`` (or ``(H, W, 2)`` in numpy, as ``.flo`` files store it)
  moves pixel ``p`` of the source frame to ``p + F[:, p]`` in the target frame;
* cell ``j`` of a stride-``s`` feature map is centred on image pixel ``s * j``
  (:func:`feature_grid_coords`): where a ResNet's padded, odd-kernel convolutions put it (the
  stem's 7x7 / 2 with padding 3 centres output k on input 2k, the max-pool and every stride-2
  block double that, and dilated stride-1 stages keep it). The half-pixel convention of
  ``F.interpolate(..., align_corners=False)``, ``(j + 0.5) * s - 0.5``, describes a map that
  averages each s x s block; on a ResNet it is (s - 1) / 2 px off (3.5 px at stride 8), and
  the error does not cancel between two views of different scale or flip (a flipped pair at
  stride 8 was paired 7 px, 0.9 cell, apart).
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
    if (flow.shape[1] != 2 or flow.shape[-2:] != target.shape[-2:]
            or flow.shape[0] != target.shape[0]):
        raise ValueError(f'flow of shape {tuple(flow.shape)} does not match target '
                         f'{tuple(target.shape)}: expected (N, 2, H, W) with the same N, H, W')
    n, _, h, w = flow.shape
    coords = coords_grid(n, h, w, device=flow.device, dtype=flow.dtype) + flow
    return sample_at(target, coords, mode=mode)


def forward_backward_consistency(flow_fw, flow_bw, alpha1=0.01, alpha2=0.5):
    """Pixels of the source frame whose forward flow is confirmed by the backward flow.

    The standard check (Sundaram et al. 2010; used by FlowE, sec. 3.3): pixel ``p`` is kept when
    ``|F_fw(p) + F_bw(p + F_fw(p))|^2 < alpha1 * (|F_fw(p)|^2 + |F_bw(p + F_fw(p))|^2) + alpha2``
    and ``p + F_fw(p)`` lies inside the target frame. Occluded and out-of-view pixels fail it.

    Args:
        flow_fw (Tensor): (N, 2, H, W) flow source -> target.
        flow_bw (Tensor): (N, 2, H, W) flow target -> source.

    Returns:
        Tensor: (N, 1, H, W) bool, True where the correspondence is valid.
    """
    bw_at_target, inside = flow_warp(flow_bw, flow_fw)
    diff = (flow_fw + bw_at_target).pow(2).sum(1, keepdim=True)
    mag = flow_fw.pow(2).sum(1, keepdim=True) + bw_at_target.pow(2).sum(1, keepdim=True)
    return (diff < alpha1 * mag + alpha2) & inside


def feature_grid_coords(n, h, w, stride, device=None, dtype=torch.float32):
    """Image-pixel coordinates ``(N, 2, h, w)`` of the centres of an ``h x w`` feature map.

    ``stride`` is a number or ``(stride_y, stride_x)``; ``x = j * stride_x``: where a ResNet
    centres cell ``j`` (see the module docstring; ``tests/test_geometry.py`` measures it on the
    benchmark's encoders). At stride 1 it is the pixel grid.
    """
    sy, sx = stride if isinstance(stride, (tuple, list)) else (stride, stride)
    grid = coords_grid(n, h, w, device=device, dtype=dtype)
    scale = torch.tensor([sx, sy], device=device, dtype=dtype).view(1, 2, 1, 1)
    return grid * scale


def stride_ratio(shape, size):
    """The stride ratio of a map of ``shape`` (h, w) to one of ``size`` (H, W) made by the same
    network: the smallest power of two ``f`` with ``ceil(H / f) == h`` and ``ceil(W / f) == w``,
    as a ResNet's strided convolutions and pooling give (``round(H / h)`` is wrong for small
    maps of inputs not divisible by the stride: 7 for a 3-row stride-8 map of 20 rows).

    Raises:
        ValueError: no power of two relates the two sizes.
    """
    (h, w), (H, W) = (int(v) for v in shape), (int(v) for v in size)
    f = 1
    while True:
        if -(-H // f) == h and -(-W // f) == w:
            return f
        if f >= max(H, W):
            raise ValueError(f'stride_ratio: a {h}x{w} map is not a power-of-two stride of '
                             f'{H}x{W} (ceil(H / f) == h for no f); pass the factor explicitly')
        f *= 2


def upsample_cells(x, factor=None, size=None):
    """Upsample a feature map by an integer ``factor`` keeping every cell where the grid
    convention puts it: output cell ``i`` of the finer map (stride ``s / factor``, pixel
    ``i * s / factor``) is the bilinear value of the input at cell ``i / factor`` (pixel
    ``i * s / factor`` too). Cells past the last input cell take the last cell's value.

    ``F.interpolate(..., align_corners=False)`` samples ``(i + 0.5) / factor - 0.5`` instead, a
    shift of ``(factor - 1) / (2 factor)`` input cell towards the top-left (half a cell at
    stride 2, 3.5 px at stride 8 to 1); nearest 2x shifts half the cells by half an input cell.
    Summed over an FPN's or a hypercolumn's levels the shifts put a cell's content 1-7 px before
    where :func:`feature_grid_coords` places it, so two views of different scale or flip are
    paired off by up to a cell.

    Args:
        x (Tensor): (N, C, h, w).
        factor (int, optional): the stride ratio of the input to the output map; by default
            inferred from ``size`` (:func:`stride_ratio`).
        size (tuple, optional): (H, W) of the output, at most ``factor * (h, w)``; a ResNet's
            map of an input not divisible by its stride keeps its first ``H`` rows. One of
            ``factor`` and ``size`` is needed.

    Returns:
        Tensor: (N, C, H, W), by default ``(factor * h, factor * w)``.
    """
    h, w = x.shape[-2:]
    if factor is None:
        if size is None:
            raise ValueError('upsample_cells: give the factor or the output size')
        factor = stride_ratio((h, w), size)
    factor = int(factor)
    full = (factor * h, factor * w)
    size = full if size is None else tuple(int(v) for v in size)
    if factor < 1 or size[0] > full[0] or size[1] > full[1]:
        raise ValueError(f'upsample_cells: cannot bring a {h}x{w} map to {size[0]}x{size[1]} '
                         f'by a factor of {factor}')
    if factor == 1:
        return x[..., :size[0], :size[1]]
    # align_corners=True maps output k of (factor * h + 1) rows to input k / factor of the
    # (h + 1) rows of the map padded by one replicated row / column at the bottom / right
    padded = F.pad(x, (0, 1, 0, 1), mode='replicate')
    out = F.interpolate(padded, size=(full[0] + 1, full[1] + 1), mode='bilinear',
                        align_corners=True)
    return out[..., :size[0], :size[1]]


def pixel_to_grid(coords, stride, dim=1):
    """Image-pixel coordinates -> coordinates on a stride-``stride`` feature grid, the inverse of
    :func:`feature_grid_coords`: ``x_f = x / stride_x``, same for y.

    Args:
        coords (Tensor): pixel coordinates with (x, y) along ``dim``, e.g. (N, 2, h, w) or (2, M).
        stride: a number or ``(stride_y, stride_x)``.
        dim (int): the dimension holding (x, y).

    Returns:
        Tensor: the same shape, in feature-grid units (for :func:`sample_at`).
    """
    sy, sx = stride if isinstance(stride, (tuple, list)) else (stride, stride)
    x, y = coords.unbind(dim)
    return torch.stack([x / sx, y / sy], dim)


def view_correspondence(query, affine_src, affine_tgt, flow=None, flow_valid=None,
                        tgt_size=None, frame_size=None):
    """Map view-pixel coordinates of the source view to the target view through the raw frames.

    The composed transform of FlowE (Algorithm 1): ``T = A_tgt . F . A_src^-1``, i.e. a view-1
    pixel ``v`` goes back to frame 1 (``p = A_src^-1 v``), follows the flow to frame 2
    (``p + F(p)``), and forward into view 2 (``A_tgt (p + F(p))``).

    Args:
        query (Tensor): (N, 2, h, w) pixel coordinates in the source view.
        affine_src, affine_tgt (Tensor): (N, 3, 3) (or (N, 2, 3)) frame -> view affines.
        flow (Tensor, optional): (N, 2, Hf, Wf) flow frame 1 -> frame 2, in frame-1 pixels.
            None means identity correspondence (the same frame, or the no-flow ablation).
        flow_valid (Tensor, optional): (N, 1, Hf, Wf) bool validity of ``flow`` (e.g. from
            :func:`forward_backward_consistency`); sampled with nearest neighbours.
        tgt_size (tuple, optional): (H, W) of the target view, to flag coordinates outside it.
        frame_size (tuple, optional): (H, W) of frame 1, to flag view pixels that show no part
            of it (padding after a zoom-out / rotation) when ``flow`` is None; with a flow, its
            own extent is used.

    Returns:
        tuple: ``(coords (N, 2, h, w), valid (N, 1, h, w) bool)``, ``coords`` in target-view
        pixels; ``valid`` is False where the point leaves frame 1 (no flow there), is invalid in
        ``flow_valid``, or falls outside the target view.
    """
    n, _, h, w = query.shape
    dt = query.dtype
    a_src = to_homogeneous(affine_src).to(dt)
    a_tgt = to_homogeneous(affine_tgt).to(dt)
    ones = torch.ones_like(query[:, :1])
    pts = torch.cat([query, ones], 1).flatten(2)  # (N, 3, h*w)
    frame_pts = (torch.linalg.inv(a_src) @ pts)[:, :2].view(n, 2, h, w)
    valid = torch.ones(n, 1, h, w, dtype=torch.bool, device=query.device)
    if flow is not None:
        f, inside = sample_at(flow.to(dt), frame_pts)
        valid &= inside
        if flow_valid is not None:
            fv, _ = sample_at(flow_valid.to(dt), frame_pts, mode='nearest')
            valid &= fv > 0.5
        frame_pts = frame_pts + f
    elif frame_size is not None:
        fh, fw = frame_size
        valid &= ((frame_pts[:, :1] >= 0) & (frame_pts[:, :1] <= fw - 1)
                  & (frame_pts[:, 1:] >= 0) & (frame_pts[:, 1:] <= fh - 1))
    tgt = (a_tgt @ torch.cat([frame_pts, ones], 1).flatten(2))[:, :2].view(n, 2, h, w)
    if tgt_size is not None:
        th, tw = tgt_size
        valid &= ((tgt[:, :1] >= 0) & (tgt[:, :1] <= tw - 1) & (tgt[:, 1:] >= 0)
                  & (tgt[:, 1:] <= th - 1))
    return tgt, valid
