"""Hierarchical grouping: UCM region trees, tree-distance pair sampling, LoadUCM, HierGroup."""
import glob
import os.path as osp
import shutil
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate
from mmengine.registry import init_default_scope

from helpers import logged_losses, run_tool, train

import mmdense  # noqa: F401
from mmdense.datasets.ucm import (UCMError, color_gradient_edges, is_ultrametric, load_ucm,
                                  merge_heights, save_ucm, ucm_boundaries, ucm_from_edges)
from mmdense.models.utils.region_pairs import (negative_probs, positive_probs,
                                               sample_region_pairs)
from mmdense.registry import MODELS, TRANSFORMS

DEMO = 'configs/hiergroup/hiergroup_resnet18-hypercolumn_1xb8-300iters_demo-world.py'


def _nested_edges():
    """A 40x40 edge map: a strong vertical boundary (1.0) splits left / right; weaker horizontal
    boundaries split the left half (0.3) and the right half (0.5) into quadrants."""
    e = np.zeros((40, 40))
    e[:, 19:21] = 1.0
    e[19:21, :19] = 0.3
    e[19:21, 21:] = 0.5
    return e


def test_tree_distances_follow_the_nested_regions():
    labels, dist = ucm_from_edges(_nested_edges(), max_regions=4)
    assert dist.shape == (4, 4) and is_ultrametric(dist)
    q = {name: int(labels[y, x]) for name, (y, x) in
         dict(tl=(5, 5), bl=(35, 5), tr=(5, 35), br=(35, 35)).items()}
    assert len(set(q.values())) == 4
    left = dist[q['tl'], q['bl']]
    right = dist[q['tr'], q['br']]
    cross = dist[q['tl'], q['tr']]
    assert left < right < cross == pytest.approx(1.0)
    assert dist[q['bl'], q['br']] == pytest.approx(cross)  # ultrametric: all cross pairs equal
    strength = ucm_boundaries(labels, dist)
    assert strength[5, 19] == pytest.approx(1.0) and strength[19, 5] == pytest.approx(left)


def test_sampling_probabilities_are_eqs_2_and_3_and_respect_the_hierarchy():
    labels, dist = ucm_from_edges(_nested_edges(), max_regions=4)
    a = int(labels[5, 5])
    sib = int(labels[35, 5])
    far = [int(labels[5, 35]), int(labels[35, 35])]
    s = 0.8
    z = sum(np.exp(-dist[a, m] / s) for m in range(4) if m != a) + 1
    p = positive_probs(dist, a, s)
    assert p[a] == pytest.approx(1 / z) and p[sib] == pytest.approx(np.exp(-dist[a, sib] / s) / z)
    q = negative_probs(dist, a, s)
    zn = sum(np.exp(dist[a, m] / s) for m in range(4) if m != a)
    assert q[a] == 0 and q[far[0]] == pytest.approx(np.exp(dist[a, far[0]] / s) / zn)
    assert p[a] + p[sib] > 0.7 and q[far[0]] + q[far[1]] > 0.8
    # empirical draws: positives stay in the anchor's half, negatives cross the strong boundary
    rng = np.random.default_rng(0)
    same_pos = same_neg = total_pos = total_neg = 0
    for _ in range(200):
        anc, pos, neg = sample_region_pairs([labels], dist, 4, 10, 5, s, rng)
        half = lambda idx: (idx % 40) < 20  # noqa: E731
        for k in range(len(anc)):
            same_pos += (half(pos[k, :, 1]) == half(anc[k, 1])).sum()
            same_neg += (half(neg[k, :, 1]) == half(anc[k, 1])).sum()
            total_pos += pos.shape[1]
            total_neg += neg.shape[1]
    assert same_pos / total_pos > 0.7 and same_neg / total_neg < 0.25
    # unavailable regions are never drawn
    view = labels.copy()
    view[:, 20:] = 255
    _, pos, neg = sample_region_pairs([view], dist, 2, 10, 5, s, np.random.default_rng(1))
    assert (pos[..., 1] % 40 < 20).all() and (neg[..., 1] % 40 < 20).all()


