"""Transitive invariance: graph construction on real videos, transitivity, ranking loss."""
import glob
import json
import os
import sys

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import run_tool

from mmdense.datasets.transitive import (CONTEXT_OFFSETS, ContextPatchPair, best_box,
                                         cluster_nodes, crop_patch, inside_frame, mine_video,
                                         mined_box, mutual_cliques, transitive_pairs)
from mmdense.models.algorithms.triplet_siamese import pick_distractors, ranking_loss

DEMO = 'configs/transitive/triplet-siamese_vgg16_1xb8-100iters_sample-videos.py'
CTX = 'configs/transitive/context-prediction_vgg16_1xb256-1000k_in1k.py'
CTX_DEMO = 'configs/transitive/context-prediction_vgg16_1xb16-300iters_demo-world.py'
GRAPH_ARGS = ['--num-parents', '3', '--min-parent', '4', '--knn', '6', '--step', '5',
              '--track-frames', '15', '--track-scale', '0.5',  # KCF at half size: fast
              '--same-video-edges']  # two videos: inter edges inside a video too


def test_transitivity_emits_exactly_the_expected_pairs():
    inter = [('A', 'B'), ('C', 'D')]
    intra = [('A', 'A1'), ('B', 'B1'), ('B', 'B2'), ('E', 'E1')]
    pairs = transitive_pairs(inter, intra)
    got = {(frozenset((a, b)), k) for a, b, k in pairs}
    expected = {(frozenset(p), 'transitive') for p in
                [('A', 'B1'), ('A', 'B2'), ('A1', 'B'), ('A1', 'B1'), ('A1', 'B2')]}
    expected |= {(frozenset(p), 'intra') for p in intra}
    assert got == expected and len(pairs) == len(expected)
    assert {(a, b) for a, b, _ in transitive_pairs(inter, intra, ('inter', ))} == set(inter)


def test_child_clusters_are_mutual_top_k_cliques():
    # 0-3 are all each other's neighbours; 4 lists 0 but 0 does not list 4
    nbrs = [{1, 2, 3}, {0, 2, 3}, {0, 1, 3}, {0, 1, 2, 4}, {0, 3}]
    assert mutual_cliques(nbrs, 4) == [(0, 1, 2, 3)]
    pairs = {(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3), (3, 4)}
    assert set(mutual_cliques(nbrs, 2)) == pairs


def test_best_box_holds_the_most_moving_pixels():
    mask = np.zeros((40, 60), bool)
    mask[20:30, 40:50] = True
    (x, y, w, h), count = best_box(mask, 10)
    assert (w, h) == (10, 10) and count == 100 and (x, y) == (40, 20)


def test_mined_box_is_the_papers_part_of_the_frame():
    """227 of a ~600x400 frame (sec. 4.1): 227 at a 400 short side, scaled with the frame."""
    # 400x600 frame, mask at 1/4 scale; moving blob centred at frame (x 420, y 180)
    mask = np.zeros((100, 150), bool)
    mask[40:50, 100:110] = True
    (x, y, w, h), count = mined_box(mask, 0.25, (400, 600))
    assert (w, h) == (227, 227) and count == 100
    assert 0 <= x <= 600 - 227 and 0 <= y <= 400 - 227
    assert abs(x + 113.5 - 420) <= 4 and abs(y + 113.5 - 180) <= 4
    # the blob near a corner: the box stays inside the frame, still 227
    mask[:] = False
    mask[95:100, 145:150] = True
    (x, y, w, h), _ = mined_box(mask, 0.25, (400, 600))
    assert (w, h) == (227, 227) and 600 - 227 - 4 <= x <= 600 - 227 and 400 - 227 - 4 <= y <= 173
    # smaller frames: the same part of the short side (227 / 400), around the blob
    small = np.zeros((36, 44), bool)
    small[10:20, 30:40] = True
    (x, y, w, h), _ = mined_box(small, 0.25, (144, 176))
    assert (w, h) == (82, 82) and x <= 120 and 160 <= x + w <= 176 and y <= 40 and 80 <= y + h
    (x, y, w, h), _ = mined_box(small, 0.25, (240, 176))
    assert (w, h) == (100, 100)
    full = np.zeros((96, 128), bool)
    full[40:60, 90:110] = True
    (x, y, w, h), _ = mined_box(full, 1.0, (96, 128))  # the learning benchmark's frames
    assert (w, h) == (54, 54) and x <= 90 and 110 <= x + w and y <= 40 and 60 <= y + h
    # ref=None: ``box`` frame pixels, at most the short side
    assert mined_box(small, 0.25, (144, 176), 227, None)[0][2:] == (144, 144)
    assert mined_box(mask, 0.25, (400, 600), 100, None)[0][2:] == (100, 100)


