"""projects/dense_eval: DAVIS J&F, mask propagation, segment retrieval, feature pictures."""
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import REPO, run_tool

sys.path.insert(0, osp.join(REPO, 'projects', 'dense_eval'))
from dense_eval import (boundary_f_measure, db_eval_iou, pca_rgb, propagate_labels,  # noqa: E402
                        read_davis_sequence, segment_retrieval, similarity_map)
from dense_eval.davis import evaluate_sequence, seg2bmap  # noqa: E402

TOOLS = 'projects/dense_eval/tools/'
FLOWE_DEMO = 'configs/flowe/flowe_resnet18-d8_1xb8-300iters_demo-world.py'


def _square(y0, x0, size=4, shape=(12, 12)):
    m = np.zeros(shape, bool)
    m[y0:y0 + size, x0:x0 + size] = True
    return m


def test_region_similarity_j():
    gt, pred = _square(2, 2), _square(2, 3)  # shifted by one column: 12 / 20
    assert db_eval_iou(gt, pred) == pytest.approx(12 / 20)
    assert db_eval_iou(np.zeros((5, 5)), np.zeros((5, 5))) == 1.0
    void = np.zeros_like(gt)
    void[:, 6] = True  # the only column pred has and gt lacks is void
    assert db_eval_iou(gt, pred, void) == pytest.approx(12 / 16)


def _direct_boundary(m):
    """seg2bmap written as explicit loops over pixels."""
    h, w = m.shape
    b = np.zeros_like(m)
    for y in range(h):
        for x in range(w):
            right = m[y, x + 1] if x + 1 < w else False
            down = m[y + 1, x] if y + 1 < h else False
            diag = m[y + 1, x + 1] if (y + 1 < h and x + 1 < w) else False
            if y == h - 1 and x == w - 1:
                b[y, x] = False
            elif y == h - 1:
                b[y, x] = m[y, x] != right
            elif x == w - 1:
                b[y, x] = m[y, x] != down
            else:
                b[y, x] = (m[y, x] != right) or (m[y, x] != down) or (m[y, x] != diag)
    return b


def test_contour_accuracy_f_matches_a_direct_computation():
    gt, pred = _square(2, 2), _square(3, 3, size=5)
    gb, pb = _direct_boundary(gt), _direct_boundary(pred)
    np.testing.assert_array_equal(seg2bmap(gt), gb)
    # tolerance 0 px (bound_th=1 would be 1 px): exact boundary matches only
    p = (pb & gb).sum() / pb.sum()
    r = (gb & pb).sum() / gb.sum()
    expected = 2 * p * r / (p + r) if p + r else 0.0
    assert boundary_f_measure(gt, pred, bound_th=0) == pytest.approx(expected)
    assert boundary_f_measure(gt, gt) == 1.0
    assert boundary_f_measure(gt, pred, bound_th=3) == 1.0  # within 3 px everywhere
    assert boundary_f_measure(gt, np.zeros_like(gt)) == 0.0
    assert boundary_f_measure(np.zeros_like(gt), np.zeros_like(gt)) == 1.0


@pytest.fixture(scope='module')
def demo_davis(demo_world, tmp_path_factory):
    out = tmp_path_factory.mktemp('davis')
    r = run_tool([sys.executable, TOOLS + 'export_demo_davis.py', demo_world, str(out)])
    assert r.returncode == 0, r.stderr
    return str(out)


def _oracle_features(labels, stride=4, noise=0.0, seed=0, num=None):
    """Features that are exactly the instance identity (one-hot over ``num`` ids, at 1/stride)."""
    lab = torch.from_numpy(np.stack(labels)).long()
    oh = F.one_hot(lab, num or int(lab.max()) + 1).permute(0, 3, 1, 2).float()
    f = F.avg_pool2d(oh, stride)
    g = torch.Generator().manual_seed(seed)
    return f + noise * torch.randn(f.shape, generator=g)


