"""Every pair pipeline in configs/, and every pretraining run of the learning benchmark (its demo
configs with crops fitted to its world, ``tools/benchmark/learning.py``), puts one scene point at
the two positions its model pairs.

Issue 15 items 2-3. Each train pipeline is read from its config (mmengine ``Config``), with its
photometric transforms removed (they move no pixel, and would scramble the code below) and its
loaders replaced by a synthetic frame whose pixels carry their scene coordinates: pixel
``(x, y)`` of frame 1 holds ``(x, y, 1)`` (float32; the third channel is 0 in padding). Frame 2
is frame 1 moved by ``SHIFT`` (with the exact forward / backward flow) when the pipeline loads
a flow, and the same frame (a static scene) otherwise. The pipeline's output then goes through
the code that gives the model its targets:

* CACL: the same feature-grid position of both views (same-position pixel positives and the
  soft-cycle target);
* VADeR: ``VADeR.match`` (view-1 grid cell -> view-2 grid location);
* FlowE: ``FlowE._flow_and_validity`` and ``FlowE.warp_target`` (the target it regresses at
  every valid view-1 location); a model with an online flow network gets a perfect one
  (``_OracleFlow``) in place of RAFT, whose weights are not here;
* HierGroup: the region maps ``PackUCMInputs`` warps into the views and ``sample_region_pairs``
  (anchor / positive pixels, whose regions' tree distance weights the pair).

Every positive must show the same scene point within ``TOL`` frame pixels (HierGroup: every
pixel's region label must be the region of the scene point it shows; FlowE's ``'identity'``
correspondence, the no-flow ablation, pairs the same frame position by design, so in a moving
pair its positives must be ``SHIFT`` apart in the scene), in every one of ``DRAWS``
random draws (4 for 512x512 views), so a per-view flip (wrong for half of the draws) or two
independent crops fail. Models whose positives are whole images (MoCo, Triplet-Siamese, FlowE's
non-pixel row) and VADeR's "unmatched" ablation (random positives by design) are skipped with
their reason; a pair pipeline of any other model type fails until it gets a check here.
"""
import copy
import glob
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmdense  # noqa: F401
from mmdense.models.utils.region_pairs import sample_region_pairs
from mmdense.registry import MODELS
from mmdense.structures.geometry import coords_grid, feature_grid_coords, sample_at

from helpers import benchmark_pretrain_config, pipeline_transforms

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
FRAME = (120, 160)  # (H, W) of the synthetic frames
SHIFT = (5., -3.)  # (dx, dy): frame 2 = frame 1 moved by this, in pipelines that load a flow
REGION = (30, 40)  # HierGroup: the frame's region map is a grid of 30 x 40 blocks
DRAWS = 20
TOL = 1.0  # frame pixels
# content weight under which a position shows padding, not the frame (a point on the frame's
# edge reads about 0.5: the view's bilinear resampling blends it with the zero border)
PAD = 0.1

PHOTOMETRIC = {'ColorJitter', 'RandomGrayscale', 'GaussianBlur', 'Solarize', 'RandomSolarize'}
# (RandomUCM: the random region tree of HierGroup's "random-regions" ablation; its maps are
# warped into the views as LoadUCM's are, so the synthetic region map stands in for both)
LOADERS = {'LoadImageFromFile', 'LoadFlow', 'ComputeFlow', 'LoadUCM', 'RandomUCM'}
PAIR_TYPES = {'FramePairToViews', 'CorrespondingViews', 'DuplicateAsPair', 'PairRandomFlip',
              'PairRandomResizedBoxCrop', 'PairRandomResizedCrop'}
IMAGE_LEVEL = {
    'MoCo': 'MoCo-v2 baseline: the positive is the other whole view (image-level InfoNCE)',
    'TripletSiamese': 'Transitive invariance: image-level ranking of two patches',
}


# ---------------------------------------------------------------------- configs -> cases
def _types(pipeline):
    return (t['type'] for t in pipeline_transforms(pipeline))


def _is_photometric(t):
    if t['type'] == 'RandomApply':
        return all(_is_photometric(c) for c in t['transforms'])
    return t['type'] in PHOTOMETRIC


