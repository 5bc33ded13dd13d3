"""VADeR: correspondence-keeping views, the pixel NCE, decoder / depth / FPN readouts."""
import glob
import sys

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import default_collate
from mmengine.registry import init_default_scope

from helpers import run_tool

import mmdense  # noqa: F401
from mmdense.structures.geometry import feature_grid_coords, sample_at, view_correspondence
from mmdense.registry import MODELS, TRANSFORMS

DEMO = 'configs/vader/vader_resnet18-fpn_1xb8-300iters_demo-world.py'
READOUT = 'configs/readout/seg/linear-decoder_r18-fpn-frozen_1xb8-400iters_demo-world.py'


def _photo(demo_world):
    """A real photo-textured frame of the demo world, blurred so that bilinear resampling is
    accurate (the test is about geometry, not interpolation)."""
    img = cv2.imread(sorted(glob.glob(f'{demo_world}/frames/clip_000/*.png'))[0])
    return cv2.GaussianBlur(img, (0, 0), 2.0)


def _views(view_sampling='different', appearance=(), scale=64, min_shared=32):
    init_default_scope('mmdense')
    return TRANSFORMS.build(dict(
        type='CorrespondingViews', stride=4, min_shared=min_shared, view_sampling=view_sampling,
        geometric=[dict(type='RandomResizedCropAffine', scale=scale, crop_ratio_range=(0.2, 1.)),
                   dict(type='RandomAffineView', scale_range=(1., 1.), rotation_range=(0., 0.),
                        flip_prob=0.5)],
        appearance=list(appearance)))


def test_correspondence_map_is_exact_for_crops_scales_and_flips(demo_world):
    img = _photo(demo_world)
    views = _views()
    np.random.seed(0)
    flips = 0
    for _ in range(12):
        out = views(dict(img=img.copy()))
        v1, v2 = (torch.from_numpy(v).permute(2, 0, 1)[None].float() for v in out['img'])
        a1, a2 = (torch.as_tensor(out[k])[None] for k in ('affine_v1', 'affine_v2'))
        flips += int((a1[0, 0, 0] < 0) != (a2[0, 0, 0] < 0))
        query = feature_grid_coords(1, 16, 16, 4, dtype=torch.float64)
        tgt, valid = view_correspondence(query, a1, a2, tgt_size=(64, 64),
                                         frame_size=img.shape[:2])
        assert valid.sum() >= 32
        from_v2, _ = sample_at(v2.double(), tgt)
        from_v1, _ = sample_at(v1.double(), query)
        err = (from_v2 - from_v1).abs().mean(1, keepdim=True)[valid]
        assert err.mean() < 2.5, err.mean()  # of 255: interpolation only
        # the identity map between the views (ignoring their geometry) is far off
        wrong = (sample_at(v2.double(), query)[0] - from_v1).abs().mean(1, keepdim=True)[valid]
        assert wrong.mean() > 4 * err.mean()
    assert flips > 0  # flipped-vs-unflipped pairs were covered


def test_views_share_pixels_same_view_and_errors(demo_world):
    img = _photo(demo_world)
    np.random.seed(1)
    out = _views('same', appearance=[dict(type='RandomGrayscale', prob=1.0, keep_channels=True,
                                          channel_weights=(0.114, 0.587, 0.2989))])(
        dict(img=img.copy(), img_path='a.png'))
    np.testing.assert_array_equal(out['affine_v1'], out['affine_v2'])
    assert out['frame_shape'] == img.shape[:2] and len(out['img']) == 2
    with pytest.raises(ValueError, match='a.png: no two views sharing 100000 pixels'):
        _views(min_shared=100000)(dict(img=img.copy(), img_path='a.png'))
    with pytest.raises(ValueError, match='view_sampling must be'):
        _views('other')


def _batch(demo_world, n=2, view_sampling='different', seed=0):
    np.random.seed(seed)
    img = _photo(demo_world)
    pack = TRANSFORMS.build(dict(type='PackFlowInputs'))
    views = _views(view_sampling)
    items = [pack(views(dict(img=img.copy(), img_path=f'{i}.png', ori_shape=img.shape[:2],
                             img_shape=img.shape[:2]))) for i in range(n)]
    return default_collate(items)


def _model(**kw):
    init_default_scope('mmdense')
    cfg = dict(type='VADeR', queue_len=128,
               data_preprocessor=dict(type='SelfSupDataPreprocessor',
                                      mean=[123.675, 116.28, 103.53],
                                      std=[58.395, 57.12, 57.375], to_rgb=True),
               backbone=dict(type='ResNet', depth=18, out_indices=(0, 1, 2, 3)),
               neck=dict(type='FPNDecoder', in_channels=[64, 128, 256, 512]))
    cfg.update(kw)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.train()


