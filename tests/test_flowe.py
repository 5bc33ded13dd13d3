"""FlowE: geometry, masks, loss, gradients / EMA, data layer."""
import copy
import os.path as osp

import cv2
import numpy as np
import pytest
import skimage.data
import torch
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope

from helpers import tiny_flowe
from mmdense.datasets import FramePairDataset
from mmdense.datasets.flow_estimators import build_flow_estimator, endpoint_error
from mmdense.datasets.transforms import PairRandomResizedCrop, RandomAffineView, read_flow
from mmdense.datasets.transforms.flow import FlowReadError
from mmdense.structures import forward_backward_consistency, sample_at, view_correspondence


def _photo(h=96, w=128):
    img = skimage.data.astronaut()[..., ::-1]
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(img, (0, 0), 1.0)


def _affine_flow(m, h, w):
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    return np.stack([m[0, 0] * xs + m[0, 1] * ys + m[0, 2] - xs,
                     m[1, 0] * xs + m[1, 1] * ys + m[1, 2] - ys], -1).astype(np.float32)


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a)).float()


def test_composed_transform_reproduces_the_other_view():
    """A real photo moved by a known affine (frame 2) gives an exact flow; two random view
    affines on top: sampling view 2 at T(v1) = A2 . F . A1^-1 reproduces view 1."""
    h, w = 96, 128
    f1 = _photo(h, w).astype(np.float32)
    motion = cv2.getRotationMatrix2D((60, 50), 4.0, 1.05)
    motion[:, 2] += (3.0, -2.0)
    f2 = cv2.warpAffine(f1, motion, (w, h), flags=cv2.INTER_LINEAR)
    flow = _affine_flow(motion, h, w)
    np.random.seed(0)
    aff = RandomAffineView(scale_range=(0.85, 1.2), rotation_range=(-15, 15))
    a1, a2 = aff.sample_matrix(h, w), aff.sample_matrix(h, w)
    v1 = cv2.warpAffine(f1, a1[:2], (w, h), flags=cv2.INTER_LINEAR)
    v2 = cv2.warpAffine(f2, a2[:2], (w, h), flags=cv2.INTER_LINEAR)
    ys, xs = np.mgrid[0:h, 0:w]
    query = _t(np.stack([xs, ys]))[None]
    coords, valid = view_correspondence(query, _t(a1)[None], _t(a2)[None],
                                        _t(flow.transpose(2, 0, 1))[None], tgt_size=(h, w))
    warped, inside = sample_at(_t(v2.transpose(2, 0, 1))[None], coords)
    ok = (valid & inside)[0, 0].numpy()
    ok = cv2.erode(ok.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0  # frame-2 borders
    assert ok.mean() > 0.4
    err = np.abs(warped[0].permute(1, 2, 0).numpy() - v1)[ok].mean()
    base = np.abs(v2 - v1)[ok].mean()
    assert err < 3.0 and err < 0.15 * base, (err, base)


def test_fb_check_flags_exactly_occluded_and_out_of_view_pixels():
    """Static background, a 10x10 square moving 6 px right: background pixels the square covers
    in frame 2 and square pixels leaving the frame fail; everything else passes."""
    h, w = 32, 40
    fw = np.zeros((h, w, 2), np.float32)
    bw = np.zeros((h, w, 2), np.float32)
    y0, x0, s, d = 10, 28, 10, 6  # square spans x 28..37 in frame 1, 34..43 in frame 2
    fw[y0:y0 + s, x0:x0 + s, 0] = d
    bw[y0:y0 + s, x0 + d:x0 + s + d, 0] = -d
    valid = forward_backward_consistency(_t(fw.transpose(2, 0, 1))[None],
                                         _t(bw.transpose(2, 0, 1))[None])[0, 0].numpy()
    expected = np.ones((h, w), bool)
    expected[y0:y0 + s, x0 + d:x0 + s + d][:, :w - x0 - d] = False  # covered background
    expected[y0:y0 + s, x0:x0 + s] = True
    expected[y0:y0 + s, x0:x0 + s][:, s - (x0 + s + d - w):] = False  # square leaves the view
    # the square's own pixels that land under itself are fine
    np.testing.assert_array_equal(valid, expected)


def test_fb_check_agrees_with_the_demo_worlds_exact_occlusions(demo_world):
    agree = []
    for t in range(4):
        fw = read_flow(osp.join(demo_world, 'flow_fw', 'clip_001', f'{t:05d}.flo'))
        bw = read_flow(osp.join(demo_world, 'flow_bw', 'clip_001', f'{t:05d}.flo'))
        exact = cv2.imread(osp.join(demo_world, 'valid_fw', 'clip_001', f'{t:05d}.png'), 0) > 0
        est = forward_backward_consistency(_t(fw.transpose(2, 0, 1))[None],
                                           _t(bw.transpose(2, 0, 1))[None])[0, 0].numpy()
        agree.append((est == exact).mean())
        assert (~exact).any()
    assert np.mean(agree) > 0.97, agree


def _pipeline(demo_world, scale=(1.0, 1.0)):
    return FramePairDataset(demo_world, sources='splits/train_clips.txt', pipeline=[
        dict(type='LoadFlow', flow_root=demo_world,
             template='flow_{direction}/{source_name}/{t1:05d}.flo',
             valid_template='valid_{direction}/{source_name}/{t1:05d}.png'),
        dict(type='PairRandomResizedCrop', crop_size=(48, 64), scale_range=scale),
        dict(type='FramePairToViews', transforms=[dict(type='RandomAffineView')]),
        dict(type='PackFlowInputs')])


def _batch(ds, model, n=2):
    from mmengine.dataset import default_collate
    np.random.seed(0)
    return model.data_preprocessor(default_collate([ds[i] for i in range(n)]), training=True)


@pytest.mark.parametrize('resolution', ['feature', 'image', 'image-from-stride-4'])
def test_loss_is_zero_for_equivariant_features_and_positive_otherwise(demo_world, resolution):
    """Use the views themselves as 'features' (exactly equivariant up to interpolation).
    'image-from-stride-4': the loss at image resolution on stride-4 features, brought to the
    pixels as FlowE does (cell j stays on pixel 4j)."""
    from mmdense.structures import upsample_cells
    init_default_scope('mmdense')
    pooled = resolution != 'image'
    resolution = resolution[:5] if resolution.startswith('image') else resolution
    model = tiny_flowe(resolution=resolution, occlusion='given')
    ds = _pipeline(demo_world)
    data = _batch(ds, model)
    v1, v2 = data['inputs']
    samples = data['data_samples']
    a1 = torch.stack([s.affine_v1 for s in samples])
    a2 = torch.stack([s.affine_v2 for s in samples])
    fw = torch.stack([s.flow_fw for s in samples])
    vfw = torch.stack([s.flow_valid_fw for s in samples])
    # features at stride 4 (pooled): a padded 5x5 average with stride 4 centres cell j on
    # pixel 4j, as a ResNet does (mmdense.structures.geometry; equivariant up to smoothing)
    pool = torch.nn.AvgPool2d(5, stride=4, padding=2, count_include_pad=False) \
        if pooled else torch.nn.Identity()
    f1, f2 = pool(v1), pool(v2)
    warped, valid = model.warp_target(f2, v1.shape[-2:], a1, a2, fw, vfw, fw.shape[-2:])
    pred = upsample_cells(f1, size=v1.shape[-2:]) if resolution == 'image' else f1
    assert valid.float().mean() > 0.3
    core = valid.clone()
    good = model.loss_module(pred, warped, core)
    bad = model.loss_module(pred, warped.flip(0), core)  # the other sample's features
    rand = model.loss_module(torch.randn_like(pred), warped, core)
    # 2 - 2cos: 0 for identical directions, ~2 for unrelated ones
    # image-from-stride-4: 0.064 (0.103 with align_corners=False)
    assert good < (0.04 if not pooled else 0.08 if resolution == 'image' else 0.1), good
    assert bad > 20 * good and rand > 20 * good, (good, bad, rand)


def test_gradients_reach_only_the_online_branch_and_ema_moves_the_target(demo_world):
    model = tiny_flowe()
    MessageHub.get_current_instance().update_info('max_iters', 10)
    data = _batch(_pipeline(demo_world, scale=(0.9, 1.1)), model)
    target_before = copy.deepcopy(model.target_net.state_dict())
    losses = model.loss(data['inputs'], data['data_samples'])
    assert losses['loss'] > 0 and 0.2 < losses['valid_ratio'] <= 1
    losses['loss'].backward()
    assert all(p.grad is None for p in model.target_net.parameters())
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert model.predictor.mlp[0].weight.grad.abs().sum() > 0
    # one optimiser step on the online net, then the EMA moves the target towards it
    with torch.no_grad():
        for p in list(model.backbone.parameters()) + list(model.neck.parameters()):
            if p.grad is not None:
                p -= 0.1 * p.grad
    online = model.backbone.conv1.weight.detach().clone()
    before = model.target_net.module[0].conv1.weight.detach().clone()
    model.target_net.update_parameters(torch.nn.Sequential(model.backbone, model.neck))
    after = model.target_net.module[0].conv1.weight.detach()
    assert not torch.equal(before, after)
    assert (after - online).norm() < (before - online).norm()
    assert set(target_before) == set(model.target_net.state_dict())


def test_sampled_pixels_estimate_the_dense_loss(demo_world):
    """``num_pixels``: the online MLPs run on a uniform sample of valid locations; with
    per-pixel MLPs (no BN) the sample mean is an unbiased estimate of the dense loss and equals it
    when the sample covers every valid location."""
    bn_free = dict(norm_cfg=None)
    model = tiny_flowe(neck=dict(type='DenseNonLinearNeck', in_channels=512, hid_channels=32,
                                 out_channels=16, **bn_free),
                       predictor=dict(type='DenseNonLinearNeck', in_channels=16,
                                      hid_channels=32, out_channels=16, **bn_free))
    data = _batch(_pipeline(demo_world, scale=(0.9, 1.1)), model)
    v1 = data['inputs'][0]
    torch.manual_seed(0)
    h, w = v1.shape[-2] // 8, v1.shape[-1] // 8
    target = torch.randn(2, 16, h, w)
    valid = torch.rand(2, 1, h, w) > 0.4
    n_valid = int(valid.sum())
    with torch.no_grad():
        dense = model._pixel_loss(v1, target, valid, v1.shape[-2:])
        model.num_pixels = h * w  # >= every valid location: the sample is all of them
        assert torch.allclose(model._pixel_loss(v1, target, valid, v1.shape[-2:]), dense,
                              atol=1e-5)
        model.num_pixels = 3
        seen = []
        hook = model.predictor.register_forward_hook(
            lambda mod, inp, out: seen.append(inp[0][0].shape))
        draws = torch.stack([model._pixel_loss(v1, target, valid, v1.shape[-2:])
                             for _ in range(300)])
        hook.remove()
    assert all(shape == (1, 16, 6, 1) for shape in seen)  # 3 locations x 2 images
    assert draws.std() > 0.01  # really a sample ...
    assert abs(draws.mean() - dense) < 4 * draws.std() / 300 ** 0.5 + 1e-3, (draws.mean(), dense)
    assert n_valid > 6


def test_sampled_pixels_train_and_handle_no_valid_location(demo_world):
    model = tiny_flowe(num_pixels=5)
    MessageHub.get_current_instance().update_info('max_iters', 10)
    data = _batch(_pipeline(demo_world, scale=(0.9, 1.1)), model)
    loss = model.loss(data['inputs'], data['data_samples'])['loss']
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert model.predictor.mlp[0].weight.grad.abs().sum() > 0
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    model.zero_grad()
    v1 = data['inputs'][0]
    none_valid = torch.zeros(2, 1, v1.shape[-2] // 8, v1.shape[-1] // 8, dtype=torch.bool)
    zero = model._pixel_loss(v1, torch.randn(2, 16, *none_valid.shape[-2:]), none_valid,
                             v1.shape[-2:])
    assert zero.item() == 0
    zero.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    with pytest.raises(ValueError, match="num_pixels needs resolution='feature'"):
        tiny_flowe(num_pixels=5, resolution='image')


@pytest.mark.parametrize('kw', [dict(correspondence='identity'), dict(pixel=False),
                                dict(symmetric=False), dict(occlusion='none')])
def test_ablation_switches_train(demo_world, kw):
    model = tiny_flowe(**kw)
    MessageHub.get_current_instance().update_info('max_iters', 10)
    data = _batch(_pipeline(demo_world), model)
    loss = model.loss(data['inputs'], data['data_samples'])['loss']
    assert torch.isfinite(loss) and loss > 0
    loss.backward()


@pytest.mark.parametrize('interval,stem', [(1, '{t1:05d}'), (4, '{t1:05d}_{t2:05d}')])
def test_pair_crop_keeps_the_flow_exact(demo_world, interval, stem):
    """After a random pair resize + same-location crop, the (rescaled) exact flow still maps
    frame 1 onto frame 2: consecutive frames, and frames 4 apart (the demo configs' pairs)."""
    from mmdense.datasets.transforms import LoadFlow
    ds = FramePairDataset(demo_world, sources='splits/train_clips.txt', interval_frames=interval)
    np.random.seed(3)
    res = LoadFlow(demo_world, f'flow_{{direction}}/{{source_name}}/{stem}.flo',
                   f'valid_{{direction}}/{{source_name}}/{stem}.png')(ds[0])
    assert abs(res['frame_ids'][1] - res['frame_ids'][0]) == interval
    res = PairRandomResizedCrop((48, 64), scale_range=(1.3, 1.5))(res)
    assert res['img'].shape == (48, 64, 3) and res['flow_fw'].shape == (48, 64, 2)
    img1, img2 = res['img'].astype(np.float32), res['img2'].astype(np.float32)
    ys, xs = np.mgrid[0:48, 0:64].astype(np.float32)
    warped = cv2.remap(img2, xs + res['flow_fw'][..., 0], ys + res['flow_fw'][..., 1],
                       cv2.INTER_LINEAR)
    inside = ((xs + res['flow_fw'][..., 0] >= 0) & (xs + res['flow_fw'][..., 0] <= 63)
              & (ys + res['flow_fw'][..., 1] >= 0) & (ys + res['flow_fw'][..., 1] <= 47))
    ok = cv2.erode((res['flow_valid_fw'] & inside).astype(np.uint8), np.ones((3, 3))) > 0
    assert ok.mean() > 0.5
    assert np.abs(warped - img1)[ok].mean() < 0.3 * np.abs(img2 - img1)[ok].mean()


def test_random_affine_records_the_map_it_applied():
    img = _photo(48, 64)
    np.random.seed(1)
    out = RandomAffineView(scale_range=(1.2, 1.2), rotation_range=(10, 10), flip_prob=1.0)(
        dict(img=img.copy()))
    m = out['affine']
    ref = cv2.warpAffine(img, m[:2], (64, 48), flags=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(out['img'], ref)
    assert m[0, 0] < 0  # the flip is in the matrix
    ident = RandomAffineView(scale_range=(1, 1), rotation_range=(0, 0))(dict(img=img.copy()))
    np.testing.assert_array_equal(ident['affine'], np.eye(3))
    np.testing.assert_array_equal(ident['img'], img)


def test_dis_flow_accuracy(demo_world):
    """DIS medium (the default estimator): end-point error against exact flow."""
    est = build_flow_estimator('dis_medium')
    epe = []
    for t in range(4):
        a = cv2.imread(osp.join(demo_world, 'frames', 'clip_000', f'{t:05d}.png'))
        b = cv2.imread(osp.join(demo_world, 'frames', 'clip_000', f'{t + 1:05d}.png'))
        gt = read_flow(osp.join(demo_world, 'flow_fw', 'clip_000', f'{t:05d}.flo'))
        valid = cv2.imread(osp.join(demo_world, 'valid_fw', 'clip_000', f'{t:05d}.png'), 0) > 0
        epe.append(endpoint_error(est(a, b), gt, valid))
    zero = endpoint_error(np.zeros_like(gt), gt, valid)
    assert np.mean(epe) < 0.6 * zero, (epe, zero)  # the clip moves < 1 px per frame
    # a real photo moved by a known affine
    h, w = 192, 256
    f1 = cv2.resize(skimage.data.astronaut()[..., ::-1], (w, h))
    motion = cv2.getRotationMatrix2D((w / 2, h / 2), 2.0, 1.02)
    motion[:, 2] += (4.0, 2.0)
    f2 = cv2.warpAffine(f1, motion, (w, h))
    gt = _affine_flow(motion, h, w)
    inner = np.zeros((h, w), bool)
    inner[16:-16, 16:-16] = True
    assert endpoint_error(est(f1, f2), gt, inner) < 1.0


def test_bad_flow_files(demo_world, tmp_path):
    flow = np.zeros((10, 12, 2), np.float32)
    cv2.writeOpticalFlow(str(tmp_path / 'f.flo'), flow)
    with pytest.raises(ValueError, match='12x10 but its frames are 13x10'):
        read_flow(str(tmp_path / 'f.flo'), (10, 13))
    with pytest.raises(FlowReadError, match='compute_flow.py'):  # the reader's one error type
        read_flow(str(tmp_path / 'nope.flo'))
    flow[0, 0, 0] = np.nan
    cv2.writeOpticalFlow(str(tmp_path / 'nan.flo'), flow)
    with pytest.raises(ValueError, match='NaN'):
        read_flow(str(tmp_path / 'nan.flo'))
    (tmp_path / 'bad.flo').write_bytes(b'garbage')
    with pytest.raises(ValueError, match='corrupt'):
        read_flow(str(tmp_path / 'bad.flo'))