def test_a_tracked_box_over_the_border_is_moved_inside_not_stretched():
    frame = np.arange(40 * 60 * 3, dtype=np.uint8).reshape(40, 60, 3)
    assert inside_frame((-5, 30, 20, 20), (40, 60)) == (0, 20, 20, 20)
    assert inside_frame((50, -3, 20, 20), (40, 60)) == (40, 0, 20, 20)
    assert inside_frame((10, 0, 80, 20), (40, 60)) == (0, 0, 60, 20)  # wider than the frame
    want = cv2.resize(frame[20:40, 0:20], (96, 96), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(crop_patch(frame, (-5, 30, 20, 20)), want)


def test_inter_instance_cliques_join_different_videos():
    """Near-duplicates of one video (the same instance a few frames apart) are each other's
    nearest neighbours; with ``videos`` a child clique takes its 4 patches from 4 videos."""
    rng = np.random.default_rng(0)
    groups = 10 * rng.normal(size=(2, 16))  # videos 0-3 near one point, 4-7 near another
    centres = np.concatenate([g + rng.normal(size=(4, 16)) for g in groups])
    # 8 videos of 4 near-duplicate frames each
    feats = np.concatenate([c + 0.01 * rng.normal(size=(4, 16)) for c in centres])
    videos = np.repeat(np.arange(8), 4)
    _, children = cluster_nodes(feats, num_parents=1, min_parent=4, knn=12, group=4)
    assert children and any(len(set(videos[list(g)])) < 4 for g in children)
    parents, children = cluster_nodes(feats, num_parents=1, min_parent=4, knn=12, group=4,
                                      videos=[f'v{v}' for v in videos])
    assert children and all(len(set(videos[list(g)])) == 4 for g in children)
    assert (parents == parents[0]).all()


def _moving_square_frames(root, size, n=3, side=50, speed=8):
    """Frames of a static textured background with a textured square moving right; returns
    the square's top-left per frame."""
    rng = np.random.default_rng(0)
    h, w = size
    bg = cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (0, 0), 3)
    tex = cv2.resize(rng.integers(0, 255, (5, 5, 3), dtype=np.uint8), (side, side),
                     interpolation=cv2.INTER_NEAREST)  # 10 px blocks: visible at 1/4 scale
    corners = []
    os.makedirs(root, exist_ok=True)
    for t in range(n):
        x0, y0 = w // 2 + speed * t, h // 3
        f = bg.copy()
        f[y0:y0 + side, x0:x0 + side] = tex
        cv2.imwrite(os.path.join(root, f'{t:05d}.png'), f)
        corners.append((x0, y0))
    return corners


@pytest.mark.parametrize('size,side', [((400, 560), 227), ((160, 200), 91)])
def test_mine_video_crops_the_227_box_around_the_moving_object(tmp_path, size, side):
    from mmdense.datasets.video_io import FrameFolderSource
    corners = _moving_square_frames(str(tmp_path / 'v'), size)
    src = FrameFolderSource(str(tmp_path / 'v'))
    nodes = mine_video(src, str(tmp_path / 'p'), step=1, min_moving=0.002)
    assert len(nodes) >= 1
    for node in nodes:
        x, y, w, h = (int(v) for v in node['box'])
        assert (w, h) == (side, side)
        x0, y0 = corners[node['frame']]
        assert x <= x0 and y <= y0 and x0 + 50 <= x + w and y0 + 50 <= y + h  # object inside
        frame = src.read(node['frame'])
        want = cv2.resize(frame[y:y + h, x:x + w], (96, 96), interpolation=cv2.INTER_AREA)
        np.testing.assert_array_equal(cv2.imread(node['path']), want)


def test_object_boxes_diagnostic_centres_the_box_on_the_moving_object(tmp_path):
    """``mine_video(objects=...)``: the box is around the object with the most moving pixels
    (1.25 x its longer side, centred), not around a still object, and the patch shows it."""
    from mmdense.datasets.transitive import object_box
    from mmdense.datasets.video_io import FrameFolderSource
    corners = _moving_square_frames(str(tmp_path / 'v'), (160, 200))
    os.makedirs(tmp_path / 'inst' / 'v')
    for t, (x0, y0) in enumerate(corners):
        inst = np.zeros((160, 200), np.uint16)
        inst[5:65, 5:75] = 1  # a still object, larger than the moving one: never chosen
        inst[y0:y0 + 50, x0:x0 + 50] = 2
        cv2.imwrite(str(tmp_path / 'inst' / 'v' / f'{t:05d}.png'), inst)
    src = FrameFolderSource(str(tmp_path / 'v'))
    nodes = mine_video(src, str(tmp_path / 'p'), step=1, min_moving=0.002,
                       objects=str(tmp_path / 'inst'))
    assert len(nodes) >= 1
    for node in nodes:
        x0, y0 = corners[node['frame']]
        x, y, w, h = (int(v) for v in node['box'])
        assert (w, h) == (62, 62)  # round(1.25 * 50)
        assert abs(x + w / 2 - (x0 + 25)) <= 0.5 and abs(y + h / 2 - (y0 + 25)) <= 0.5
        want = cv2.resize(src.read(node['frame'])[y:y + h, x:x + w], (96, 96),
                          interpolation=cv2.INTER_AREA)
        np.testing.assert_array_equal(cv2.imread(node['path']), want)
    # of two moving objects, the one with more moving pixels, not the larger one
    objs = np.zeros((160, 200), np.uint16)
    objs[10:90, 10:90] = 1  # 80 px, 100 of its pixels moving
    objs[100:140, 120:160] = 2  # 40 px, 400 moving
    moving = np.zeros((160, 200), bool)
    moving[10:20, 10:20] = moving[100:120, 120:140] = True
    assert object_box(moving, objs) == ((115, 95, 50, 50), 400)
    # nothing that moves is an object: no box; a missing map: one error naming it
    still = np.zeros((40, 50), bool)
    still[0:5, 0:5] = True
    assert object_box(still, np.zeros((160, 200), np.uint16)) == (None, 0)
    os.makedirs(tmp_path / 'half' / 'v')
    for t in range(len(corners)):  # maps at another resolution than the frames: refused
        cv2.imwrite(str(tmp_path / 'half' / 'v' / f'{t:05d}.png'), np.ones((80, 100), np.uint16))
    with pytest.raises(ValueError, match=r'half.v: instance map of frame 1 is \(80, 100\)'):
        mine_video(src, str(tmp_path / 'r'), step=1, min_moving=0.002,
                   objects=str(tmp_path / 'half'))
    with pytest.raises(FileNotFoundError,
                       match=r'nowhere.v.00001.png: no instance map for frame 1 of v'):
        mine_video(src, str(tmp_path / 'q'), step=1, min_moving=0.002,
                   objects=str(tmp_path / 'nowhere'))