def test_vader_loss_is_the_pixel_nce_of_corresponding_pixels(demo_world):
    torch.manual_seed(0)
    model = _model(shuffle_bn_splits=1)  # one BN batch: online == momentum at step 0
    data = model.data_preprocessor(_batch(demo_world, view_sampling='same'), True)
    queue = model.queue().clone()
    losses = model.loss(data['inputs'], data['data_samples'])
    # same geometry, no appearance change: v1 == v2, the momentum copy equals the online
    # network at its first update, so every positive has cosine 1
    tau = model.temperature
    q = F.normalize(model._embed(data['inputs'][0]).detach(), dim=1)  # (N, D, h, w)
    pos = torch.full((2, 32), 1.0 / tau)
    neg = torch.einsum('ndhw,kd->nhwk', q, queue) / tau
    # the loss averages 32 sampled grid cells; every cell's loss is bounded by the extremes
    per_cell = -pos[0, 0] + torch.logsumexp(
        torch.cat([torch.full(neg.shape[:3] + (1, ), 1.0 / tau), neg], -1), -1)
    assert per_cell.min() * 10 - 1e-4 <= losses['loss'] <= per_cell.max() * 10 + 1e-4
    assert int(model.queue.ptr) == 2 * 32
    # the newest queue entries are the positives' keys: unit vectors equal to the queries
    keys = model.queue.queue[:64].view(2, 32, -1)
    sims = torch.einsum('nmd,ndp->nmp', keys, q.flatten(2))
    assert torch.allclose(sims.max(-1).values, torch.ones(2, 32), atol=1e-4)


def test_vader_gradients_reach_only_the_online_network_and_unmatched_is_worse(demo_world):
    torch.manual_seed(0)
    data_b = _batch(demo_world, view_sampling='same')
    model = _model(shuffle_bn_splits=1)
    data = model.data_preprocessor(data_b, True)
    loss = model.loss(data['inputs'], data['data_samples'])['loss']
    loss.backward()
    assert model.neck.out_conv.weight.grad.abs().sum() > 0
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.momentum_net.parameters())
    torch.manual_seed(0)
    unmatched = _model(shuffle_bn_splits=1, matching='random')
    data = unmatched.data_preprocessor(data_b, True)
    worse = unmatched.loss(data['inputs'], data['data_samples'])['loss']
    assert worse > loss
    with pytest.raises(ValueError, match='matching must be'):
        _model(matching='flow')


def test_vader_demo_then_frozen_decoder_readout(demo_world, tmp_path):
    wd = tmp_path / 'pre'
    r = run_tool([sys.executable, 'tools/train.py', DEMO, '--work-dir', str(wd),
                  '--cfg-options', f'train_dataloader.dataset.data_root={demo_world}',
                  'train_dataloader.batch_size=2', 'train_cfg.max_iters=2',
                  'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1'])
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'loss:' in r.stdout + r.stderr
    ckpt = wd / 'iter_2.pth'
    state = torch.load(ckpt, weights_only=True)['state_dict']
    assert int(state['queue.ptr']) == 2 * 2 * 32
    ro = tmp_path / 'ro'
    r = run_tool(['bash', 'tools/readout/readout.sh', READOUT, str(ckpt), '1',
                  '--work-dir', str(ro), '--cfg-options', 'train_cfg.max_iters=2',
                  'train_cfg.val_interval=2', 'param_scheduler.0.end=2',
                  f'train_dataloader.dataset.data_root={demo_world}',
                  f'val_dataloader.dataset.data_root={demo_world}',
                  f'test_dataloader.dataset.data_root={demo_world}',
                  'train_dataloader.batch_size=2', 'default_hooks.checkpoint.interval=2'],
                 env=dict(PYTHON=sys.executable))
    assert r.returncode == 0, r.stderr[-3000:]
    log = r.stdout + r.stderr
    assert 'ReadoutResNet: loaded' in log and 'ReadoutFPNDecoder: loaded' in log and 'mIoU' in log
    after = torch.load(ro / 'iter_2.pth', weights_only=True)['state_dict']
    n = 0
    for k, v in state.items():
        if k.startswith(('backbone.', 'neck.')):
            torch.testing.assert_close(after[k], v, rtol=0, atol=0, msg=k)
            n += 1
    assert n > 150 and after['decode_head.conv_seg.weight'].shape == (5, 128, 1, 1)