def test_propagation_is_near_perfect_for_exact_features_and_poor_for_random(demo_davis):
    seq = open(osp.join(demo_davis, 'ImageSets', '2017', 'val.txt')).read().split()[0]
    frames, labels, names = read_davis_sequence(demo_davis, seq)
    t = len(frames)
    assert t == len(labels) >= 3 and frames[0].shape[:2] == labels[0].shape
    objects = sorted(int(i) for i in np.unique(labels[0]) if i)
    assert objects
    n = int(max(lab.max() for lab in labels)) + 1
    pred = propagate_labels(_oracle_features(labels, stride=2), labels[0], n, radius=12).numpy()
    j, f = evaluate_sequence(labels, pred, objects)
    assert j > 0.9 and f > 0.9, (j, f)
    h, w = labels[0].shape
    rnd = torch.randn(t, 16, h // 4, w // 4, generator=torch.Generator().manual_seed(0))
    pred = propagate_labels(rnd, labels[0], n).numpy()
    j_rnd, _ = evaluate_sequence(labels, pred, objects)
    assert j_rnd < j - 0.3, (j_rnd, j)


def test_propagation_tool_with_a_real_encoder(demo_davis, tmp_path):
    r = run_tool([sys.executable, TOOLS + 'propagate_masks.py', FLOWE_DEMO, 'none', demo_davis,
                  '--size', '128', '--out', str(tmp_path / 'pred')])
    assert r.returncode == 0, r.stderr[-3000:]
    seqs = open(osp.join(demo_davis, 'ImageSets', '2017', 'val.txt')).read().split()
    n_frames = len(list(osp.join(demo_davis, 'JPEGImages', '480p', s, f) for s in seqs
                        for f in __import__('os').listdir(
                            osp.join(demo_davis, 'JPEGImages', '480p', s))))
    assert f'mean over {len(seqs)} sequences: J ' in r.stdout
    j = float(r.stdout.split(f'mean over {len(seqs)} sequences: J ')[1].split()[0])
    assert 0.0 <= j <= 1.0
    assert len(list((tmp_path / 'pred').rglob('*.png'))) == n_frames
    r = run_tool([sys.executable, TOOLS + 'propagate_masks.py', FLOWE_DEMO, 'none',
                  str(tmp_path / 'nothing')])
    assert r.returncode != 0 and 'expected the DAVIS-2017 layout' in r.stderr


def test_segment_retrieval_oracle_and_tool(demo_world):
    from mmdense.evaluation.probe_runner import read_seg_split
    tr_img, tr_lab, n = read_seg_split('DemoWorldSegDataset', demo_world, 'splits/train.txt')
    va_img, va_lab, _ = read_seg_split('DemoWorldSegDataset', demo_world, 'splits/val.txt')
    tr_lab, va_lab = tr_lab[:6], va_lab[:4]
    # one-hot over every class: a split may lack a class
    oracle = segment_retrieval(_oracle_features(list(tr_lab), stride=2, noise=0.01, num=n),
                               tr_lab, _oracle_features(list(va_lab), stride=2, noise=0.01,
                                                        num=n),
                               va_lab, n, k=6)
    assert oracle['miou'] > 0.8, oracle['iou']
    h, w = tr_lab.shape[1] // 2, tr_lab.shape[2] // 2
    rnd = segment_retrieval(torch.randn(6, 8, h, w), tr_lab, torch.randn(4, 8, h, w), va_lab, n,
                            k=6)
    assert rnd['miou'] < oracle['miou'] - 0.3
    r = run_tool([sys.executable, TOOLS + 'segment_retrieval.py', FLOWE_DEMO, 'none',
                  demo_world, '--k', '5'])
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'segment retrieval mIoU:' in r.stdout


def test_feature_pictures_and_the_training_hook(demo_world, tmp_path):
    feat = torch.zeros(8, 6, 6)
    feat[0, :, :2], feat[1, :, 2:4], feat[2, :, 4:] = 1, 1, 1  # three vertical regions
    img, _ = pca_rgb(feat)
    colours = {tuple(img[0, c]) for c in (0, 2, 4)}
    assert img.shape == (6, 6, 3) and len(colours) == 3
    sim = similarity_map(feat, (0, 3))
    assert sim[0, 3] == pytest.approx(1.0) and sim[0, 0] == pytest.approx(0.0)
    frame = sorted((osp.join(demo_world, 'frames', 'clip_000', f)
                    for f in ('00000.png', '00001.png')))
    r = run_tool([sys.executable, TOOLS + 'feature_pictures.py', FLOWE_DEMO, 'none', *frame,
                  '--out', str(tmp_path / 'pics'), '--query', '40', '60', '--size', '128'])
    assert r.returncode == 0, r.stderr[-3000:]
    pca = cv2.imread(str(tmp_path / 'pics' / '00000_pca.png'))
    assert pca is not None and min(pca.shape[:2]) == 128
    assert (tmp_path / 'pics' / '00001_sim.png').exists()
    # the hook in a real mmengine run: the picture reaches the visualizer (LocalVisBackend PNG)
    cfg = tmp_path / 'with_hook.py'
    cfg.write_text(
        f"_base_ = '{REPO}/configs/baselines/mocov2_resnet18_1xb8-300iters_demo-world.py'\n"
        "custom_imports = dict(imports=['mmdense', 'projects.dense_eval.dense_eval'],\n"
        "                      allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='DenseFeatureVisHook', interval=1)]\n")
    wd = tmp_path / 'wd'
    r = run_tool([sys.executable, 'tools/train.py', str(cfg), '--work-dir', str(wd),
                  '--cfg-options', f'train_dataloader.dataset.data_root={demo_world}',
                  'train_dataloader.batch_size=4', 'model.queue_len=64', 'train_cfg.max_iters=1',
                  'train_dataloader.dataset.pipeline.0.transforms.0.scale=64'])
    assert r.returncode == 0, r.stderr[-3000:]
    pics = list(wd.rglob('dense_features_pca_1.png'))
    assert pics, list(wd.rglob('*'))
    vis = cv2.imread(str(pics[0]))
    assert vis.shape[0] == 64 and vis.shape[1] == 128  # input | PCA side by side


def test_correspondence_overlay_joins_matching_pixels():
    from dense_eval.pictures import correspondence_overlay
    v1 = np.zeros((20, 30, 3), np.uint8)
    v2 = v1.copy()
    flip = np.array([[-1., 0, 29], [0, 1, 0], [0, 0, 1]])  # view 2 = the flipped frame
    out = correspondence_overlay(v1, v2, np.eye(3), flip, (20, 30), num=5)
    assert out.shape == (20, 60, 3) and out.any()
    none = correspondence_overlay(v1, v2, np.eye(3), np.array([[1., 0, 100], [0, 1, 0],
                                                               [0, 0, 1]]), (20, 30))
    assert not none.any()  # no pixel of view 1 is visible in view 2: nothing drawn
