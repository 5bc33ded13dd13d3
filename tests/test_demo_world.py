import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from mmdense.datasets import generate_demo_world
from mmdense.datasets.demo_world import CLASSES, DEMO_WORLD_VERSION
from mmdense.structures import flow_warp


def _frame(root, clip, t):
    return cv2.imread(osp.join(root, 'frames', clip, f'{t:05d}.png')).astype(np.float32)


def test_layout_and_meta(demo_world):
    meta = json.load(open(osp.join(demo_world, 'meta.json')))
    assert meta['classes'] == list(CLASSES)
    assert len(meta['splits']['train']) == 3 and len(meta['splits']['val']) == 1
    for sub in ('frames', 'sem', 'inst'):
        assert sorted(os.listdir(osp.join(demo_world, sub, 'clip_000'))) == \
            [f'{t:05d}.png' for t in range(5)]
    # consecutive frames under the first frame's name, and (version 3) every pair t1 < t2
    pairs = [f'{a:05d}_{b:05d}' for a in range(5) for b in range(a + 1, 5)]
    for sub, ext in (('flow_fw', '.flo'), ('flow_bw', '.flo'), ('valid_fw', '.png'),
                     ('valid_bw', '.png')):
        assert sorted(os.listdir(osp.join(demo_world, sub, 'clip_000'))) == sorted(
            [f'{t:05d}{ext}' for t in range(4)] + [p + ext for p in pairs])
        for t in range(4):  # the same flow under both names
            a, b = (osp.join(demo_world, sub, 'clip_000', n + ext)
                    for n in (f'{t:05d}', f'{t:05d}_{t + 1:05d}'))
            assert open(a, 'rb').read() == open(b, 'rb').read()
    sem = cv2.imread(osp.join(demo_world, 'sem', 'clip_000', '00000.png'), cv2.IMREAD_UNCHANGED)
    assert sem.shape == (64, 96) and sem.dtype == np.uint8
    assert set(np.unique(sem)) <= set(range(len(CLASSES))) and (sem > 0).any() and (sem == 0).any()
    # no temporary folders left behind
    assert not [d for d in os.listdir(osp.dirname(demo_world)) if d.startswith('.demo_world')]