def test_ucm_of_a_real_photo_is_a_valid_tree_with_at_most_40_regions(demo_world):
    img = cv2.imread(sorted(glob.glob(f'{demo_world}/frames/clip_000/*.png'))[0])
    labels, dist = ucm_from_edges(color_gradient_edges(img))
    m = dist.shape[0]
    assert 2 <= m <= 40 and labels.shape == img.shape[:2]
    assert set(np.unique(labels)) == set(range(m))
    assert is_ultrametric(dist) and dist.max() == pytest.approx(1.0)
    bad = dist.copy()
    bad[0, 1] = bad[1, 0] = 5.0  # breaks d(0,1) <= max(d(0,2), d(2,1))
    assert not is_ultrametric(bad)


@pytest.fixture(scope='module')
def demo_ucm(demo_world, tmp_path_factory):
    out = tmp_path_factory.mktemp('ucm')
    r = run_tool([sys.executable, 'tools/ucm/compute_ucm.py', f'{demo_world}/frames', str(out),
                  '--workers', '2'])
    assert r.returncode == 0, r.stderr[-3000:]
    return str(out)


def test_compute_ucm_tool_resumes_and_reads_user_edges(demo_world, demo_ucm, tmp_path):
    frames = sorted(glob.glob(f'{demo_world}/frames/*/*.png'))
    files = sorted(glob.glob(f'{demo_ucm}/*/*.npz'))
    assert len(files) == len(frames)
    r = run_tool([sys.executable, 'tools/ucm/compute_ucm.py', f'{demo_world}/frames', demo_ucm])
    assert r.returncode == 0 and f'{len(frames)} already done' in r.stdout
    # user-provided edge maps (PNG) mirroring the image folder
    img_root, edge_root = tmp_path / 'img', tmp_path / 'edges'
    (img_root / 'a').mkdir(parents=True)
    (edge_root / 'a').mkdir(parents=True)
    shutil.copy(frames[0], img_root / 'a' / 'x.png')
    h, w = cv2.imread(frames[0]).shape[:2]
    e = np.zeros((h, w), np.uint8)
    e[:, w // 2] = 255
    cv2.imwrite(str(edge_root / 'a' / 'x.png'), e)
    r = run_tool([sys.executable, 'tools/ucm/compute_ucm.py', str(img_root), str(tmp_path / 'u'),
                  '--edges', str(edge_root), '--max-regions', '2'])
    assert r.returncode == 0, r.stderr
    labels, dist = load_ucm(str(tmp_path / 'u' / 'a' / 'x.npz'))
    assert dist.shape == (2, 2) and labels[0, 0] != labels[0, -1]
    r = run_tool([sys.executable, 'tools/ucm/visualize_ucm.py', str(tmp_path / 'u' / 'a' / 'x.npz'),
                  '--out', str(tmp_path / 'vis')])
    assert r.returncode == 0 and (tmp_path / 'vis' / 'x_ucm.png').exists()
    r = run_tool([sys.executable, 'tools/ucm/compute_ucm.py', str(img_root),
                  str(tmp_path / 'u3'),
                  '--sed-model', str(tmp_path / 'model.yml.gz')])
    assert r.returncode != 0 and 'model.yml.gz does not exist' in r.stderr
    (img_root / 'a' / 'y.png').write_bytes(b'not an image')
    r = run_tool([sys.executable, 'tools/ucm/compute_ucm.py', str(img_root), str(tmp_path / 'u2')])
    # the bad image is listed with its reason and the fix, the good one is written, status 1
    assert r.returncode == 1, r.stderr[-2000:]
    assert '1 unreadable image(s) skipped (no UCM written for them; fix or remove them' in r.stderr
    assert f"  {img_root / 'a' / 'y.png'}: " in r.stderr and 'Traceback' not in r.stderr
    assert (tmp_path / 'u2' / 'a' / 'x.npz').exists()
    assert not (tmp_path / 'u2' / 'a' / 'y.npz').exists()


def test_load_ucm_refuses_bad_files(tmp_path):
    with pytest.raises(UCMError, match='missing.npz does not exist'):
        load_ucm(str(tmp_path / 'missing.npz'))
    (tmp_path / 'bad.npz').write_bytes(b'garbage')
    with pytest.raises(UCMError, match='bad.npz is corrupt'):
        load_ucm(str(tmp_path / 'bad.npz'))
    save_ucm(str(tmp_path / 'empty.npz'), np.zeros((0, 0), np.uint8), np.zeros((0, 0)))
    with pytest.raises(UCMError, match='empty region map'):
        load_ucm(str(tmp_path / 'empty.npz'))
    save_ucm(str(tmp_path / 'ids.npz'), np.full((4, 4), 3, np.uint8), np.zeros((2, 2)))
    with pytest.raises(UCMError, match='do not fit its 2 regions'):
        load_ucm(str(tmp_path / 'ids.npz'))


def _pipeline(demo_world, demo_ucm, scale=48):
    init_default_scope('mmdense')
    return [TRANSFORMS.build(t) for t in (
        dict(type='LoadUCM', ucm_root=demo_ucm, img_root=f'{demo_world}/frames'),
        dict(type='CorrespondingViews', stride=4, min_shared=8,
             geometric=[dict(type='RandomResizedCropAffine', scale=scale,
                             crop_ratio_range=(0.3, 1.)),
                        dict(type='RandomAffineView', scale_range=(1., 1.),
                             rotation_range=(0., 0.), flip_prob=0.5)]),
        dict(type='PackUCMInputs'))]


def _item(pipeline, path):
    r = dict(img=cv2.imread(path), img_path=path)
    r['ori_shape'] = r['img_shape'] = r['img'].shape[:2]
    for t in pipeline:
        r = t(r)
    return r


def test_region_maps_follow_crops_and_flips(demo_world, demo_ucm):
    path = sorted(glob.glob(f'{demo_world}/frames/clip_000/*.png'))[0]
    full, _ = load_ucm(osp.join(demo_ucm, 'clip_000', osp.basename(path)[:-4] + '.npz'))
    pipe = _pipeline(demo_world, demo_ucm)
    np.random.seed(0)
    for _ in range(6):
        item = _item(pipe, path)
        s = item['data_samples']
        for v in (1, 2):
            lab = s.get(f'ucm_labels_v{v}').numpy()
            inv = np.linalg.inv(s.get(f'affine_v{v}').double().numpy())
            ys, xs = np.mgrid[0:lab.shape[0]:5, 0:lab.shape[1]:5]
            pts = inv @ np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
            fx, fy = np.round(pts[0]).astype(int), np.round(pts[1]).astype(int)
            inside = (fx >= 0) & (fx < full.shape[1]) & (fy >= 0) & (fy < full.shape[0])
            got = lab[ys.ravel(), xs.ravel()]
            # nearest-neighbour rounding may pick the neighbour pixel across a region border
            agree = got[inside] == full[fy[inside], fx[inside]]
            assert agree.mean() > 0.95


def _model_and_data(demo_world, demo_ucm, num_images, **model_kw):
    """A train-mode HierGroup (backbone, neck and options from ``model_kw``) and
    its preprocessed batch of the first frames of ``num_images`` demo clips (64x64 views)."""
    pipe = _pipeline(demo_world, demo_ucm, scale=64)
    paths = sorted(glob.glob(f'{demo_world}/frames/*/00000.png'))[:num_images]
    np.random.seed(0)
    batch = default_collate([_item(pipe, p) for p in paths])
    init_default_scope('mmdense')
    model = MODELS.build(dict(
        type='HierGroup', cns=5,
        data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], to_rgb=True),
        **model_kw))
    model.train()
    return model, model.data_preprocessor(batch, True)


