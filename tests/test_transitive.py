"""Transitive invariance: graph construction on real videos, transitivity, ranking loss."""
import json
import os
import sys

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import run_tool

from mmdense.datasets.transitive import best_box, mutual_cliques, transitive_pairs
from mmdense.models.algorithms.triplet_siamese import pick_distractors, ranking_loss

DEMO = 'configs/transitive/triplet-siamese_vgg16_1xb8-100iters_sample-videos.py'


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
    (x, y, w, h), count = best_box(mask, box_frac=0.25)
    assert (w, h) == (10, 10) and count == 100 and (x, y) == (40, 20)


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
                  '--num-parents', '3', '--min-parent', '4', '--knn', '6', '--step', '5',
                  '--track-frames', '15', '--workers', '2'])
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
                  '--num-parents', '3', '--min-parent', '4', '--knn', '6', '--step', '5',
                  '--track-frames', '15'])
    assert r.returncode == 0 and json.loads((out / 'graph.json').read_text()) == graph
    r = run_tool([sys.executable, 'tools/transitive/build_graph.py', str(out / 'patches'),
                  str(out / 'x')])
    assert r.returncode != 0 and 'no videos' in r.stderr


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
    with pytest.raises(KeyError, match='does not fit ReadoutVGG'):
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
