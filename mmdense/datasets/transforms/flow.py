"""Geometry-keeping transforms for frame pairs with optical flow (FlowE's data layer).

Pipeline of a FlowE config::

    LoadFlow | ComputeFlow           -> flow_fw, flow_bw (Hf, Wf, 2) between img and img2
    PairRandomResizedCrop            -> same scale + crop location for both frames and flows
    FramePairToViews(transforms=[RandomAffineView, colour, blur])
                                     -> img = [view1, view2], affine_v1 / affine_v2 (3, 3)
    PackFlowInputs                   -> inputs [v1, v2], data samples with flows + affines

The frames after ``PairRandomResizedCrop`` are "the frames" of the algorithm: flows are in their
pixels and each view's affine maps them to that view (see
:func:`mmdense.structures.view_correspondence`).
"""
import os
import os.path as osp

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpretrain.datasets.transforms import PackInputs

from mmdense.registry import TRANSFORMS

FLOW_KEYS = ('flow_fw', 'flow_bw')
VALID_KEYS = ('flow_valid_fw', 'flow_valid_bw')


def read_flow(path, expected_shape=None):
    """Read a ``.flo`` (Middlebury) or KITTI 16-bit ``.png`` flow file -> (H, W, 2) float32.

    Raises:
        FileNotFoundError / ValueError: naming the file, what is wrong and how to fix it.
    """
    if not osp.exists(path):
        raise FileNotFoundError(f'flow file {path} is missing: precompute the cache with '
                                'tools/flow/compute_flow.py, or use ComputeFlow in the pipeline')
    if path.endswith('.png'):
        raw = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if raw is None or raw.ndim != 3 or raw.dtype != np.uint16:
            raise ValueError(f'{path} is not a KITTI 16-bit flow PNG; recompute it')
        raw = raw[..., ::-1].astype(np.float32)  # BGR -> (u, v, valid)
        flow = (raw[..., :2] - 2**15) / 64.0
        flow[raw[..., 2] == 0] = np.nan
    else:
        flow = cv2.readOpticalFlow(path)
        if flow is None:
            raise ValueError(f'cannot read flow file {path} (corrupt or truncated); delete it and '
                             'rerun tools/flow/compute_flow.py, which recomputes missing files')
    if expected_shape is not None and flow.shape[:2] != tuple(expected_shape):
        raise ValueError(f'flow {path} is {flow.shape[1]}x{flow.shape[0]} but its frames are '
                         f'{expected_shape[1]}x{expected_shape[0]}: the cache was computed at '
                         'another resolution; recompute it (tools/flow/compute_flow.py --force)')
    if not np.isfinite(flow).all():
        raise ValueError(f'flow {path} holds NaN/Inf values; recompute it')
    return flow.astype(np.float32)


def write_flow(path, flow):
    """Write (H, W, 2) flow as ``.flo`` or KITTI 16-bit ``.png`` (by extension), atomically."""
    tmp = osp.join(osp.dirname(path), f'.{osp.basename(path)}.tmp{osp.splitext(path)[1]}')
    if path.endswith('.png'):
        enc = np.empty(flow.shape[:2] + (3, ), np.uint16)
        enc[..., :2] = np.clip(flow * 64.0 + 2**15, 0, 2**16 - 1).round()
        enc[..., 2] = 1
        ok = cv2.imwrite(tmp, enc[..., ::-1])
    else:
        ok = cv2.writeOpticalFlow(tmp, flow.astype(np.float32))
    if not ok:
        raise OSError(f'could not write {path}')
    os.replace(tmp, path)


