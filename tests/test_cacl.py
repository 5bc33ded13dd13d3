"""CACL: cycle loss, pixel shuffle, shuffled BN, the shared pixel queue, the algorithm."""
import os
import sys

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import init_default_scope

from helpers import free_port, run_tool

import mmdense  # noqa: F401
from mmdense.models.utils.dense_contrast import (cycle_loss, nearest_by_affinity, pixel_infonce,
                                                 rows_per_chunk)
from mmdense.models.utils.queue import FeatureQueue, sample_pixels
from mmdense.models.utils.shuffle_bn import shuffled_forward
from mmdense.registry import MODELS

DEMO = 'configs/cacl/cacl_resnet18-d8_1xb8-300iters_demo-world.py'


def _unit(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=g), dim=-1)


def _reference_cycle(c, cp, neg, tau, u=None, up=None):
    """The paper's formula, materialising M (eqs. 5-6 and the soft cycle)."""
    p1 = torch.softmax(c @ cp.transpose(1, 2) / tau, -1)
    back = torch.cat([cp @ c.transpose(1, 2), cp @ neg.t()], -1) if neg is not None else \
        cp @ c.transpose(1, 2)
    m = p1 @ torch.softmax(back / tau, -1)
    hw = c.shape[1]
    if u is None:
        return -torch.log(torch.diagonal(m[..., :hw], dim1=1, dim2=2))
    t = torch.softmax(u @ up.transpose(1, 2) / tau, -1)
    return (t * (t.log() - m[..., :hw].log())).sum(-1)


@pytest.mark.parametrize('soft', [False, True])
@pytest.mark.parametrize('chunk', [None, 5, 1])
def test_cycle_loss_matches_the_direct_computation(soft, chunk):
    c = _unit(2, 12, 8, seed=1).requires_grad_()
    cp, neg = _unit(2, 12, 8, seed=2), _unit(5, 8, seed=3)
    kw = dict(u=_unit(2, 12, 8, seed=4), up=_unit(2, 12, 8, seed=5)) if soft else {}
    ref = _reference_cycle(c, cp, neg, 0.1, **kw)
    (g_ref, ) = torch.autograd.grad(ref.sum(), c)
    out = cycle_loss(c, cp, neg, 0.1, chunk=chunk, **kw)
    (g, ) = torch.autograd.grad(out.sum(), c)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(g, g_ref, rtol=1e-4, atol=1e-5)


def test_cycle_loss_vanishes_for_identical_frames_with_orthogonal_features():
    eye = torch.eye(16)[None].repeat(2, 1, 1)  # 16 pixels, mutually orthogonal unit vectors
    neg = torch.zeros(4, 16)  # negatives orthogonal to every pixel
    assert cycle_loss(eye, eye, None, 0.07).max() < 1e-4
    assert cycle_loss(eye, eye, F.normalize(neg + 1e-3, dim=1), 0.07).max() < 1e-3
    rnd = _unit(2, 16, 16, seed=7)
    assert cycle_loss(rnd, _unit(2, 16, 16, seed=8), None, 0.07).mean() > 0.1
    # frame 2 a permutation of frame 1: the walk still comes back, the loss stays ~0
    perm = torch.randperm(16, generator=torch.Generator().manual_seed(0))
    assert cycle_loss(eye, eye[:, perm], None, 0.07).max() < 1e-4


def test_pixel_infonce_and_nearest_match_direct_computations():
    q, k, queue = _unit(2, 9, 8, seed=1), _unit(2, 9, 8, seed=2), _unit(6, 8, seed=3)
    logits = torch.cat([(q * k).sum(-1, keepdim=True), q @ queue.t()], -1) / 0.2
    ref = -torch.log_softmax(logits, -1)[..., 0]
    for chunk in (None, 4):
        torch.testing.assert_close(pixel_infonce(q, k, queue, 0.2, chunk), ref)
    assert torch.equal(nearest_by_affinity(q, k, chunk=2), (q @ k.transpose(1, 2)).argmax(-1))
    assert rows_per_chunk(2, 1000, 2**20) == 524


def test_chunking_bounds_the_affinity_memory():
    """A 64 x 128 map (hw = 8192, 1/8 of 512 x 1024): the full hw x hw float matrix would be
    268 MB; the chunked loss allocates a small fraction of it at once."""
    hw, d = 8192, 16
    c, cp = _unit(1, hw, d, seed=1).requires_grad_(), _unit(1, hw, d, seed=2)
    largest = []

    class Spy(torch.autograd.graph.saved_tensors_hooks):
        def __init__(self):
            super().__init__(self.pack, lambda t: t)

        def pack(self, t):
            largest.append(t.numel())
            return t
    chunk = rows_per_chunk(1, hw, 2**22)
    assert chunk == 512
    with Spy():
        loss = cycle_loss(c, cp, None, 0.07, chunk=chunk).mean()
    loss.backward()
    assert max(largest) <= 2**22 < hw * hw // 8
    assert torch.isfinite(c.grad).all()