def _geometry_only(pipeline):
    out = []
    for t in pipeline:
        if t['type'] in LOADERS or _is_photometric(t):
            continue
        t = copy.deepcopy(t)
        for key in ('transforms', 'geometric', 'appearance'):
            if isinstance(t.get(key), (list, tuple)):
                t[key] = _geometry_only(t[key])
        out.append(t)
    return out


def _datasets(ds):
    if 'datasets' in ds:
        for d in ds['datasets']:
            yield from _datasets(d)
    elif 'dataset' in ds:
        yield from _datasets(ds['dataset'])
    else:
        yield ds


def _benchmark_configs():
    """(name, config) of every pretraining run of the learning benchmark
    (``tools/benchmark/learning.py``): the demo configs with their crops fitted to the
    benchmark world's frames (64x64 of 96x128) and their variants' model overrides."""
    import sys
    import tempfile
    sys.path.insert(0, osp.join(REPO, 'tools', 'benchmark'))
    import learning
    with tempfile.TemporaryDirectory() as root:
        for (method, variant), (config, _, _) in sorted(learning.RUNS.items()):
            if config is None or method == 'supervised':
                continue
            cfg = benchmark_pretrain_config(method, variant, root,
                                            init='moco.pth')  # (moco-init's start)
            yield f'tools/benchmark/learning.py:{method}-{variant}', cfg


def _collect():
    cases = {}
    paths = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
                   if '_base_' not in p and f'{osp.sep}readout{osp.sep}' not in p)
    configs = [(osp.relpath(p, REPO), Config.fromfile(p)) for p in paths]
    for path, cfg in configs + list(_benchmark_configs()):
        cfg = cfg.to_dict()
        if 'train_dataloader' not in cfg or 'model' not in cfg:
            continue
        for ds in _datasets(cfg['train_dataloader']['dataset']):
            pipeline = ds.get('pipeline', [])
            if not set(_types(pipeline)) & PAIR_TYPES:
                continue
            model = cfg['model']
            moving = bool({'LoadFlow', 'ComputeFlow'} & set(_types(pipeline))) or (
                model.get('flow_net') is not None and model.get('correspondence') == 'flow')
            geo = _geometry_only(pipeline)
            key = json.dumps([geo, model['type'], moving, ds.get('type'),
                              {k: model.get(k) for k in ('pixel', 'correspondence', 'matching',
                                                         'occlusion', 'resolution', 'flow_net')}],
                             sort_keys=True, default=str)
            case = cases.setdefault(key, dict(configs=[], pipeline=geo, model=model,
                                              moving=moving, pair=ds.get('type') in (
                                                  'FramePairDataset', 'TransitivePairDataset')))
            case['configs'].append(path)
    return list(cases.values())


CASES = _collect()


def _case_id(case):
    first = case['configs'][0]
    name = first.replace('tools/benchmark/', '') if ':' in first else \
        osp.splitext(osp.basename(first))[0]
    return name + (f'+{len(case["configs"]) - 1}' if len(case['configs']) > 1 else '')


# ---------------------------------------------------------------------- synthetic scene
def _frame_size(case):
    """``FRAME``, or larger where a ``PairRandomResizedCrop`` (no ``short_side``) would pad it:
    real frames fill the crop (Cityscapes 1024x2048 for 512x512 at scale >= 0.5)."""
    h, w = FRAME
    for t in case['pipeline']:
        if t['type'] == 'PairRandomResizedCrop' and not t.get('short_side'):
            lo = min(t.get('scale_range', (1., 1.)))
            h = max(h, int(np.ceil(t['crop_size'][0] / lo)) + 1)
            w = max(w, int(np.ceil(t['crop_size'][1] / lo)) + 1)
    return h, w


def _draws(case):
    """Fewer draws for 512x512 views (FlowE's paper setting: every draw is 262k locations)."""
    for t in case['pipeline']:
        if max(t.get('crop_size', (0, ))) >= 512:
            return 4
    return DRAWS