def test_nearest_same_class_looks_only_across_clips():
    """The graph-content benchmark's nearest neighbour: another clip's item, on standardised
    features."""
    from helpers import REPO
    sys.path.insert(0, f'{REPO}/tools/benchmark')
    import transitive_graph_content as tgc
    # items 0 / 1 of clip a are each other's nearest, of other classes; across clips each
    # item's nearest has its class
    x = np.array([[0., 0.], [0., 0.2], [0., -1.], [0., 1.2], [5., 5.], [5., 5.2]])
    cls = np.array([1, 2, 1, 2, 3, 3])
    clips = np.array(['a', 'a', 'b', 'b', 'c', 'd'])
    assert tgc.nearest_same_class(x, cls, clips) == 1.0
    assert tgc.nearest_same_class(x, cls, np.array(list('abcdef'))) < 1.0
    assert tgc.chance_agreement(np.array([1, 1, 2, 2])) == 0.5
    with pytest.raises(ValueError, match='2 clips or more'):
        tgc.nearest_same_class(x, cls, np.array(['a'] * 6))


def test_hog_features_of_paths_and_of_images_agree(tmp_path):
    from mmdense.datasets.transitive import hog_features
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (96, 96, 3), dtype=np.uint8) for _ in range(3)]
    paths = []
    for i, img in enumerate(imgs):
        paths.append(str(tmp_path / f'{i}.png'))
        cv2.imwrite(paths[-1], img)
    feats = hog_features(paths)
    assert feats.shape == (3, 4356) and feats.dtype == np.float32
    assert np.array_equal(feats, hog_features(imgs)) and not np.array_equal(feats[0], feats[1])


def test_ranking_loss_and_distractors():
    g = torch.Generator().manual_seed(0)
    a, p, n = (torch.randn(6, 8, generator=g) for _ in range(3))
    ref = torch.clamp((1 - F.cosine_similarity(a, p)) - (1 - F.cosine_similarity(a, n)) + 0.5,
                      min=0)
    torch.testing.assert_close(ranking_loss(a, p, n, 0.5), ref)
    same = ranking_loss(a, a, -a, 0.5)  # positive identical, negative opposite: no loss
    assert torch.all(same == 0)
    parents = torch.tensor([0, 0, 1, 1, 2, 0])
    for seed in range(20):
        neg = pick_distractors(parents, torch.Generator().manual_seed(seed))
        assert (neg >= 0).all() and (parents[neg] != parents).all()
    assert (pick_distractors(torch.tensor([3, 3, 3])) == -1).all()


@pytest.fixture(scope='module')
def graph_dir(tmp_path_factory):
    from mmdense.datasets import sample_video_path
    root = tmp_path_factory.mktemp('videos')
    for name in ('bikes', 'carphone'):
        os.symlink(sample_video_path(name), root / f'{name}.mp4')
    out = tmp_path_factory.mktemp('graph')
    r = run_tool([sys.executable, 'tools/transitive/build_graph.py', str(root), str(out),
                  *GRAPH_ARGS, '--features', 'hog', '--workers', '2'])
    assert r.returncode == 0, r.stderr[-3000:]
    return root, out, r.stdout