def test_queue_wraps_around_and_keeps_the_newest_keys():
    q = FeatureQueue(10, 4, gather=False)
    keys = torch.arange(28, dtype=torch.float32).reshape(7, 4)
    q.enqueue(keys)
    q.enqueue(keys)  # 14 keys into 10 rows: rows 7-9 then 0-3
    assert int(q.ptr) == 4
    assert torch.equal(q.queue[7:], keys[:3]) and torch.equal(q.queue[:4], keys[3:])
    big = torch.arange(48, dtype=torch.float32).reshape(12, 4)
    q.enqueue(big)  # longer than the queue: the last 10 keys, starting at the pointer
    assert int(q.ptr) == 4  # a full turn
    assert torch.equal(torch.roll(q.queue, -4, 0), big[2:])
    snapshot = q()
    q.enqueue(keys)
    assert not torch.equal(snapshot, q.queue)  # forward() returned a copy
    restored = FeatureQueue(10, 4, gather=False)
    restored.load_state_dict(q.state_dict())
    assert int(restored.ptr) == int(q.ptr) and torch.equal(restored.queue, q.queue)
    with pytest.raises(ValueError, match=r'keys must be \(B, 4\)'):
        q.enqueue(torch.zeros(3, 5))


def test_sample_pixels_draws_distinct_pixels_per_image():
    feats = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    out = sample_pixels(feats, 6, torch.Generator().manual_seed(0))
    assert out.shape == (12, 3)
    for i in range(2):
        pix = feats[i].flatten(1).t()
        rows = {tuple(r.tolist()) for r in out[i * 6:(i + 1) * 6]}
        assert len(rows) == 6 and rows <= {tuple(r.tolist()) for r in pix}
    assert sample_pixels(feats, 100).shape == (40, 3)


def _dist_worker(rank, port, out_dir):
    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=2)
    torch.manual_seed(0)
    q = FeatureQueue(6, 2)
    q.enqueue(torch.full((2, 2), float(rank + 1)))
    x = torch.arange(4, dtype=torch.float32)[:, None] + 10 * rank  # 4 samples per process
    seen = []

    def fn(t):
        seen.append(t.clone())
        return t * 2, t + 1000 * rank  # tag each sample with the rank that processed it
    doubled, tagged = shuffled_forward(fn, x)
    torch.save(dict(queue=q.queue, ptr=q.ptr, doubled=doubled, tagged=tagged, x=x),
               os.path.join(out_dir, f'{rank}.pth'))
    dist.destroy_process_group()


def test_queue_gathers_and_batch_shuffles_across_two_gloo_processes(tmp_path):
    import torch.multiprocessing as mp
    port = free_port()
    mp.spawn(_dist_worker, args=(port, str(tmp_path)), nprocs=2, join=True)
    res = [torch.load(tmp_path / f'{r}.pth', weights_only=True) for r in range(2)]
    for r in res:  # both processes hold the keys of both, in rank order
        assert int(r['ptr']) == 4
        assert torch.equal(r['queue'][:4, 0], torch.tensor([1., 1., 2., 2.]))
        torch.testing.assert_close(r['doubled'], r['x'] * 2)  # back in the original order
    # some samples were processed by the other process (shuffled across processes)
    crossed = sum(int(((r['tagged'] - r['x']) != 1000 * i).sum()) for i, r in enumerate(res))
    assert crossed > 0