def _inputs(case):
    h, w = _frame_size(case)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ones = np.ones_like(xs)
    dx, dy = SHIFT if case['moving'] else (0., 0.)
    results = dict(img=np.stack([xs, ys, ones], -1), img_path='synthetic.png',
                   ori_shape=(h, w), sample_idx=0)
    if case['pair']:
        results['img2'] = np.stack([xs - dx, ys - dy, ones], -1)
    if case['moving']:
        results['flow_fw'] = np.broadcast_to(np.float32([dx, dy]), (h, w, 2)).copy()
        results['flow_bw'] = -results['flow_fw']
    if case['model']['type'] == 'HierGroup':
        results['ucm_labels'] = _true_region(xs, ys).astype(np.int64)
        m = int(results['ucm_labels'].max()) + 1
        idx = np.arange(m, dtype=np.float32)
        results['ucm_dist'] = np.abs(idx[:, None] - idx[None]) / m
    return results


def _true_region(x, y):
    cols = FRAME[1] // REGION[1]
    return (np.floor(y / REGION[0]) * cols + np.floor(x / REGION[1])).astype(np.int64)


def _near_region_border(x, y, margin=1.5):
    def near(v, step, n):
        r = np.mod(v, step)
        inner = (v > margin) & (v < step * n - margin)  # the frame edge is no region border
        return ((r < margin) | (r > step - margin)) & inner
    return near(x, REGION[1], FRAME[1] // REGION[1]) | near(y, REGION[0], FRAME[0] // REGION[0])


def _scene_at(view, pts):
    """Scene points (2, M) shown by ``view`` (3, H, W) at view pixels ``pts`` (2, M), and the
    content weight (M,) (1 inside the frame, 0 in padding)."""
    vals, _ = sample_at(view[None].double(), pts.double().view(1, 2, 1, -1))
    vals = vals[0, :, 0]
    content = vals[2]
    return vals[:2] / content.clamp_min(1e-6), content


def _grid_to_pixel(grid, stride):
    """Feature-grid (x, y) -> view pixels, cell j at ``stride * j`` (the convention of
    ``feature_grid_coords``, which tests/test_geometry.py measures on the encoders)."""
    sy, sx = stride
    return torch.stack([grid[0] * sx, grid[1] * sy])


# ---------------------------------------------------------------------- per-model targets
# Each returns, per positive pair, the distance (frame px) between the two scene points the model
# pairs, and whether either side shows padding instead of the frame.
def _point_errors(p1, p2):
    (s1, c1), (s2, c2) = p1, p2
    padding = (c1 < PAD) | (c2 < PAD)
    return (s1 - s2).norm(dim=0).masked_fill(padding, 0.), padding


def _cacl_positives(case, packed, model):
    """Same-position positives on the stride-``shuffle_stride`` grid (pixel head's
    'same_position', the soft-cycle target)."""
    v1, v2 = packed['inputs']
    stride = case['model'].get('shuffle_stride', 8)
    h, w = v1.shape[-2] // stride, v1.shape[-1] // stride
    pts = feature_grid_coords(1, h, w, stride, dtype=torch.float64).flatten(2)[0]
    return _point_errors(_scene_at(v1, pts), _scene_at(v2, pts))


def _vader_positives(case, packed, model):
    v1, v2 = packed['inputs']
    view = v1.shape[-2:]
    feat = (view[0] // 4, view[1] // 4)
    stride = (view[0] / feat[0], view[1] / feat[1])
    idx, coords = model.match([packed['data_samples']], view, feat)
    q = feature_grid_coords(1, *feat, stride, dtype=torch.float64).flatten(2)[0][:, idx[0]]
    k = _grid_to_pixel(coords[0, :, 0].double(), stride)
    return _point_errors(_scene_at(v1, q), _scene_at(v2, k))


def _flowe_positives(case, packed, model):
    """The target FlowE regresses at each valid view-1 location: view 2's map warped by
    ``warp_target`` through the affines and the flow the model uses. View 2 itself (its code, at
    view resolution) stands for the target projection, so every view pixel is a location.

    The ``'identity'`` correspondence (the no-flow ablation) pairs the same *frame* position of
    the two frames by design, whatever moved: in a moving pair its positives must be ``SHIFT``
    apart in the scene, so the check compares frame positions there."""
    v1, v2 = (v[None].float() for v in packed['inputs'])
    ds = [packed['data_samples']]
    view = tuple(v1.shape[-2:])
    a1 = model._stack(ds, 'affine_v1').float()
    a2 = model._stack(ds, 'affine_v2').float()
    (fw, _), (valid_fw, _) = model._flow_and_validity(ds, torch.device('cpu'))
    frame = tuple(fw.shape[-2:]) if fw is not None else tuple(ds[0].get('frame_shape', view))
    warped, valid = model.warp_target(v2, view, a1, a2, fw, valid_fw, frame)
    valid = valid[0, 0].flatten()
    assert valid.any(), 'FlowE found no valid location in a synthetic pair'
    pts = feature_grid_coords(1, *view, 1, dtype=torch.float64).flatten(2)[0][:, valid]
    tgt = warped[0].flatten(1)[:, valid].double()
    tgt_at = tgt[:2] / tgt[2].clamp_min(1e-6)
    if model.correspondence == 'identity' and case['moving']:
        tgt_at = tgt_at + tgt_at.new_tensor(SHIFT)[:, None]  # frame 2's scene -> frame position
    return _point_errors(_scene_at(v1[0], pts), (tgt_at, tgt[2]))


def _hiergroup_positives(case, packed, model):
    """HierGroup's positives are regions near the anchor's in the tree (eq. 2), drawn by
    ``sample_region_pairs`` from the region maps ``PackUCMInputs`` warps into the views. Every
    view pixel's region label must be the region of the scene point it shows (so the tree
    distance of a pair is the scene's); returned per anchor / positive pair: 1000 where the label
    of either pixel is not its scene point's region, else 0."""
    ds = packed['data_samples']
    views = packed['inputs']
    labels = [ds.get(f'ucm_labels_v{i + 1}').numpy() for i in range(2)]
    h, w = views[0].shape[-2:]
    pts = feature_grid_coords(1, h, w, 1, dtype=torch.float64).flatten(2)[0]
    wrong, content = [], []
    for view, lab in zip(views, labels):
        xy, c = _scene_at(view, pts)
        x, y = xy.numpy()
        sure = (c.numpy() > 0.999) & ~_near_region_border(x, y)
        wrong.append((lab.flatten() != _true_region(x, y)) & sure)
        content.append(c)
        assert not wrong[-1].any(), f'{wrong[-1].sum()} view pixels labelled with another region'
    m = case['model']
    a, p, _ = sample_region_pairs(labels, ds.get('ucm_dist').numpy(), m.get('num_regions', 7),
                                  m.get('num_pos', 10), m.get('num_neg', 5), m.get('sigma', 0.8),
                                  np.random.default_rng(int(np.random.randint(2**31))))
    anchors = np.repeat(a[:, None], p.shape[1], 1).reshape(-1, 2)
    pos = p.reshape(-1, 2)
    bad = np.array([wrong[v][i] for v, i in anchors]) | np.array([wrong[v][i] for v, i in pos])
    pad = torch.stack([content[v][i] for v, i in anchors]).lt(PAD) | torch.stack(
        [content[v][i] for v, i in pos]).lt(PAD)
    return torch.as_tensor(bad * 1000.), pad


CHECKS = dict(CACL=_cacl_positives, VADeR=_vader_positives, FlowE=_flowe_positives,
              HierGroup=_hiergroup_positives)


def _skip_reason(model):
    if model['type'] in IMAGE_LEVEL:
        return IMAGE_LEVEL[model['type']]
    if model['type'] == 'FlowE' and not model.get('pixel', True):
        return 'FlowE non-pixel row: BYOL on pooled views (image-level)'
    if model['type'] == 'VADeR' and model.get('matching') == 'random':
        return "VADeR Table 3 'unmatched': random positives by design"
    return None


def _inputs_packed(pipeline, case):
    packed = pipeline(_inputs(case))
    assert packed is not None, f'{case["configs"]}: the pipeline dropped the synthetic sample'
    return packed


class _OracleFlow(torch.nn.Module):
    """A perfect flow network for the synthetic frames (stands in for FlowE's frozen RAFT,
    ``model.flow_net``): both frames hold linear scene-coordinate codes, so the exact flow of a
    frame-1 pixel is where frame 2 shows its scene point."""

    def forward_backward(self, img1, img2):
        return self._flow(img1, img2), self._flow(img2, img1)

    @staticmethod
    def _flow(a, b):
        n, _, h, w = a.shape
        a, b = a.double(), b.double()
        cx = int((b[..., :, 1:] - b[..., :, :-1]).abs().mean((0, 2, 3)).argmax())  # x channel
        cy = int((b[..., 1:, :] - b[..., :-1, :]).abs().mean((0, 2, 3)).argmax())  # y channel
        cz = 3 - cx - cy  # the content channel: 1 on the frame, 0 on crop padding
        xs, ys = coords_grid(n, h, w, dtype=torch.float64).unbind(1)
        flows = []
        for i in range(n):  # b's code on its content: X = ax * x + bx, Y = ay * y + by
            on = b[i, cz, 1:-1:3, 1:-1:3] > 0.999  # a sample of the content, off the borders
            fit = []
            for c, pos in ((cx, xs[i]), (cy, ys[i])):
                pos = pos[1:-1:3, 1:-1:3][on]
                design = torch.stack([pos, torch.ones_like(pos)], 1)
                val = b[i, c, 1:-1:3, 1:-1:3][on][:, None]
                fit.append(torch.linalg.lstsq(design, val).solution[:, 0])
            (ax, bx), (ay, by) = fit
            content = a[i, cz].clamp_min(1e-6)  # a's scene point, unblended at the frame edge
            flow = torch.stack([(a[i, cx] / content - bx) / ax - xs[i],
                                (a[i, cy] / content - by) / ay - ys[i]])
            # crop padding shows no scene point: its flow leaves the frame (no correspondence)
            flows.append(flow.masked_fill(a[i, cz] < 0.5, 1e4))
        return torch.stack(flows).float()


def _build_model(cfg):
    cfg = copy.deepcopy(cfg)
    if cfg.get('flow_net') is not None:  # no RAFT weights here: the exact flow instead
        cfg['flow_net'] = _OracleFlow()
    return MODELS.build(cfg)


def _run_case(case, draws=None):
    """Max scene distance (frame px) of each draw's positives, and how many positives landed
    on padding."""
    init_default_scope('mmdense')
    model = None
    if case['model']['type'] in ('VADeR', 'FlowE'):
        model = _build_model(case['model'])
    pipeline = Compose(copy.deepcopy(case['pipeline']))
    np.random.seed(0)
    torch.manual_seed(0)
    errors, padding = [], 0
    for _ in range(draws or _draws(case)):
        err, pad = CHECKS[case['model']['type']](case, _inputs_packed(pipeline, case), model)
        padding += int(pad.sum())
        errors.append(float(err.max()) if err.numel() else 0.)
    return np.array(errors), padding


def test_every_method_with_dense_positives_is_covered():
    covered = {c['model']['type'] for c in CASES}
    assert {'CACL', 'VADeR', 'FlowE', 'HierGroup'} <= covered
    names = {osp.basename(p) for c in CASES for p in c['configs']}
    for cfg in ('cacl_resnet18-d8_16xb32-200e_kinetics400.py',
                'cacl_resnet50-d8_16xb32-200e_in1k.py',
                'cacl_resnet18-d8_1xb8-300iters_demo-world.py',
                'vader_resnet50-fpn_4xb32-6m-iters_in1k.py',
                'flowe_resnet50-d8_64xb2-lars-60k_bdd100k.py'):
        assert cfg in names
    # every pretraining run of the learning benchmark, with its crops fitted to its world
    runs = {name for name, _ in _benchmark_configs()}
    assert 'tools/benchmark/learning.py:flowe-no-flow' in runs and len(runs) >= 9
    assert runs <= {p for c in CASES for p in c['configs']}


@pytest.mark.parametrize('case', CASES, ids=[_case_id(c) for c in CASES])
def test_pair_pipeline_positives_show_one_scene_point(case):
    reason = _skip_reason(case['model'])
    if reason:
        pytest.skip(reason)
    if case['model']['type'] not in CHECKS:
        pytest.fail(f'{case["configs"]}: a pair pipeline for model type '
                    f'{case["model"]["type"]} with no geometry check in {__file__}; add one')
    errors, padding = _run_case(case)
    bad = errors > TOL
    assert not bad.any(), (
        f'{case["configs"]}: in {bad.sum()} of {len(errors)} draws the positives show different '
        f'scene points (worst {errors.max():.1f} frame px)')
    assert padding == 0, f'{case["configs"]}: {padding} positives fall on padding'