def test_graph_from_real_videos_has_all_edge_types(graph_dir):
    root, out, stdout = graph_dir
    summary = json.loads(stdout[stdout.index('{'):])
    assert summary['nodes'] > 10 and summary['intra_edges'] > 0 and summary['inter_edges'] > 0
    assert summary['pairs'].get('transitive', 0) > 0 and summary['pairs']['intra'] > 0
    graph = json.loads((out / 'graph.json').read_text())
    patch = cv2.imread(graph['nodes'][0]['path'])
    assert patch.shape == (96, 96, 3)
    tracked = [n for n in graph['nodes'] if '_track15' in n['id']]
    assert len(tracked) == summary['intra_edges']
    # a rerun reuses the per-video mining / tracking cache and gives the same graph
    r = run_tool([sys.executable, 'tools/transitive/build_graph.py', str(root), str(out),
                  *GRAPH_ARGS, '--features', 'hog'])
    assert r.returncode == 0 and json.loads((out / 'graph.json').read_text()) == graph
    r = run_tool([sys.executable, 'tools/transitive/build_graph.py', str(out / 'patches'),
                  str(out / 'x'), '--features', 'hog'])
    assert r.returncode != 0 and 'no videos' in r.stderr
    # the paper's 227 of a 400 px short side on bikes (272x640): 154
    mined = json.loads((out / 'mined' / 'bikes.json').read_text())
    boxes = [n['box'] for n in mined['nodes'] if 'track_of' not in n]
    assert len(boxes) > 5 and all(b[2] == b[3] == 154 for b in boxes), boxes[:3]
    # inter-instance edges between two videos' patches only: too few videos for a clique
    import shutil
    shutil.copytree(out / 'mined', out / 'y' / 'mined')  # the same mining, cached
    r = run_tool([sys.executable, 'tools/transitive/build_graph.py', str(root), str(out / 'y'),
                  *GRAPH_ARGS[:-1], '--features', 'hog'])
    assert r.returncode != 0 and 'patches were mined from 1 video(s)' in r.stderr
    assert '--same-video-edges' in r.stderr


def test_build_graph_lists_an_unreadable_video_and_keeps_the_others(graph_dir, tmp_path):
    """A broken video is skipped and listed with its reason and the fix (exit status 1); the
    graph of the readable ones is still written, from their cached mining."""
    import shutil
    root, out, _ = graph_dir
    videos = tmp_path / 'videos'
    shutil.copytree(root, videos, symlinks=True)
    (videos / 'broken.mp4').write_bytes(b'not a video' * 100)
    shutil.copytree(out / 'mined', tmp_path / 'out' / 'mined')
    r = run_tool([sys.executable, 'tools/transitive/build_graph.py', str(videos),
                  str(tmp_path / 'out'), *GRAPH_ARGS, '--features', 'hog'])
    assert r.returncode == 1, r.stderr[-3000:]
    assert ("1 unreadable video(s) skipped (no patches mined from them; the other videos' "
            'mining is cached; fix or remove them and rerun') in r.stderr
    assert f"  {videos / 'broken.mp4'}: " in r.stderr and 'Traceback' not in r.stderr
    graph = json.loads((tmp_path / 'out' / 'graph.json').read_text())
    assert graph == json.loads((out / 'graph.json').read_text())


def test_triplet_siamese_trains_on_the_graph(graph_dir, tmp_path):
    _, out, _ = graph_dir
    r = run_tool([sys.executable, 'tools/train.py', DEMO, '--work-dir', str(tmp_path / 'wd'),
                  '--cfg-options', f'train_dataloader.dataset.graph_file={out}/graph.json',
                  'train_dataloader.batch_size=4', 'train_cfg.max_iters=2',
                  'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1'])
    assert r.returncode == 0, r.stderr[-3000:]
    log = r.stdout + r.stderr
    assert 'valid_triplets' in log and (tmp_path / 'wd' / 'iter_2.pth').exists()
    state = torch.load(tmp_path / 'wd' / 'iter_2.pth', weights_only=True)['state_dict']
    assert state['neck.fc.3.weight'].shape == (1024, 4096)


def test_vgg_detector_readout_loads_the_tower_strictly(tmp_path):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmdense  # noqa: F401
    from helpers import REPO
    from mmdense.registry import MODELS
    init_default_scope('mmdense')
    cfg = Config.fromfile(f'{REPO}/{DEMO}')
    tower = MODELS.build(cfg.model)
    tower.init_weights()
    ckpt = tmp_path / 'ts.pth'
    torch.save(dict(state_dict=tower.state_dict()), ckpt)
    det_cfg = Config.fromfile(
        f'{REPO}/configs/readout/det/faster-rcnn_vgg16-finetune_1xb2-12e_voc07.py')
    det_cfg.model.backbone.pretrained_ckpt = str(ckpt)
    from mmdet.registry import MODELS as DET_MODELS
    init_default_scope('mmdet')
    det = DET_MODELS.build(det_cfg.model)
    det.init_weights()
    for k, v in tower.backbone.state_dict().items():
        torch.testing.assert_close(det.backbone.state_dict()[k], v, rtol=0, atol=0)
    assert all(p.requires_grad for p in det.backbone.parameters())  # fine-tuned, not frozen
    out = det.backbone(torch.zeros(1, 3, 64, 96))
    assert out[0].shape == (1, 512, 4, 6)
    torch.save(dict(state_dict={'backbone.x': torch.ones(1)}), tmp_path / 'bad.pth')
    det_cfg.model.backbone.pretrained_ckpt = str(tmp_path / 'bad.pth')
    with pytest.raises(KeyError, match='does not fit ReadoutVGG|has no backbone.features'):
        DET_MODELS.build(det_cfg.model).init_weights()