def test_hiergroup_loss_and_demo_training(demo_world, demo_ucm, tmp_path):
    model, data = _model_and_data(
        demo_world, demo_ucm, 3,
        backbone=dict(type='ResNet', depth=18, num_stages=3, strides=(1, 2, 2),
                      dilations=(1, 1, 1), out_indices=(1, 2)),
        neck=dict(type='HypercolumnNeck', in_channels=(128, 256)))
    torch.manual_seed(0)
    loss = model.loss(data['inputs'], data['data_samples'])['loss']
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert model.neck(model.backbone(data['inputs'][0]))[0].shape == (3, 32, 16, 16)
    r = run_tool([sys.executable, 'tools/train.py', DEMO, '--work-dir', str(tmp_path / 'wd'),
                  '--cfg-options', f'data_root={demo_world}/',
                  f'train_dataloader.dataset.data_root={demo_world}',
                  f'train_dataloader.dataset.pipeline.1.ucm_root={demo_ucm}',
                  f'train_dataloader.dataset.pipeline.1.img_root={demo_world}/frames',
                  'train_dataloader.batch_size=4', 'train_cfg.max_iters=2',
                  'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1'])
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'loss:' in r.stdout + r.stderr and (tmp_path / 'wd' / 'iter_2.pth').exists()