def test_single_process_shuffled_bn_uses_sub_batches_and_keeps_order():
    bn = nn.BatchNorm1d(3).train()
    x = torch.randn(8, 3, generator=torch.Generator().manual_seed(0))
    out = shuffled_forward(bn, x, num_splits=2, generator=torch.Generator().manual_seed(1))
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(1))
    first, second = set(perm[:4].tolist()), set(perm[4:].tolist())
    for group in (first, second):  # each sample normalised with its own sub-batch's statistics
        idx = sorted(group)
        ref = F.batch_norm(x[idx], None, None, training=True, eps=bn.eps)
        torch.testing.assert_close(out[idx], ref, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(out, F.batch_norm(x, None, None, training=True, eps=bn.eps))


class _CircularNet(nn.Module):
    """Translation-equivariant toy backbone: circular padding, output stride 2."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1, padding_mode='circular')
        self.b = nn.Conv2d(8, 16, 3, stride=2, padding=1, padding_mode='circular')

    def forward(self, x):
        return (self.b(torch.relu(self.a(x))), )


MODELS.register_module(name='_CircularNet', module=_CircularNet, force=True)


def _toy_cacl(**kw):
    init_default_scope('mmdense')
    cfg = dict(type='CACL', backbone=dict(type='_CircularNet'),
               head=dict(type='DenseNonLinearNeck', in_channels=16, hid_channels=16,
                         out_channels=8, norm_cfg=None),
               queue_len=32, feat_dim=8, shuffle_stride=2, shuffle_bn_splits=1)
    cfg.update(kw)
    return MODELS.build(cfg)


def test_pixel_shuffle_is_exact_on_a_translation_equivariant_network():
    model = _toy_cacl().train()
    img = torch.randn(2, 3, 16, 20)
    plain = model._rolled_features(model.backbone, img, shift=(0, 0))
    for shift in [(2, 0), (4, 6), (14, 18)]:
        torch.testing.assert_close(model._rolled_features(model.backbone, img, shift=shift),
                                   plain, rtol=1e-5, atol=1e-5)
    torch.manual_seed(0)  # the random rolls of training give the same features too
    torch.testing.assert_close(model._rolled_features(model.backbone, img), plain,
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match='not a multiple of the output stride'):
        model._rolled_features(model.backbone, img, shift=(3, 0))
    # a zero-padded network is not equivariant: the shuffle changes its border features
    model.backbone.a.padding_mode = 'zeros'
    assert not torch.allclose(model._rolled_features(model.backbone, img, shift=(4, 6)),
                              model._rolled_features(model.backbone, img, shift=(0, 0)))


def test_cacl_loss_trains_the_online_branch_and_fills_the_queues():
    torch.manual_seed(0)
    model = _toy_cacl(queue_pixels_per_image=3).train()
    v = [torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16)]
    losses = model.loss(v, None)
    assert set(losses) == {'loss_global', 'loss_pixel', 'loss_cycle'}
    assert all(torch.isfinite(x) and x > 0 for x in losses.values())
    sum(losses.values()).backward()
    assert model.backbone.a.weight.grad.abs().sum() > 0
    assert all(model.heads[h].mlp[0].weight.grad.abs().sum() > 0 for h in model.heads)
    assert all(p.grad is None for p in model.momentum_net.parameters())
    assert [int(model.queues[h].ptr) for h in ('global_', 'pixel', 'cycle')] == [4, 12, 12]
    # the EMA follows the online weights: after an optimiser step and the next loss the
    # momentum weights move 0.1% of the way (MoCo m = 0.999)
    before = model.momentum_net.module.backbone.a.weight.clone()
    with torch.no_grad():
        model.backbone.a.weight.add_(1.0)
    model.loss(v, None)
    moved = model.momentum_net.module.backbone.a.weight - before
    torch.testing.assert_close(moved, torch.full_like(moved, 0.001), rtol=1e-3, atol=1e-6)


def test_cacl_head_subsets_and_bad_settings():
    only_pixel = _toy_cacl(heads=('pixel', ), pixel_positive='same_position')
    assert list(only_pixel.heads) == ['pixel'] and list(only_pixel.queues) == ['pixel']
    losses = only_pixel.train().loss([torch.randn(2, 3, 8, 8)] * 2, None)
    assert set(losses) == {'loss_pixel'}
    own_targets = _toy_cacl(heads=('pixel', 'cycle'), pixel_positive='same_position',
                            soft_cycle=False)
    assert list(own_targets.heads) == ['pixel', 'cycle'] == list(own_targets.queues)
    # eq. 4's positives and the soft cycle come from the global head: without its loss they
    # would come from an untrained head
    for kwargs, named in ((dict(heads=('pixel', 'cycle'), soft_cycle=False), 'pixel_positive'),
                          (dict(heads=('cycle', ), ), 'soft_cycle'),
                          (dict(heads=('pixel', 'cycle')), "pixel_positive='global' .* and "
                                                           'soft_cycle=True')):
        with pytest.raises(ValueError, match=f"{named}.*add 'global_' to heads"):
            _toy_cacl(**kwargs)
    with pytest.raises(ValueError, match='heads must be a non-empty subset'):
        _toy_cacl(heads=('global', ))
    with pytest.raises(ValueError, match='pixel_positive must be'):
        _toy_cacl(pixel_positive='flow')


def test_cacl_demo_resumes_with_its_queues(demo_world, tmp_path):
    wd = tmp_path / 'wd'
    opts = [f'train_dataloader.dataset.data_root={demo_world}', 'train_dataloader.batch_size=4',
            'train_dataloader.dataset.pipeline.0.scale=64', 'model.queue_len=40',
            'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1']
    r = run_tool([sys.executable, 'tools/train.py', DEMO, '--work-dir', str(wd),
                  '--cfg-options', 'train_cfg.max_iters=2', *opts])
    assert r.returncode == 0, r.stderr[-3000:]
    r = run_tool([sys.executable, 'tools/train.py', DEMO, '--work-dir', str(wd), '--resume',
                  '--cfg-options', 'train_cfg.max_iters=3', *opts])
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'resumed' in (r.stdout + r.stderr).lower()
    two = torch.load(wd / 'iter_2.pth', weights_only=True)['state_dict']
    three = torch.load(wd / 'iter_3.pth', weights_only=True)['state_dict']
    # global queue: 4 images per iteration; pixel / cycle queues: 4 x 8 pixels (length 40)
    assert int(two['queues.global_.ptr']) == 8 and int(three['queues.global_.ptr']) == 12
    assert int(two['queues.pixel.ptr']) == 64 % 40 and int(three['queues.pixel.ptr']) == 96 % 40
    # the resumed run continued from the saved queue: rows not written in iteration 3 are kept
    torch.testing.assert_close(three['queues.global_.queue'][:8], two['queues.global_.queue'][:8])
    assert not torch.allclose(three['queues.global_.queue'][8:12],
                              two['queues.global_.queue'][8:12])


def test_kinetics_config_reads_a_class_folder_layout_of_real_videos(tmp_path):
    """The paper's data path: Kinetics-400's <class>/<video>.mp4 layout, pairs 8 frames apart,
    one crop box for both frames, MoCo-v2 colour per view, read from real (offline) videos."""
    from mmengine.config import Config
    from mmengine.registry import DATASETS

    from helpers import REPO
    from mmdense.datasets import sample_video_path
    root = tmp_path / 'kinetics400' / 'train'
    for cls, name in (('riding a bike', 'bikes'), ('talking on cell phone', 'carphone')):
        (root / cls).mkdir(parents=True)
        os.symlink(sample_video_path(name), root / cls / f'{name}_000001_000011.mp4')
    cfg = Config.fromfile(f'{REPO}/configs/cacl/cacl_resnet18-d8_16xb32-200e_kinetics400.py')
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.data_root = str(root)
    init_default_scope('mmdense')
    ds = DATASETS.build(ds_cfg)
    assert len(ds) == 2 and (tmp_path / 'kinetics400' / 'kinetics400_train_index.json').exists()
    torch.manual_seed(0)
    import numpy as np
    np.random.seed(0)
    item = ds[0]
    v1, v2 = item['inputs']
    assert v1.shape == v2.shape == (3, 224, 224)
    for i in range(2):
        t1, t2 = ds.sample_pair(ds.get_data_info(i))
        assert t2 - t1 == 8


def test_pair_box_crop_uses_one_box_for_both_frames():
    import numpy as np

    from mmdense.datasets.transforms import DuplicateAsPair, PairRandomResizedBoxCrop
    img = np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    res = DuplicateAsPair()(dict(img=img))
    res['img2'] = res['img2'][:, ::-1].copy()  # a different second frame, same size
    np.random.seed(0)
    out = PairRandomResizedBoxCrop(scale=32, crop_ratio_range=(0.2, 0.5))(dict(res))
    x1, y1, x2, y2 = out['crop_bbox']
    assert out['img'].shape == out['img2'].shape == (32, 32, 3)
    import mmcv
    exp2 = mmcv.imresize(res['img2'][y1:y2 + 1, x1:x2 + 1], (32, 32))
    np.testing.assert_array_equal(out['img2'], exp2)
    with pytest.raises(ValueError, match='differ in size'):
        PairRandomResizedBoxCrop(scale=32)(dict(img=img, img2=img[:30]))


def test_pair_flip_flips_both_frames_together_or_neither():
    import numpy as np

    from mmdense.datasets.transforms import PairRandomFlip
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)
    img2 = rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)
    np.random.seed(0)
    flips = []
    for _ in range(40):
        out = PairRandomFlip(prob=0.5)(dict(img=img.copy(), img2=img2.copy()))
        flips.append(out['flip'])
        exp1, exp2 = (img[:, ::-1], img2[:, ::-1]) if out['flip'] else (img, img2)
        np.testing.assert_array_equal(out['img'], exp1)
        np.testing.assert_array_equal(out['img2'], exp2)
    assert 5 < sum(flips) < 35
    with pytest.raises(ValueError, match='RandomAffineView'):
        PairRandomFlip()(dict(img=img, img2=img2, flow_fw=np.zeros((20, 30, 2), np.float32)))
    with pytest.raises(ValueError, match='differ in size'):
        PairRandomFlip()(dict(img=img, img2=img2[:10]))