def test_readout_fpn_takes_the_decoder_fpn_where_shapes_match(tmp_path):
    model = _model()
    ckpt = tmp_path / 'vader.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    from mmdet.registry import MODELS as DET_MODELS
    init_default_scope('mmdet')
    fpn = DET_MODELS.build(dict(type='ReadoutFPN', in_channels=[64, 128, 256, 512],
                                out_channels=256, num_outs=5, norm_cfg=dict(type='BN'),
                                pretrained_ckpt=str(ckpt)))
    fpn.init_weights()
    src = model.neck.fpn
    for name in ('lateral_convs.2.conv.weight', 'fpn_convs.3.conv.weight'):
        torch.testing.assert_close(fpn.state_dict()[name], src.state_dict()[name])
    assert 'lateral_convs.0.bn.weight' in fpn.state_dict()  # added norm: kept at init
    torch.save(dict(state_dict={'neck.other.weight': torch.ones(1)}), tmp_path / 'bad.pth')
    bad = DET_MODELS.build(dict(type='ReadoutFPN', in_channels=[64, 128, 256, 512],
                                out_channels=256, num_outs=5,
                                pretrained_ckpt=str(tmp_path / 'bad.pth')))
    with pytest.raises(KeyError, match='bad.pth'):
        bad.init_weights()


def test_depth_readout_head_l1_on_valid_pixels():
    from mmseg.registry import MODELS as SEG_MODELS
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    init_default_scope('mmseg')
    head = SEG_MODELS.build(dict(type='DepthReadoutHead', in_channels=4, in_index=0))
    feats = torch.randn(1, 4, 4, 4)
    pred = head((feats, ))
    assert pred.shape == (1, 1, 4, 4)
    gt = torch.zeros(1, 8, 8)
    gt[:, :4] = 2.0  # only the top half has ground truth
    ds = SegDataSample(gt_depth_map=PixelData(data=gt))
    loss = head.loss_by_feat(pred, [ds])['loss_depth']
    up = F.interpolate(pred, size=(8, 8), mode='bilinear', align_corners=False)
    torch.testing.assert_close(loss, (up[0, 0, :4] - 2.0).abs().mean())


def test_nyu_depth_readout_on_a_tiny_nyu_layout(tmp_path):
    """The NYU-depth readout config end to end (MMSeg's NYUDataset, DepthEstimator, DepthMetric)
    on generated NYU-layout data, from a VADeR checkpoint: backbone and decoder frozen."""
    model = _model()
    ckpt = tmp_path / 'vader.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    rng = np.random.default_rng(0)
    root = tmp_path / 'nyu'
    for split, n in (('train', 4), ('test', 2)):
        (root / 'images' / split).mkdir(parents=True)
        (root / 'annotations' / split).mkdir(parents=True)
        for i in range(n):
            img = rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)
            depth = (1000 + 3000 * rng.random((64, 80))).astype(np.uint16)  # mm
            cv2.imwrite(str(root / 'images' / split / f'bedroom_{i:05d}.jpg'), img)
            cv2.imwrite(str(root / 'annotations' / split / f'bedroom_{i:05d}.png'), depth)
    cfg = 'configs/readout/depth/linear-decoder_r50-fpn-frozen_4xb4-20k_nyu-480x480.py'
    test_opts = [f'{dl}.dataset.{k}' for dl in ('val_dataloader', 'test_dataloader')
                 for k in (f'data_root={root}', 'pipeline.1.scale=(80,64)')]
    r = run_tool(['bash', 'tools/readout/readout.sh', cfg, str(ckpt), '1',
                  '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
                  'model.backbone.depth=18', 'model.neck.in_channels=[64,128,256,512]',
                  'model.data_preprocessor.size=(48,48)',
                  'train_dataloader.dataset.pipeline.3.crop_size=(48,48)',
                  f'train_dataloader.dataset.data_root={root}', 'train_dataloader.batch_size=2',
                  'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
                  'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
                  'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
                  *test_opts, 'val_evaluator.crop_type=None', 'test_evaluator.crop_type=None',
                  'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
                  'default_hooks.checkpoint.interval=2'],
                 env=dict(PYTHON=sys.executable))
    assert r.returncode == 0, r.stderr[-3000:]
    log = r.stdout + r.stderr
    assert 'ReadoutFPNDecoder: loaded' in log and 'loss_depth' in log
    rmse = float(log.split('rmse: ')[-1].split()[0])
    assert np.isfinite(rmse) and rmse > 0
    after = torch.load(tmp_path / 'wd' / 'iter_2.pth', weights_only=True)['state_dict']
    torch.testing.assert_close(after['neck.out_conv.weight'], model.neck.out_conv.weight,
                               rtol=0, atol=0)
    assert after['decode_head.conv_seg.weight'].shape == (1, 128, 1, 1)