def test_hiergroup_plus_moco_adds_the_image_level_loss(demo_world, demo_ucm):
    model, data = _model_and_data(
        demo_world, demo_ucm, 4, backbone=dict(type='ResNet', depth=18, out_indices=(1, 2, 3)),
        neck=dict(type='HypercolumnNeck', in_channels=(128, 256), in_index=(0, 1)),
        moco=dict(neck=dict(type='MoCoV2Neck', in_channels=512, hid_channels=512,
                            out_channels=128, with_avg_pool=True), queue_len=64))
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {'loss', 'loss_moco'}
    assert int(model.moco_queue.ptr) == 4
    (losses['loss'] + losses['loss_moco']).backward()
    assert model.moco_neck.mlp[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.momentum_net.parameters())


HG_CONFIGS = sorted(glob.glob('configs/hiergroup/*.py'))
HG_READOUT = 'configs/readout/seg/deeplabv3_r18-hypercolumn-frozen_1xb8-400iters_demo-world.py'


@pytest.mark.parametrize('path', HG_CONFIGS, ids=osp.basename)
def test_pretraining_builds_no_stage_its_losses_never_reach(path):
    """Only the MoCo variant's loss reaches Res5; every other HierGroup model has no layer4,
    so no checkpoint holds untrained Res5 weights (issue 15)."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    cfg.model.backbone.norm_cfg = dict(type='BN')
    cfg.model.neck.norm_cfg = dict(type='BN')
    init_default_scope('mmdense')
    keys = MODELS.build(cfg.model).state_dict()
    has_res5 = any(k.startswith('backbone.layer4.') for k in keys)
    assert has_res5 == bool(cfg.model.get('moco')), path
    assert any(k.startswith('backbone.layer3.') for k in keys)


def test_a_backbone_stage_beyond_the_losses_is_refused():
    init_default_scope('mmdense')
    with pytest.raises(ValueError, match=r'set backbone.num_stages=3'):
        MODELS.build(dict(type='HierGroup', backbone=dict(type='ResNet', depth=18,
                                                          out_indices=(1, 2)),
                          neck=dict(type='HypercolumnNeck', in_channels=(128, 256))))


def _hiergroup_ckpt(path):
    """The demo HierGroup model with every tensor drawn at random (weights and BN statistics),
    saved as mmengine does; returns the model (eval mode)."""
    from mmengine.config import Config
    cfg = Config.fromfile(DEMO)
    init_default_scope('mmdense')
    model = MODELS.build(cfg.model)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for k, v in model.state_dict().items():
            if v.is_floating_point():
                v.copy_(torch.rand(v.shape, generator=g) + 0.5 if 'running_var' in k else
                        torch.randn(v.shape, generator=g) * 0.1)
    torch.save(dict(meta=dict(iter=1), state_dict=model.state_dict()), path)
    return model.eval()


def test_readout_of_a_stage_the_checkpoint_lacks_names_it(tmp_path):
    from mmdet.registry import MODELS as DET_MODELS
    from mmengine.config import Config
    from mmseg.registry import MODELS as SEG_MODELS
    ckpt = tmp_path / 'hg.pth'
    _hiergroup_ckpt(ckpt)
    res5 = Config.fromfile('configs/readout/seg/deeplabv1_r18-d8-frozen_1xb8-400iters_'
                           'demo-world.py').model.backbone  # reads Res5
    c4 = Config.fromfile('configs/readout/det/faster-rcnn_r18-c4-frozen_1xb4-300iters_'
                         'demo-world.py').model.roi_head.shared_head  # Res5 as the RoI head
    for scope, registry, part in (('mmseg', SEG_MODELS, res5), ('mmdet', DET_MODELS, c4)):
        part.pretrained_ckpt = str(ckpt)
        init_default_scope(scope)
        module = registry.build(part)
        with pytest.raises(KeyError) as e:
            module.init_weights()
        msg = str(e.value)
        assert f'checkpoint {ckpt} has no backbone.layer4.*' in msg, msg
        assert 'pretrained with num_stages=3' in msg and 'ReadoutHypercolumn' in msg


def test_readout_hypercolumn_serves_the_pretrained_hypercolumn_frozen(tmp_path):
    from mmengine.config import Config
    from mmseg.registry import MODELS as SEG_MODELS
    sys.path.insert(0, 'tools/readout')
    from readout_options import readout_options
    ckpt = tmp_path / 'hg.pth'
    model = _hiergroup_ckpt(ckpt)
    cfg = Config.fromfile(HG_READOUT)
    opts = readout_options(HG_READOUT, str(ckpt))
    assert opts == [f'model.backbone.pretrained_ckpt={ckpt}']
    cfg.merge_from_dict(dict(o.split('=', 1) for o in opts))
    cfg.model.backbone.outputs = ('hypercolumn', 'embedding', 'res4')
    init_default_scope('mmseg')
    readout = SEG_MODELS.build(cfg.model.backbone)
    readout.init_weights()
    readout.train()  # as the readout runner does: BN must stay in eval mode anyway
    assert not any(p.requires_grad for p in readout.parameters())
    x = torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        hyper, emb, res4 = readout(x)
        feats = model.backbone(x)
        ref_hyper = model.neck.hypercolumn(feats)
        ref_emb = model.neck(feats)[0]
    assert hyper.shape == (2, 512, 16, 24) and emb.shape == (2, 32, 16, 24)
    torch.testing.assert_close(hyper, ref_hyper, rtol=0, atol=0)
    torch.testing.assert_close(emb, ref_emb, rtol=0, atol=0)
    torch.testing.assert_close(res4, feats[1], rtol=0, atol=0)
    assert hyper.abs().sum() > 0


def test_hypercolumn_aspp_readout_runs_and_keeps_the_encoder_bit_identical(demo_world, tmp_path):
    from test_readout import _opts
    ckpt = tmp_path / 'hg.pth'
    ref = _hiergroup_ckpt(ckpt).state_dict()
    r = run_tool(['bash', 'tools/readout/readout.sh', HG_READOUT, str(ckpt), '1',
                  *_opts(demo_world, tmp_path / 'wd', ckpt, iters=2)],
                 env=dict(PYTHON=sys.executable))
    assert r.returncode == 0, r.stderr[-3000:]
    log = r.stdout + r.stderr
    assert 'ReadoutHypercolumn: loaded' in log and 'mIoU' in log
    after = torch.load(tmp_path / 'wd' / 'iter_2.pth', weights_only=True)['state_dict']
    enc = [k for k in ref if k.startswith(('backbone.', 'neck.'))]
    assert len(enc) > 100
    for k in enc:  # weights and BN statistics of the encoder and the hypercolumn head
        torch.testing.assert_close(after[f'backbone.{k}'], ref[k], rtol=0, atol=0, msg=k)
    assert after['decode_head.conv_seg.weight'].shape == (5, 128, 1, 1)


# ---------------------------------------------------------------- "random-regions" ablation
RANDOM_REGIONS = ('configs/hiergroup/'
                  'hiergroup_resnet18-hypercolumn_1xb8-300iters_demo-world_random-regions.py')


def _random_ucm(img, seed, **kw):
    init_default_scope('mmdense')
    t = TRANSFORMS.build(dict(type='RandomUCM', **kw))
    np.random.seed(seed)
    return t(dict(img=img, img_path='unused.png'))


def test_random_ucm_is_a_tree_of_adjacent_regions_blind_to_the_image(demo_world, tmp_path):
    paths = sorted(glob.glob(f'{demo_world}/frames/*/00000.png'))
    img1, img2 = cv2.imread(paths[0]), cv2.imread(paths[1])
    assert img1.shape == img2.shape and np.abs(img1.astype(int) - img2).mean() > 5
    # the keys and formats of LoadUCM on the same image
    save_ucm(str(tmp_path / 'u' / 'a.npz'), *ucm_from_edges(color_gradient_edges(img1)))
    (tmp_path / 'i').mkdir()
    ref = TRANSFORMS.build(dict(type='LoadUCM', ucm_root=str(tmp_path / 'u'),
                                img_root=str(tmp_path / 'i')))(
        dict(img=img1, img_path=str(tmp_path / 'i' / 'a.png')))
    out = _random_ucm(img1, 0)
    assert set(out) == set(ref)
    for k in ('ucm_labels', 'ucm_dist'):
        assert out[k].dtype == ref[k].dtype and out[k].ndim == ref[k].ndim == 2
    labels, dist = out['ucm_labels'], out['ucm_dist']
    m = dist.shape[0]
    assert labels.shape == img1.shape[:2] and 36 <= m <= 40
    assert set(np.unique(labels)) == set(range(m))
    assert is_ultrametric(dist) and dist.max() == pytest.approx(1.0)
    # binary tree, heights k / (M - 1): every off-diagonal height is one of the M - 1 merges
    assert np.allclose(np.unique(dist[~np.eye(m, dtype=bool)]) * (m - 1), np.arange(1, m))
    # the first merge joins two regions that touch
    a, b = np.argwhere(np.isclose(dist, 1 / (m - 1)))[0]
    touch = set(zip(labels[:, :-1].ravel(), labels[:, 1:].ravel())) | set(
        zip(labels[:-1].ravel(), labels[1:].ravel()))
    assert (a, b) in touch or (b, a) in touch
    # blind to the content: another image, same seed -> the same tree; another seed -> another
    same = _random_ucm(img2, 0)
    np.testing.assert_array_equal(same['ucm_labels'], labels)
    np.testing.assert_array_equal(same['ucm_dist'], dist)
    other = _random_ucm(img1, 1)
    assert (other['ucm_labels'] != labels).mean() > 0.3
    assert _random_ucm(img1, 2, num_regions=10)['ucm_dist'].shape[0] in range(8, 11)
    with pytest.raises(ValueError, match='num_regions'):
        TRANSFORMS.build(dict(type='RandomUCM', num_regions=256))


def test_random_ucm_matched_to_the_ucm_keeps_its_region_count_and_heights(demo_world, demo_ucm):
    """RandomUCM(match_ucm=True) after LoadUCM: a random partition with the UCM tree's number of
    regions and its merge heights, so the "random-regions" ablation differs from the main run
    only in which pixels are grouped."""
    init_default_scope('mmdense')
    path = sorted(glob.glob(f'{demo_world}/frames/*/00000.png'))[0]
    img = cv2.imread(path)
    load = TRANSFORMS.build(dict(type='LoadUCM', ucm_root=demo_ucm,
                                 img_root=f'{demo_world}/frames'))
    ucm = load(dict(img=img, img_path=path))
    ucm_labels, ucm_dist = ucm['ucm_labels'].copy(), ucm['ucm_dist'].copy()
    m = ucm_dist.shape[0]
    heights = merge_heights(ucm_dist)
    # the merge heights are the tree's: M - 1 of them, and every region distance is one
    assert heights.shape == (m - 1, ) and np.all(np.diff(heights) >= 0)
    off = ucm_dist[~np.eye(m, dtype=bool)]
    assert np.abs(off[:, None] - heights[None]).min(1).max() < 1e-6
    assert heights[-1] == pytest.approx(ucm_dist.max())
    t = TRANSFORMS.build(dict(type='RandomUCM', match_ucm=True))
    np.random.seed(0)
    out = t(dict(ucm))
    labels, dist = out['ucm_labels'], out['ucm_dist']
    assert labels.shape == ucm_labels.shape and is_ultrametric(dist)
    assert set(np.unique(labels)) == set(range(dist.shape[0]))
    assert abs(dist.shape[0] - m) <= 2  # Voronoi cells that fall apart add a region or two
    if dist.shape[0] == m:
        np.testing.assert_allclose(merge_heights(dist), heights, atol=1e-6)
    # quantiles of the UCM's heights otherwise; the same range either way
    assert dist.max() == pytest.approx(ucm_dist.max(), abs=1e-6)
    assert np.sort(dist[~np.eye(len(dist), dtype=bool)])[0] == pytest.approx(heights[0], abs=1e-6)
    # the partition is not the UCM's: region boundaries disagree
    e1, e2 = (np.concatenate([(lab[:, 1:] != lab[:, :-1]).ravel(), (lab[1:] != lab[:-1]).ravel()])
              for lab in (ucm_labels, labels))
    assert (e1 & e2).sum() < 0.5 * min(e1.sum(), e2.sum())
    with pytest.raises(KeyError, match='LoadUCM before it'):
        t(dict(img=img, img_path=path))


def test_random_regions_config_swaps_only_the_tree_and_trains(demo_world, demo_ucm, tmp_path):
    from mmengine.config import Config
    main, ablation = (Config.fromfile(p).train_dataloader.dataset.pipeline
                      for p in (DEMO, RANDOM_REGIONS))
    assert [t['type'] for t in main] == ['LoadImageFromFile', 'LoadUCM', 'CorrespondingViews',
                                         'PackUCMInputs']
    assert ablation[2] == dict(type='RandomUCM', match_ucm=True)
    assert ablation[:2] + ablation[3:] == main
    # the real runner trains 2 iterations on random trees matched to the UCM cache
    r = train(RANDOM_REGIONS, tmp_path / 'wd', [
        f'data_root={demo_world}/', f'train_dataloader.dataset.data_root={demo_world}',
        f'train_dataloader.dataset.pipeline.1.ucm_root={demo_ucm}',
        f'train_dataloader.dataset.pipeline.1.img_root={demo_world}/frames',
        'train_dataloader.batch_size=4', 'train_cfg.max_iters=2',
        'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
        'log_processor.window_size=1'])
    assert r.returncode == 0, r.stderr[-3000:]
    losses = logged_losses(tmp_path / 'wd')
    assert sorted(losses) == [1, 2] and all(np.isfinite(v) and v > 0 for v in losses.values())
    assert (tmp_path / 'wd' / 'iter_2.pth').exists()
