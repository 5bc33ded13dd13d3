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


class FlowReadError(ValueError):
    """A flow file that is missing, empty, cut short, corrupt, of the wrong size or holding
    NaN / Inf values; the message names the file and the fix."""


_FLO_MAGIC = 202021.25
_FLOW_FIX = ('delete it and rerun tools/flow/compute_flow.py (it recomputes missing files), or '
             'use ComputeFlow in the pipeline')


def _read_flo(path, data):
    """Middlebury ``.flo``: float32 202021.25, int32 width, int32 height, (H, W, 2) float32."""
    if len(data) < 12:
        raise FlowReadError(f'flow file {path} is cut short or corrupt ({len(data)} bytes, no '
                            'header): '
                            f'{_FLOW_FIX}')
    magic = np.frombuffer(data, '<f4', 1)[0]
    w, h = (int(v) for v in np.frombuffer(data, '<i4', 2, 4))
    if magic != _FLO_MAGIC:
        raise FlowReadError(f'{path} is not a .flo flow file (bad magic number {magic!r}): '
                            f'{_FLOW_FIX}')
    if not (0 < w < 1 << 16 and 0 < h < 1 << 16) or len(data) != 12 + 8 * w * h:
        raise FlowReadError(f'flow file {path} is cut short or corrupt (header says {w}x{h}, '
                            f'{12 + 8 * max(w, 0) * max(h, 0)} bytes expected, the file has '
                            f'{len(data)}): {_FLOW_FIX}')
    return np.frombuffer(data, '<f4', 2 * w * h, 12).reshape(h, w, 2).copy(), None


def _read_kitti_png(path, data):
    """KITTI 16-bit PNG: R, G = flow * 64 + 2**15, B = valid (0 / 1)."""
    from ..video_io import FrameReadError, check_image_bytes
    try:
        check_image_bytes(data, path)
    except FrameReadError as e:
        raise FlowReadError(f'{e}'.replace('restore the file from the original data or remove '
                                           'it from the dataset', _FLOW_FIX)) from None
    raw = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.ndim != 3 or raw.shape[2] != 3 or raw.dtype != np.uint16:
        raise FlowReadError(f'{path} is not a KITTI 16-bit 3-channel flow PNG (corrupt, or '
                            f'another kind of PNG): {_FLOW_FIX}')
    raw = raw[..., ::-1].astype(np.float32)  # BGR -> (u, v, valid)
    valid = raw[..., 2] > 0
    flow = (raw[..., :2] - 2**15) / 64.0
    flow[~valid] = 0.0
    return flow, valid


def _read_npz(path, data):
    """``.npz`` with ``flow`` (H, W, 2) and optionally ``valid`` (H, W) bool."""
    import io
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            flow = np.asarray(z['flow'], np.float32)
            valid = np.asarray(z['valid']).astype(bool) if 'valid' in z.files else None
    except KeyError:
        raise FlowReadError(f'flow file {path} has no "flow" array: {_FLOW_FIX}') from None
    except Exception as e:  # zip / zlib / format errors of a cut or corrupt file
        raise FlowReadError(f'flow file {path} is cut short or corrupt ({type(e).__name__}: '
                            f'{e}): {_FLOW_FIX}') from None
    bad_valid = valid is not None and valid.shape != flow.shape[:2]
    if flow.ndim != 3 or flow.shape[2] != 2 or bad_valid:
        raise FlowReadError(f'flow file {path} holds a {flow.shape} flow (valid '
                            f'{None if valid is None else valid.shape}), not (H, W, 2) with an '
                            f'(H, W) mask: {_FLOW_FIX}')
    return flow, valid