@pytest.mark.parametrize('interval', [1, 2, 4])
@pytest.mark.parametrize('direction', ['fw', 'bw'])
def test_flow_is_exact(demo_world, direction, interval):
    """Warping the target frame by the stored flow reproduces the source frame on the pixels
    visible in both, and the instance ids agree exactly: for consecutive frames and for frames
    ``interval`` apart (``{t1}_{t2}``, fw = t1 -> t2)."""
    errs, base, motion = [], [], []
    for clip in ('clip_000', 'clip_002'):
        for t in range(5 - interval):
            src_t, tgt_t = (t, t + interval) if direction == 'fw' else (t + interval, t)
            src, tgt = _frame(demo_world, clip, src_t), _frame(demo_world, clip, tgt_t)
            stem = f'{t:05d}' if interval == 1 else f'{t:05d}_{t + interval:05d}'
            flow = cv2.readOpticalFlow(osp.join(demo_world, f'flow_{direction}', clip,
                                                stem + '.flo'))
            valid = cv2.imread(osp.join(demo_world, f'valid_{direction}', clip, stem + '.png'),
                               0) > 0
            assert flow.shape == (64, 96, 2) and valid.mean() > 0.4
            motion.append(np.median(np.hypot(flow[..., 0], flow[..., 1])[valid]))
            warped, inside = flow_warp(torch.from_numpy(tgt).permute(2, 0, 1)[None],
                                       torch.from_numpy(flow).permute(2, 0, 1)[None])
            warped = warped[0].permute(1, 2, 0).numpy()
            assert inside[0, 0].numpy()[valid].all()
            # away from layer boundaries, bilinear resampling is the only error left
            core = cv2.erode(valid.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            errs.append(np.abs(warped - src)[core].mean())
            base.append(np.abs(tgt - src)[core].mean())
            # labels: instance at p in src == instance at round(p + flow) in tgt
            inst_s = cv2.imread(osp.join(demo_world, 'inst', clip, f'{src_t:05d}.png'), 0)
            inst_t = cv2.imread(osp.join(demo_world, 'inst', clip, f'{tgt_t:05d}.png'), 0)
            ys, xs = np.nonzero(valid)
            tx = np.round(xs + flow[ys, xs, 0]).astype(int)
            ty = np.round(ys + flow[ys, xs, 1]).astype(int)
            np.testing.assert_array_equal(inst_s[ys, xs], inst_t[ty, tx])
    assert np.mean(errs) < 2.5, np.mean(errs)
    assert np.mean(errs) < 0.3 * np.mean(base), (np.mean(errs), np.mean(base))
    # frames further apart move further, about in proportion (layers move at constant
    # velocity): what FlowE's demo configs pair frames 4 apart for
    step = [np.median(np.hypot(*cv2.readOpticalFlow(osp.join(
        demo_world, f'flow_{direction}', clip, f'{t:05d}.flo')).transpose(2, 0, 1)))
        for clip in ('clip_000', 'clip_002') for t in range(4)]
    assert 0.8 * interval < np.mean(motion) / np.mean(step) < 1.25 * interval, (motion, step)


def test_deterministic_and_worker_independent(tmp_path):
    a = generate_demo_world(str(tmp_path / 'a'), num_clips=3, frames_per_clip=3, height=48,
                            width=64, val_clips=1, seed=7, verbose=False)
    b = generate_demo_world(str(tmp_path / 'b'), num_clips=3, frames_per_clip=3, height=48,
                            width=64, val_clips=1, seed=7, num_workers=2, verbose=False)
    assert a == b
    for clip in ('clip_000', 'clip_002'):
        for sub, name in (('frames', '00002.png'), ('sem', '00001.png'), ('flow_fw', '00001.flo')):
            with open(tmp_path / 'a' / sub / clip / name, 'rb') as fa, \
                    open(tmp_path / 'b' / sub / clip / name, 'rb') as fb:
                assert fa.read() == fb.read()
    c = generate_demo_world(str(tmp_path / 'c'), num_clips=3, frames_per_clip=3, height=48,
                            width=64, val_clips=1, seed=8, verbose=False)
    assert c['params']['seed'] == 8 and c['params'] != a['params']
    assert not np.array_equal(_frame(str(tmp_path / 'a'), 'clip_000', 0),
                              _frame(str(tmp_path / 'c'), 'clip_000', 0))


def test_reuse_and_refuse_overwrite(tmp_path):
    kw = dict(num_clips=2, frames_per_clip=2, height=32, width=48, val_clips=1, verbose=False)
    out = str(tmp_path / 'w')
    generate_demo_world(out, **kw)
    stamp = os.stat(osp.join(out, 'meta.json')).st_mtime_ns
    generate_demo_world(out, **kw)  # same parameters: reused, not rewritten
    assert os.stat(osp.join(out, 'meta.json')).st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match='other parameters'):
        generate_demo_world(out, **dict(kw, height=40))
    generate_demo_world(out, force=True, **dict(kw, height=40))
    assert cv2.imread(osp.join(out, 'frames', 'clip_000', '00000.png')).shape[0] == 40
    (tmp_path / 'other').mkdir()
    (tmp_path / 'other' / 'x.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='not a demo world'):
        generate_demo_world(str(tmp_path / 'other'), **kw)
    assert (tmp_path / 'other' / 'x.txt').read_text() == 'mine'
    # a world of an older generator version with the same parameters is regenerated
    meta_file = osp.join(out, 'meta.json')
    meta = json.load(open(meta_file))
    meta['params']['version'] = 1
    json.dump(meta, open(meta_file, 'w'))
    generate_demo_world(out, **dict(kw, height=40))
    assert json.load(open(meta_file))['params']['version'] == DEMO_WORLD_VERSION >= 2


def test_stock_mmseg_reads_labels(demo_world):
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    ds = DATASETS.build(dict(type='DemoWorldSegDataset', data_root=demo_world,
                             ann_file='splits/val.txt',
                             pipeline=[dict(type='LoadImageFromFile'),
                                       dict(type='LoadAnnotations'),
                                       dict(type='PackSegInputs')]))
    assert len(ds) == 5
    item = ds[0]
    seg = item['data_samples'].gt_sem_seg.data
    ref = cv2.imread(osp.join(demo_world, 'sem', 'clip_003', '00000.png'), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(seg[0].numpy(), ref)
    assert item['inputs'].shape == (3, 64, 96)


def test_stock_mmdet_reads_instances(demo_world):
    from mmengine.registry import init_default_scope
    from mmdet.registry import DATASETS
    init_default_scope('mmdet')
    ds = DATASETS.build(dict(type='DemoWorldDetDataset', data_root=demo_world,
                             ann_file='annotations/instances_train.json',
                             pipeline=[dict(type='LoadImageFromFile'),
                                       dict(type='LoadAnnotations', with_bbox=True,
                                            with_mask=True),
                                       dict(type='PackDetInputs')]))
    assert len(ds) == 15
    item = ds[0]
    inst = item['data_samples'].gt_instances
    ref = cv2.imread(osp.join(demo_world, 'inst', 'clip_000', '00000.png'), 0)
    ids = [i for i in np.unique(ref) if i > 0 and (ref == i).sum() >= 16]
    assert len(inst) == len(ids)
    masks = inst.masks.to_ndarray()
    for m, box in zip(masks, inst.bboxes.tensor.numpy()):
        ys, xs = np.nonzero(m)
        np.testing.assert_allclose(box, [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        # each mask is exactly one instance of the instance map
        assert len(np.unique(ref[m > 0])) == 1


def test_class_is_the_shape_not_the_colour(tmp_path):
    """Version 2 of the world: textures and tints come from one pool shared by every class, so
    an object's colour statistics do not give its class away, while its shape does. Per-object
    colour features (mean and std per channel) classify the shape at about chance level
    (nearest class centroid, centroids from other clips), shape features (Hu moments of the
    mask) far above it."""
    from mmdense.datasets import demo_world as dw
    root = str(tmp_path / 'w')
    generate_demo_world(root, num_clips=64, frames_per_clip=2, height=96, width=128,
                        val_clips=1, verbose=False)
    colour, shape, cls, clip_of = [], [], [], []
    for c in range(64):
        clip = f'clip_{c:03d}'
        img = _frame(root, clip, 0)
        inst = cv2.imread(osp.join(root, 'inst', clip, '00000.png'), 0)
        sem = cv2.imread(osp.join(root, 'sem', clip, '00000.png'), 0)
        for k in np.unique(inst[inst > 0]):
            m = inst == k
            # only objects whose whole outline is visible: not cut by the frame border nor
            # touching another object (which may hide part of it)
            ring = cv2.dilate(m.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            if m.sum() < 150 or m[0].any() or m[-1].any() or m[:, 0].any() or \
                    m[:, -1].any() or ((inst > 0) & (inst != k) & ring).any():
                continue
            px = img[m]
            colour.append(np.concatenate([px.mean(0), px.std(0)]))
            hu = cv2.HuMoments(cv2.moments(m.astype(np.uint8), binaryImage=True))[:, 0]
            contour = max(cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL,
                                           cv2.CHAIN_APPROX_NONE)[0], key=cv2.contourArea)
            solidity = m.sum() / max(cv2.contourArea(cv2.convexHull(contour)), 1)
            shape.append(np.concatenate([-np.sign(hu[:2]) * np.log10(np.abs(hu[:2]) + 1e-30),
                                         [solidity]]))
            cls.append(int(np.bincount(sem[m]).argmax()))
            clip_of.append(c)
    cls, clip_of = np.array(cls), np.array(clip_of)
    assert set(cls) == set(range(1, len(dw.CLASSES))) and len(cls) > 40

    def nearest_centroid_accuracy(feats):
        feats = np.array(feats, np.float64)
        feats = (feats - feats.mean(0)) / (feats.std(0) + 1e-9)
        hits = []
        for i in range(len(cls)):
            other = clip_of != clip_of[i]  # centroids from the other clips only
            cents = {k: feats[other & (cls == k)].mean(0) for k in set(cls[other])}
            hits.append(min(cents, key=lambda k: np.linalg.norm(feats[i] - cents[k])) == cls[i])
        return float(np.mean(hits))

    chance = np.bincount(cls).max() / len(cls)
    assert nearest_centroid_accuracy(colour) < max(0.4, chance + 0.1)
    assert nearest_centroid_accuracy(shape) > 0.6