def test_multitask_baseline_adds_context_prediction():
    from mmengine.registry import init_default_scope

    from mmdense.registry import MODELS
    from mmpretrain.structures import DataSample
    init_default_scope('mmdense')
    model = MODELS.build(dict(
        type='TripletSiamese', context_weight=1.0, context_channels=512,
        backbone=dict(type='VGG', depth=16, num_classes=-1),
        neck=dict(type='FlattenFCNeck', in_channels=512 * 3 * 3)))
    x = [torch.randn(4, 3, 96, 96), torch.randn(4, 3, 96, 96)]
    samples = []
    for p in (0, 0, 1, 2):
        s = DataSample()
        s.set_field(p, 'parent', field_type='metainfo')
        samples.append(s)
    losses = model.loss(x, samples)
    assert set(losses) == {'loss', 'valid_triplets', 'loss_context'}
    assert losses['valid_triplets'] == 1.0
    assert float(losses['loss_context']) == pytest.approx(np.log(8), rel=0.5)  # ~chance
    (losses['loss'] + losses['loss_context']).backward()
    assert model.context_head[0].weight.grad.abs().sum() > 0


# ---- context prediction (Doersch et al.), the clustering / initialisation network ----------

def _texture(h, w, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_context_pair_patches_sit_where_the_label_says():
    np.random.seed(0)
    img = _texture(420, 500)
    t = ContextPatchPair(target_pixels=None, downsample_prob=0, color_drop=False)
    labels = set()
    for _ in range(200):
        out = t.transform(dict(img=img.copy()))
        (a, b), label = out['img'], out['gt_label']
        boxes = out['context_boxes']
        assert out['context_scale'] == 1.0 and a.shape == b.shape == (96, 96, 3)
        for patch, (x1, y1, x2, y2) in zip((a, b), boxes):
            assert 0 <= x1 and 0 <= y1 and x2 <= 500 and y2 <= 420
            np.testing.assert_array_equal(patch, img[y1:y2, x1:x2])  # the pixels of its box
        dy, dx = CONTEXT_OFFSETS[label]
        off = boxes[1, :2] - boxes[0, :2]  # (x, y) of the second patch relative to the first
        for d, o in ((dx, off[0]), (dy, off[1])):
            assert abs(o - d * (96 + 48)) <= 2 * 7  # grid step 144, each patch jittered <= 7
        # no overlap: the gap (48) is wider than the joint jitter (14)
        assert max(abs(off[0]), abs(off[1])) >= 96 + 48 - 14
        labels.add(label)
    assert labels == set(range(8))


def test_context_pair_resize_pixelation_and_colour_dropping():
    np.random.seed(1)
    img = _texture(300, 400)
    t = ContextPatchPair()  # the paper's defaults
    for _ in range(20):
        out = t.transform(dict(img=img.copy(), gt_label=123))  # a class label is overwritten
        s = out['context_scale']
        assert 150000 <= 300 * 400 * s * s <= 450000 * 1.01 and 0 <= out['gt_label'] < 8
        for patch in out['img']:
            flat = [np.abs(patch[..., c].astype(int) - round(m)).max()
                    for c, m in enumerate((103.53, 116.28, 123.675))]
            assert sorted(flat)[1] <= 1  # two channels dropped to the data mean (+-1)
            assert sorted(flat)[2] > 20  # one channel keeps the picture
    # pixelation: a patch shrunk to <= 95x95 and enlarged loses high frequencies
    t = ContextPatchPair(target_pixels=None, downsample_prob=1.0, color_drop=False)
    out = t.transform(dict(img=img.copy()))
    x1, y1, x2, y2 = out['context_boxes'][0]
    sharp = np.abs(np.diff(img[y1:y2, x1:x2].astype(int), axis=1)).mean()
    assert np.abs(np.diff(out['img'][0].astype(int), axis=1)).mean() < 0.9 * sharp
    # images too small for a pair are enlarged until one fits
    out = ContextPatchPair(target_pixels=None).transform(dict(img=_texture(120, 160)))
    assert out['context_scale'] == pytest.approx((2 * 96 + 48 + 14) / 120, rel=0.01)


def test_vgg16_pool5_of_a_96_patch_is_4608():
    from mmengine.registry import init_default_scope

    from mmdense.registry import MODELS
    init_default_scope('mmdense')
    vgg = MODELS.build(dict(type='VGG', depth=16, num_classes=-1))
    out = vgg(torch.zeros(1, 3, 96, 96))
    assert out[-1].shape == (1, 512, 3, 3) and out[-1][0].numel() == 4608
    convs = [m for m in vgg.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 13 and isinstance(vgg.features[-1], torch.nn.MaxPool2d)  # pool5


def _tiny_context_model(**kw):
    from mmengine.registry import init_default_scope

    from mmdense.registry import MODELS
    init_default_scope('mmdense')
    cfg = dict(type='ContextPrediction',
               backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8),
               in_channels=64, patch_channels=64, pair_channels=(64, ), **kw)
    return MODELS.build(cfg)


def _ramp_batch(t, n, seed):
    """Pairs from images whose colour encodes position (x ramp, y ramp): learnable."""
    from mmpretrain.structures import DataSample
    rng = np.random.default_rng(seed)
    xs, ys, samples = [], [], []
    for _ in range(n):
        h, w = 120, 120
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.stack([xx * 2, yy * 2, rng.integers(0, 255, (h, w))], -1).astype(np.uint8)
        out = t.transform(dict(img=img))
        xs.append(out['img'][0])
        ys.append(out['img'][1])
        samples.append(DataSample().set_gt_label(out['gt_label']))

    def norm(arr):
        return (torch.from_numpy(np.stack(arr)).permute(0, 3, 1, 2).float() - 128) / 64
    return [norm(xs), norm(ys)], samples


def test_context_prediction_learns_positions():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny layers: threads only add overhead on a loaded machine
    try:
        _learn_positions()
    finally:
        torch.set_num_threads(threads)


def _learn_positions():
    torch.manual_seed(0)
    np.random.seed(0)
    model = _tiny_context_model()
    t = ContextPatchPair(patch_size=32, gap=12, jitter=3, target_pixels=None,
                         downsample_prob=0, color_drop=False)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    first = None
    for step in range(60):
        inputs, samples = _ramp_batch(t, 32, step)
        losses = model.loss(inputs, samples)
        opt.zero_grad()
        losses['loss'].backward()
        opt.step()
        first = first if first is not None else losses['loss'].item()
    assert first == pytest.approx(np.log(8), rel=0.3)  # chance at the start
    model.eval()
    with torch.no_grad():
        inputs, samples = _ramp_batch(t, 128, 1000)  # fresh pairs
        losses = model.loss(inputs, samples)
    assert float(losses['loss']) < 0.5 * first
    print('context prediction: first loss', first, 'held-out loss', float(losses['loss']),
          'accuracy', float(losses['acc_position']))
    assert float(losses['acc_position']) > 0.7  # chance: 0.125


def test_context_prediction_rejects_a_wrong_pool5_size():
    model = _tiny_context_model()
    with pytest.raises(ValueError, match='in_channels'):
        model.position_logits(torch.zeros(2, 3, 64, 64), torch.zeros(2, 3, 64, 64))


def test_context_prediction_trains_and_its_pool5_clusters_the_graph(
        graph_dir, demo_world, tmp_path):
    """The demo config through tools/train.py (tiny fc layers), then build_graph.py clusters
    with its 4608-d pool5 (the mining cache of ``graph_dir`` is reused)."""
    import shutil
    root, hog_out, _ = graph_dir
    wd = tmp_path / 'wd'
    r = run_tool([sys.executable, 'tools/train.py', CTX_DEMO, '--work-dir', str(wd),
                  '--cfg-options', f'train_dataloader.dataset.data_root={demo_world}',
                  'train_dataloader.batch_size=2', 'train_cfg.max_iters=2',
                  'model.patch_channels=32', 'model.pair_channels=[32]',
                  'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1'])
    assert r.returncode == 0, r.stderr[-3000:]
    log = r.stdout + r.stderr
    assert 'acc_position' in log and 'loss' in log
    ckpt = wd / 'iter_2.pth'
    state = torch.load(ckpt, weights_only=True)['state_dict']
    assert state['pair_head.3.weight'].shape == (8, 32)
    # the tower is trained: the first and last convolutions change from iteration 1 to 2
    before = torch.load(wd / 'iter_1.pth', weights_only=True)['state_dict']
    for key in ('backbone.features.0.conv.weight', 'backbone.features.16.conv.weight'):
        assert not torch.equal(before[key], state[key]), key
    out = tmp_path / 'graph'
    shutil.copytree(hog_out / 'mined', out / 'mined')  # mined / tracked patches: reused
    from helpers import REPO
    summary = _build_graph_tool().main([str(root), str(out), *GRAPH_ARGS, '--features',
                                        f'{REPO}/{CTX_DEMO}', '--checkpoint', str(ckpt)])
    assert summary['features'] == 'encoder' and summary['feature_dim'] == 4608
    assert summary['nodes'] > 10 and summary['inter_edges'] > 0


def _build_graph_tool():
    """tools/transitive/build_graph.py as a module (its ``main`` runs in this process)."""
    import importlib.util

    from helpers import REPO
    spec = importlib.util.spec_from_file_location(
        'build_graph_tool', f'{REPO}/tools/transitive/build_graph.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_build_graph_needs_the_context_prediction_checkpoint(tmp_path):
    tool = _build_graph_tool()
    assert tool.CONTEXT_CONFIG == CTX
    missing = tmp_path / 'ctx.pth'
    # no --features: the default is the paper's pool5 clustering, which needs the checkpoint
    with pytest.raises(SystemExit) as e:
        tool.main([str(tmp_path), str(tmp_path / 'out'), '--checkpoint', str(missing)])
    msg = str(e.value.code)
    assert msg.startswith('error: ') and str(missing) in msg
    assert 'tools/train.py' in msg and '--features hog' in msg and CTX in msg


def test_learning_benchmark_mines_frame_folders_and_reads_out_objects(demo_world, tmp_path):
    """tools/benchmark/learning_transitive.py: the graph is mined from the demo world's train
    clips read as frame folders (each patch is the crop of its frame at its box, tracks end
    TRACK_FRAMES frames later, no val clip is used), and the object readout of a random
    encoder gives accuracies and counts on real crops."""
    import os.path as osp
    sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                                'tools', 'benchmark'))
    import learning_transitive as lt
    graph_file = lt.build_world_graph(demo_world, str(tmp_path / 'g'), 'main', log=lambda s: 0)
    with open(graph_file) as f:
        graph = json.load(f)
    # reused only when mined with these settings: the same call reuses it, and says which code
    # mined it; a graph of other settings, or of unknown ones, is refused
    import child_run
    child_run.used_versions(clear=True)
    assert lt.build_world_graph(demo_world, str(tmp_path / 'g'), 'main',
                                log=lambda s: 0) == graph_file
    assert child_run.used_versions() == {child_run.code_version()}
    settings = tmp_path / 'g' / 'graph_settings.json'
    kept_settings = settings.read_text()
    settings.write_text(kept_settings.replace('"min_moving": 0.02', '"min_moving": 0.05'))
    with pytest.raises(RuntimeError, match='mined with other settings'):
        lt.build_world_graph(demo_world, str(tmp_path / 'g'), 'main', log=lambda s: 0)
    settings.unlink()
    with pytest.raises(RuntimeError, match='has no graph_settings.json'):
        lt.build_world_graph(demo_world, str(tmp_path / 'g'), 'main', log=lambda s: 0)
    settings.write_text(kept_settings)
    with open(osp.join(demo_world, 'splits', 'train_clips.txt')) as f:
        train = {osp.normpath(osp.join(demo_world, c.strip())) for c in f if c.strip()}
    mined = {}
    for clip in train:
        with open(osp.join(tmp_path, 'g', 'mined', osp.basename(clip) + '.json')) as f:
            for n in json.load(f)['nodes']:
                mined[n['id']] = n
    assert {n['id'] for n in graph['nodes']} == set(mined)
    assert {osp.normpath(n['video']) for n in mined.values()} == train  # only train clips
    assert graph['edges']['intra'] and any(p['kind'] == 'intra' for p in graph['pairs'])
    for a, b in graph['edges']['intra']:
        assert mined[b]['frame'] == mined[a]['frame'] + lt.TRACK_FRAMES
    for n in mined.values():
        frame = cv2.imread(osp.join(n['video'], f"{n['frame']:05d}.png"))
        patch = cv2.imread(n['path'])
        assert np.abs(patch.astype(int) - crop_patch(frame, n['box']).astype(int)).max() <= 1
    # content: the box is the paper's part of the frame (227 / 400 of the short side), put on
    # the moving objects, and a track ends on the object it started on (instance maps)
    h, w = cv2.imread(osp.join(demo_world, 'frames', 'clip_000', '00000.png')).shape[:2]
    side = round(227 * min(h, w) / 400)

    def instances(n):
        inst = cv2.imread(osp.join(demo_world, 'inst', osp.basename(osp.normpath(n['video'])),
                                   f"{n['frame']:05d}.png"), cv2.IMREAD_UNCHANGED)
        x, y, bw, bh = (int(v) for v in n['box'])
        return inst, inst[y:y + bh, x:x + bw]
    starts = [n for n in mined.values() if 'track_of' not in n]
    assert all(n['box'][2:] == [side, side] for n in starts)
    fg_box = np.mean([(instances(n)[1] > 0).mean() for n in starts])
    fg_frame = np.mean([(instances(n)[0] > 0).mean() for n in starts])
    assert fg_box > 1.3 * fg_frame, (fg_box, fg_frame)

    def main_object(n):
        ids, counts = np.unique(instances(n)[1], return_counts=True)
        counts[ids == 0] = 0
        return ids[np.argmax(counts)]

    def share_of(k, n):  # the part of instance k's visible pixels inside n's box
        inst, box = instances(n)
        return (box == k).sum() / max(1, (inst == k).sum())
    kept = [share_of(main_object(mined[a]), mined[b]) for a, b in graph['edges']['intra']]
    assert kept and min(kept) >= 0.5, kept  # the object it started on is in its end box
    assert all(mined[b]['box'][2:] == [side, side] for _, b in graph['edges']['intra'])
    # the benchmark that reports these figures measures the same on this graph
    import transitive_graph_content as tgc
    fig = tgc.measure(str(tmp_path / 'g'), demo_world, log=lambda s: 0)
    assert fig['patches'] == len(starts) and fig['box_sides'] == [side]
    assert abs(fig['foreground'] - fg_box) < 1e-9 and fig['tracks_end_on_start_object'] == 1
    assert set(fig['reclustered']) == {'hog'} and 0 <= fig['same_class_by_chance'] <= 1
    mm = fig['moving_mask']
    assert 0 < mm['share'] < 1 and 0 <= mm['on_objects'] <= 1 and 0 <= mm['of_objects'] <= 1
    assert mm['components'] >= 1
    # nearest neighbours, on the patches with an object and on crops centred on that object:
    # the crop is the object readout's, of the main object's visible pixels, so its centre
    # pixel shows that object (instance map cropped the same way)
    shown = [n for n in starts if main_object(n)]
    assert set(fig['reclustered_object_centred']) == {'hog'}
    nn = fig['nearest_neighbour']
    assert nn['patches'] == len(shown) > 0 and set(nn['mined']) == set(nn['object_centred']) \
        == {'hog'} and all(0 <= v <= 1 for v in [*nn['mined'].values(),
                                                 *nn['object_centred'].values()])
    inner = 0
    for n in sorted(shown, key=lambda n: n['id']):
        k = main_object(n)
        inst = instances(n)[0]
        ys, xs = np.nonzero(inst == k)
        bbox = (xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min())
        frame = cv2.imread(osp.join(n['video'], f"{n['frame']:05d}.png"))
        crop = tgc.centred_crop(demo_world, n, k)
        assert crop.shape == (96, 96, 3)
        assert np.array_equal(crop, lt.square_crop(frame, bbox, 96))
        side = 1.25 * max(bbox[2:])
        cx, cy = bbox[0] + bbox[2] / 2, bbox[1] + bbox[3] / 2
        if not (side / 2 <= cx <= inst.shape[1] - side / 2
                and side / 2 <= cy <= inst.shape[0] - side / 2):
            continue  # a crop over the frame border replicates it: checked inside only
        inner += 1
        # the object's visible pixels, cropped the same way: their box is centred in the
        # crop and spans 1 / 1.25 of it along its longer side
        obj = lt.square_crop(np.repeat((inst == k).astype(np.uint8)[..., None] * 255, 3, 2),
                             bbox, 96)[..., 0] > 127
        oy, ox = np.nonzero(obj)
        assert abs((ox.min() + ox.max() + 1) / 2 - 48) <= 2
        assert abs((oy.min() + oy.max() + 1) / 2 - 48) <= 2
        assert abs(max(ox.max() + 1 - ox.min(), oy.max() + 1 - oy.min()) - 96 / 1.25) <= 3
    assert inner > 0
    # --mine --box: a graph mined with another box side, its settings kept; --box needs --mine
    other = str(tmp_path / 'g20')
    fig20 = tgc.main([other, demo_world, '--label', 'b20', '--mine', '--box', '20',
                      '--results', str(tmp_path / 'content.json')])
    assert fig20['box_sides'] == [20]
    with open(osp.join(other, 'graph_settings.json')) as f:
        assert json.load(f)['mine'] == dict(lt.MINE, box=20, box_ref=0)
    with open(tmp_path / 'content.json') as f:
        assert json.load(f)['b20']['box_sides'] == [20]
    with pytest.raises(SystemExit):
        tgc.main([other, demo_world, '--label', 'b20', '--box', '20'])
    # the object-boxes diagnostic: the same mining with each box around the moving object that
    # the instance maps name (settings relative to the world), so an object sits at the centre
    lt.build_world_graph(demo_world, str(tmp_path / 'gob'), 'object-boxes', log=lambda s: 0)
    with open(tmp_path / 'gob' / 'graph_settings.json') as f:
        assert json.load(f)['mine'] == dict(lt.MINE, objects='inst')
    ob = []
    for path in glob.glob(str(tmp_path / 'gob' / 'mined' / '*.json')):
        with open(path) as f:
            ob += [n for n in json.load(f)['nodes'] if 'track_of' not in n]
    centre = [instances(n)[1][int(n['box'][3]) // 2, int(n['box'][2]) // 2] > 0 for n in ob]
    assert ob and np.mean(centre) >= 0.8, np.mean(centre)
    assert len({tuple(n['box'][2:]) for n in ob}) > 1  # sized by the object, not one side
    # a graph that exists is reused, not rebuilt
    mtime = os.stat(graph_file).st_mtime_ns
    assert lt.build_world_graph(demo_world, str(tmp_path / 'g'), 'main', log=lambda s: 0) \
        == graph_file and os.stat(graph_file).st_mtime_ns == mtime
    out = lt.object_readout(demo_world, None, None, log=lambda s: 0)
    crops, labels = lt.object_crops(demo_world, 'val')
    assert out['num_val'] == len(labels) > 0 and out['num_train'] > 0
    assert crops[0].shape == (lt.PATCH, lt.PATCH, 3)
    assert 0 <= out['object-linear'] <= 100 and 0 <= out['object-nn'] <= 100
    assert 1 <= out['effective_rank'] <= min(512, len(labels))