@TRANSFORMS.register_module()
class LoadFlow(BaseTransform):
    """Read cached forward / backward flow of the pair ``(t1, t2)`` of a source.

    ``template`` is formatted with ``source`` (relative path under the data root),
    ``source_name`` (its last component), ``t1``, ``t2`` and ``direction`` (``fw`` = t1 -> t2,
    ``bw`` = t2 -> t1). The default matches ``tools/flow/compute_flow.py``; the demo world's exact
    flow (consecutive frames only) is ``'flow_{direction}/{source_name}/{t1:05d}.flo'``.

    ``flow_root=None`` reads the flows under the dataset's ``data_root`` (e.g. the demo world).

    Required keys: ``img``, ``source``, ``frame_ids``. Added keys: ``flow_fw``, ``flow_bw``
    (H, W, 2) float32 and, with ``valid_template``, ``flow_valid_fw`` / ``flow_valid_bw``
    (H, W) bool.
    """

    def __init__(self, flow_root=None, template='{source}/{t1:06d}_{t2:06d}_{direction}.flo',
                 valid_template=None):
        self.flow_root = flow_root
        self.template = template
        self.valid_template = valid_template

    def _path(self, template, results, direction):
        t1, t2 = results['frame_ids']
        if t2 < t1:  # the pair was drawn in reverse order: swap the cached directions
            t1, t2 = t2, t1
            direction = 'bw' if direction == 'fw' else 'fw'
        src = results['source']
        root = self.flow_root if self.flow_root is not None else results['data_root']
        return osp.join(root, template.format(
            source=src, source_name=osp.basename(src.rstrip('/')), t1=t1, t2=t2,
            direction=direction))

    def transform(self, results):
        shape = results['img'].shape[:2]
        for key, direction in zip(FLOW_KEYS, ('fw', 'bw')):
            results[key] = read_flow(self._path(self.template, results, direction), shape)
        if self.valid_template:
            for key, direction in zip(VALID_KEYS, ('fw', 'bw')):
                path = self._path(self.valid_template, results, direction)
                mask = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
                if mask is None or mask.shape != shape:
                    raise ValueError(f'validity mask {path} is missing, corrupt or not {shape}')
                results[key] = mask > 0
        return results


@TRANSFORMS.register_module()
class ComputeFlow(BaseTransform):
    """Compute forward and backward flow of the pair online with OpenCV (no weights needed).

    Meant for small runs; large ones precompute with ``tools/flow/compute_flow.py``.

    Args:
        method (str): ``'dis_medium'`` (default; DIS medium preset), ``'dis_fast'``,
            ``'dis_ultrafast'`` or ``'farneback'``.
    """

    def __init__(self, method='dis_medium'):
        from mmdense.datasets.flow_estimators import build_flow_estimator
        self.method = method
        self.estimator = build_flow_estimator(method)

    def transform(self, results):
        a, b = results['img'], results['img2']
        results['flow_fw'] = self.estimator(a, b)
        results['flow_bw'] = self.estimator(b, a)
        return results


def _resize_flow(flow, size):
    """Resize (H, W, 2) flow to ``size`` (h, w), scaling the vectors accordingly."""
    h, w = size
    sy, sx = h / flow.shape[0], w / flow.shape[1]
    out = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= sx
    out[..., 1] *= sy
    return out


@TRANSFORMS.register_module()
class PairRandomResizedCrop(BaseTransform):
    """Resize both frames (and their flows) by one random factor, then crop both at the same
    random location (FlowE sec. 4.2: "randomly scale the image pairs ... and randomly crop a
    patch pair at the same location").

    Flow values are scaled with the frames; the shared crop offset cancels in the flow.

    Args:
        crop_size (tuple): (h, w) of the crop.
        scale_range (tuple): random resize factor range, relative to the frame size.
        short_side (int, optional): first resize so the short side equals this (e.g. the
            paper's upsampling of BDD100K frames), then apply the random factor.

    Required keys: ``img``, ``img2`` and optionally flows / validity masks. Modified: the same.
    """

    def __init__(self, crop_size, scale_range=(1.0, 1.0), short_side=None, pad_val=0):
        self.crop_size = tuple(crop_size)
        self.scale_range = tuple(scale_range)
        self.short_side = short_side
        self.pad_val = pad_val

    def transform(self, results):
        h, w = results['img'].shape[:2]
        if results['img2'].shape[:2] != (h, w):
            raise ValueError(f'the two frames of {results.get("img_path")} differ in size: '
                             f'{(h, w)} vs {results["img2"].shape[:2]}')
        base = self.short_side / min(h, w) if self.short_side else 1.0
        s = base * np.random.uniform(*self.scale_range)
        nh, nw = max(1, int(round(h * s))), max(1, int(round(w * s)))
        ch, cw = self.crop_size
        ph, pw = max(ch - nh, 0), max(cw - nw, 0)
        y0 = np.random.randint(0, max(nh - ch, 0) + 1)
        x0 = np.random.randint(0, max(nw - cw, 0) + 1)

        def fit(arr, interp, pad):
            arr = cv2.resize(arr, (nw, nh), interpolation=interp) if (nh, nw) != (h, w) else arr
            if ph or pw:
                arr = cv2.copyMakeBorder(arr, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=pad)
            return arr[y0:y0 + ch, x0:x0 + cw]

        for key in ('img', 'img2'):
            results[key] = fit(results[key], cv2.INTER_LINEAR, self.pad_val)
        for key in FLOW_KEYS:
            if key in results:
                flow = _resize_flow(results[key], (nh, nw)) if (nh, nw) != (h, w) else \
                    results[key]
                if ph or pw:
                    flow = cv2.copyMakeBorder(flow, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=0)
                results[key] = np.ascontiguousarray(flow[y0:y0 + ch, x0:x0 + cw])
        for key in VALID_KEYS:
            if key in results:
                m = fit(results[key].astype(np.uint8), cv2.INTER_NEAREST, 0)
                results[key] = m > 0
        # padding is not part of the frames: mark it invalid for the flows
        if ph or pw:
            inside = np.zeros((ch, cw), bool)
            inside[:min(nh - y0, ch), :min(nw - x0, cw)] = True
            for key in VALID_KEYS:
                results[key] = results.get(key, np.ones((ch, cw), bool)) & inside
        results['img_shape'] = self.crop_size
        results['frame_shape'] = self.crop_size
        return results