def read_flow(path, expected_shape=None, with_valid=False):
    """Read a flow file -> (H, W, 2) float32, checked.

    Formats (by extension): Middlebury ``.flo``, KITTI 16-bit ``.png`` (its third channel is the
    valid mask; invalid pixels get flow 0) and ``.npz`` (``flow`` and optionally ``valid``).

    Args:
        expected_shape (tuple, optional): (H, W) the flow must have (its frames' size).
        with_valid (bool): also return the file's (H, W) bool valid mask (None when the file
            has none: ``.flo``, ``.npz`` without ``valid``).

    Raises:
        FlowReadError: the file is missing, empty, cut short, corrupt, of another size than
            ``expected_shape``, or holds NaN / Inf at a valid pixel -- never silently wrong flow.
    """
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except FileNotFoundError:
        raise FlowReadError(f'flow file {path} is missing: precompute the cache with '
                            'tools/flow/compute_flow.py, or use ComputeFlow in the pipeline'
                            ) from None
    except OSError as e:
        raise FlowReadError(f'cannot read flow file {path} ({e.strerror or e}): '
                            f'{_FLOW_FIX}') from None
    if not data:
        raise FlowReadError(f'flow file {path} is empty (0 bytes): {_FLOW_FIX}')
    ext = osp.splitext(path)[1].lower()
    reader = {'.png': _read_kitti_png, '.npz': _read_npz}.get(ext, _read_flo)
    flow, valid = reader(path, data)
    if expected_shape is not None and flow.shape[:2] != tuple(expected_shape):
        raise FlowReadError(f'flow {path} is {flow.shape[1]}x{flow.shape[0]} but its frames are '
                            f'{expected_shape[1]}x{expected_shape[0]}: the cache was computed at '
                            'another resolution; recompute it (tools/flow/compute_flow.py '
                            '--force)')
    finite = np.isfinite(flow).all(-1)
    if not (finite if valid is None else finite | ~valid).all():
        raise FlowReadError(f'flow {path} holds NaN/Inf values: {_FLOW_FIX}')
    if valid is not None:
        flow = np.where(valid[..., None], flow, 0).astype(np.float32)
    flow = flow.astype(np.float32)
    return (flow, valid) if with_valid else flow


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
        flow_valid = {}
        for key, vkey, direction in zip(FLOW_KEYS, VALID_KEYS, ('fw', 'bw')):
            results[key], flow_valid[vkey] = read_flow(
                self._path(self.template, results, direction), shape, with_valid=True)
            if flow_valid[vkey] is not None:  # e.g. a KITTI PNG's valid channel
                results[vkey] = flow_valid[vkey] & results.get(vkey, True)
        if self.valid_template:
            for key, direction in zip(VALID_KEYS, ('fw', 'bw')):
                path = self._path(self.valid_template, results, direction)
                mask = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
                if mask is None or mask.shape != shape:
                    raise ValueError(f'validity mask {path} is missing, corrupt or not {shape}')
                results[key] = (mask > 0) & (True if flow_valid[key] is None else
                                             flow_valid[key])
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


@TRANSFORMS.register_module()
class KeepFlowFrames(BaseTransform):
    """Keep a copy of the pair's frames for the model's online flow network (FlowE's frozen
    RAFT, ``model.flow_net``), packed by :class:`PackFlowInputs` as ``frames``.

    Place it right after ``PairRandomResizedCrop``: the kept frames are then "the frames" of the
    algorithm (the per-view affines map them to the views), and the flow the model computes
    between them is in their pixels, as a cached flow would be after the same crop.

    Required keys: ``img``, ``img2`` (H, W, 3) BGR uint8. Added: ``flow_frames`` (2, H, W, 3).
    """

    def transform(self, results):
        a, b = results['img'], results['img2']
        if a.shape != b.shape:
            raise ValueError(f'the two frames of {results.get("img_path")} differ in size: '
                             f'{a.shape} vs {b.shape}')
        results['flow_frames'] = np.stack([a, b])  # a copy: later view transforms can't touch it
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
    ``flow_valid_fw`` / ``flow_valid_bw`` (1, H, W) bool, ``frame_shape`` and ``frames``
    (2, 3, H, W) uint8 RGB (from :class:`KeepFlowFrames`) when present."""

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
        if 'flow_frames' in results:  # BGR (2, H, W, 3) -> RGB (2, 3, H, W)
            frames = np.ascontiguousarray(results['flow_frames'][..., ::-1].transpose(0, 3, 1, 2))
            sample.set_field(torch.from_numpy(frames), 'frames', field_type='metainfo')
        return packed