@TRANSFORMS.register_module()
class RandomAffineView(BaseTransform):
    """Per-view random scale and rotation about the centre (FlowE Fig. 3), recorded as a matrix.

    The paper's ranges did not survive in its text; the defaults (scale 0.8-1.25 log-uniform,
    rotation +-20 degrees) are ours, chosen so most pixels keep a correspondence. The output has
    the input's size; the uncovered border is filled with ``pad_val`` and has no correspondence.

    Required keys: ``img``. Modified: ``img``. Added / updated: ``affine`` (3, 3) float64, the
    map from the frame to this view (composed with any earlier ``affine``).

    Args:
        scale_range (tuple): (min, max) zoom; log-uniform. (1, 1) disables scaling.
        rotation_range (tuple): (min, max) degrees. (0, 0) disables rotation.
        flip_prob (float): probability of a horizontal flip (folded into the matrix).
        prob (float): probability of applying any of it (else identity).
    """

    def __init__(self, scale_range=(0.8, 1.25), rotation_range=(-20., 20.), flip_prob=0.,
                 prob=1.0, pad_val=0):
        self.scale_range = tuple(scale_range)
        self.rotation_range = tuple(rotation_range)
        self.flip_prob = flip_prob
        self.prob = prob
        self.pad_val = pad_val

    def sample_matrix(self, h, w):
        if np.random.rand() >= self.prob:
            return np.eye(3)
        lo, hi = np.log(self.scale_range[0]), np.log(self.scale_range[1])
        s = float(np.exp(np.random.uniform(lo, hi)))
        angle = float(np.random.uniform(*self.rotation_range))
        m = np.eye(3)
        m[:2] = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, s)
        if np.random.rand() < self.flip_prob:
            flip = np.array([[-1., 0, w - 1], [0, 1, 0], [0, 0, 1]])
            m = flip @ m
        return m

    def transform(self, results):
        img = results['img']
        h, w = img.shape[:2]
        m = self.sample_matrix(h, w)
        if not np.allclose(m, np.eye(3)):
            results['img'] = cv2.warpAffine(img, m[:2], (w, h), flags=cv2.INTER_LINEAR,
                                            borderMode=cv2.BORDER_CONSTANT,
                                            borderValue=(self.pad_val, ) * 3)
        results['affine'] = m @ results.get('affine', np.eye(3))
        return results


@TRANSFORMS.register_module()
class PackFlowInputs(PackInputs):
    """MMPretrain's ``PackInputs`` plus the geometry FlowE needs in each data sample:
    ``affine_v1`` / ``affine_v2`` (3, 3) float32, ``flow_fw`` / ``flow_bw`` (2, H, W) float32,
    ``flow_valid_fw`` / ``flow_valid_bw`` (1, H, W) bool and ``frame_shape`` when present."""

    def transform(self, results):
        packed = super().transform(results)
        sample = packed['data_samples']
        for key in ('affine_v1', 'affine_v2'):
            sample.set_field(torch.as_tensor(results.get(key, np.eye(3)), dtype=torch.float32),
                             key, field_type='metainfo')
        for key in FLOW_KEYS:
            if key in results:
                sample.set_field(torch.from_numpy(
                    np.ascontiguousarray(results[key].transpose(2, 0, 1))).float(), key,
                    field_type='metainfo')
        for key in VALID_KEYS:
            if key in results:
                sample.set_field(torch.from_numpy(results[key][None].copy()), key,
                                 field_type='metainfo')
        if 'frame_shape' in results:
            sample.set_field(tuple(results['frame_shape']), 'frame_shape',
                             field_type='metainfo')
        return packed
