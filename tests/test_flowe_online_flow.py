"""FlowE with the paper's frozen flow network in the train step (issue 16): RAFTFlow, its weights
and converter, the frozen network kept out of optimizer / checkpoints, cache-index-aware pair
drawing, out-of-view masking in every occlusion mode, and the optimizer's parameter groups."""
import copy
import glob
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from helpers import REPO, tiny_flowe
from mmdense.datasets import FramePairDataset
from mmdense.datasets.transforms import read_flow

FLOWE_DEMO = 'configs/flowe/flowe_resnet18-d8_1xb8-300iters_demo-world.py'
SEG = 'configs/readout/seg/deeplabv1_r18-d8-frozen_1xb8-400iters_demo-world.py'
META = ('sample_idx', 'img_path', 'img_shape', 'frame_ids')


@pytest.fixture(scope='module')
def raft_ckpts(tmp_path_factory):
    """Random-init torchvision RAFT state dicts (the format of torchvision's weight files)."""
    from torchvision.models.optical_flow import raft_large, raft_small
    root = tmp_path_factory.mktemp('raft')
    paths = {}
    for arch, fn in (('raft_small', raft_small), ('raft_large', raft_large)):
        torch.manual_seed(0)
        paths[arch] = str(root / f'{arch}.pth')
        torch.save(fn(weights=None).state_dict(), paths[arch])
    return paths


def _raft_cfg(path, arch='raft_small', **kw):
    return dict(type='RAFTFlow', arch=arch, checkpoint=path, num_flow_updates=2, **kw)


# ----------------------------------------------------------------- the frozen network in training
def test_train_step_keeps_raft_frozen_and_out_of_the_checkpoint(demo_world, raft_ckpts, tmp_path):
    """A real runner trains the demo config for 2 iterations with a random-init raft_small
    computing the flow online: RAFT's weights are bit-identical afterwards, it has no optimizer
    group, it stays in eval mode, it is not in the checkpoint, and the checkpoint loads strictly
    into the frozen MMSeg readout."""
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(REPO, FLOWE_DEMO))
    cfg.model.flow_net = _raft_cfg(raft_ckpts['raft_small'])
    pipeline = [t for t in cfg.train_dataloader.dataset.pipeline if t['type'] != 'LoadFlow']
    crop = [i for i, t in enumerate(pipeline) if t['type'] == 'PairRandomResizedCrop'][0]
    pipeline.insert(crop + 1, dict(type='KeepFlowFrames'))
    cfg.train_dataloader.dataset.pipeline = pipeline
    cfg.train_dataloader.dataset.data_root = demo_world
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.max_iters = 2
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=2)]
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(tmp_path / 'wd')
    runner = Runner.from_cfg(cfg)
    flow_net = runner.model.flow_net
    before = {k: v.clone() for k, v in flow_net.state_dict().items()}
    calls = []
    flow_net.register_forward_hook(lambda m, i, o: calls.append(tuple(o.shape)))
    runner.train()
    assert calls and calls[0][1] == 2  # ran in the train step: (2 x batch, 2, H, W) flows
    assert not flow_net.training and runner.model.training
    for k, v in flow_net.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0, msg=k)
    flow_ids = {id(p) for p in flow_net.parameters()}
    grouped = [p for g in runner.optim_wrapper.optimizer.param_groups for p in g['params']]
    assert grouped and not flow_ids & {id(p) for p in grouped}
    assert not flow_ids & {id(p) for p in runner.model.parameters()}
    ckpt = torch.load(tmp_path / 'wd' / 'iter_2.pth', map_location='cpu', weights_only=True)
    keys = list(ckpt['state_dict'])
    assert not [k for k in keys if 'flow' in k or 'raft' in k], keys[:5]
    n_opt = sum(len(g['params']) for g in ckpt['optimizer']['param_groups'])
    assert n_opt == len(grouped)
    # the pretraining checkpoint loads strictly into the frozen MMSeg readout
    from mmseg.registry import MODELS as SEG_MODELS
    init_default_scope('mmseg')
    seg_cfg = Config.fromfile(osp.join(REPO, SEG))
    seg_cfg.model.backbone.pretrained_ckpt = str(tmp_path / 'wd' / 'iter_2.pth')
    seg = SEG_MODELS.build(seg_cfg.model)
    seg.init_weights()
    n = 0
    for k, v in seg.backbone.state_dict().items():
        torch.testing.assert_close(v, ckpt['state_dict'][f'backbone.{k}'], rtol=0, atol=0, msg=k)
        n += 1
    assert n > 100
    init_default_scope('mmdense')


def test_frozen_net_is_not_converted_to_syncbn_and_follows_the_model(raft_ckpts):
    """raft_large has BatchNorm in its context encoder: SyncBN conversion (mmengine's and
    torch's) must not reach it; train() keeps it in eval; .to() moves it with the model."""
    from mmengine.model import convert_sync_batchnorm
    model = tiny_flowe(flow_net=_raft_cfg(raft_ckpts['raft_large'], arch='raft_large'))
    bns = [m for m in model.flow_net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns
    converted = convert_sync_batchnorm(model)
    torch.nn.SyncBatchNorm.convert_sync_batchnorm(converted)
    assert isinstance(converted.backbone.bn1, torch.nn.SyncBatchNorm)  # the encoder is converted
    assert converted.flow_net is model.flow_net
    assert not any(isinstance(m, torch.nn.SyncBatchNorm) for m in converted.flow_net.modules())
    model.train()
    assert model.training and not model.flow_net.training
    assert all(not p.requires_grad for p in model.flow_net.parameters())
    assert not [k for k in model.state_dict() if 'raft' in k or 'flow_net' in k]
    model.to(torch.float64)
    assert next(model.flow_net.parameters()).dtype == torch.float64
    model.float()


# ----------------------------------------------------------------- online = cached, exactly
class _ExactFlowStandIn(torch.nn.Module):
    """Returns the demo world's exact flow for two full RGB frames, found by their content."""

    def __init__(self, demo_world):
        super().__init__()
        self.frames, self.flows = {}, {}
        for path in sorted(glob.glob(osp.join(demo_world, 'frames', '*', '*.png'))):
            clip, t = osp.basename(osp.dirname(path)), int(osp.splitext(osp.basename(path))[0])
            rgb = cv2.imread(path)[..., ::-1].transpose(2, 0, 1)
            self.frames[np.ascontiguousarray(rgb).tobytes()] = (clip, t)
            for d in ('fw', 'bw'):
                f = osp.join(demo_world, f'flow_{d}', clip, f'{t:05d}.flo')
                if osp.exists(f):
                    self.flows[(clip, t, d)] = torch.from_numpy(read_flow(f).transpose(2, 0, 1))
        self.calls = 0

    def _find(self, img):
        return self.frames[img.to(torch.uint8).cpu().numpy().tobytes()]

    def forward_backward(self, img1, img2):
        self.calls += 1
        fw, bw = [], []
        for a, b in zip(img1, img2):
            (clip, t1), (_, t2) = self._find(a), self._find(b)
            lo = min(t1, t2)
            f, g = self.flows[(clip, lo, 'fw')], self.flows[(clip, lo, 'bw')]
            fw.append(f if t1 < t2 else g)
            bw.append(g if t1 < t2 else f)
        return torch.stack(fw), torch.stack(bw)


def test_online_path_gives_the_cached_exact_flow_loss(demo_world):
    h, w = cv2.imread(glob.glob(osp.join(demo_world, 'frames', '*', '*.png'))[0]).shape[:2]
    ds = FramePairDataset(demo_world, sources='splits/train_clips.txt', random_order=True,
                          pipeline=[
                              dict(type='LoadFlow',
                                   template='flow_{direction}/{source_name}/{t1:05d}.flo'),
                              dict(type='PairRandomResizedCrop', crop_size=(h, w)),
                              dict(type='KeepFlowFrames'),
                              dict(type='FramePairToViews',
                                   transforms=[dict(type='RandomAffineView')]),
                              dict(type='PackFlowInputs', meta_keys=META)])
    standin = _ExactFlowStandIn(demo_world)
    torch.manual_seed(0)
    cached = tiny_flowe()
    torch.manual_seed(0)
    online = tiny_flowe(flow_net=standin)
    for k, v in cached.state_dict().items():
        torch.testing.assert_close(online.state_dict()[k], v, rtol=0, atol=0)
    MessageHub.get_current_instance().update_info('max_iters', 10)
    np.random.seed(2)
    data = cached.data_preprocessor(default_collate([ds[i] for i in range(3)]), training=True)
    # random order: pairs drawn forwards and backwards (the stand-in swaps the exact flows)
    assert {s.frame_ids[0] > s.frame_ids[1] for s in data['data_samples']} == {True, False}
    out_cached = cached.loss(data['inputs'], data['data_samples'])
    out_online = online.loss(data['inputs'], data['data_samples'])
    assert standin.calls == 1
    assert 0.3 < float(out_cached['valid_ratio']) < 1
    assert abs(float(out_online['loss']) - float(out_cached['loss'])) < 1e-5
    assert float(out_online['valid_ratio']) == float(out_cached['valid_ratio'])
    # without the kept frames the online path says what to add
    for s in data['data_samples']:
        del s.frames
    with pytest.raises(KeyError, match='KeepFlowFrames'):
        online.loss(data['inputs'], data['data_samples'])


# ----------------------------------------------------------------- weights: errors, converter
def _one_line(exc):
    msg = str(exc.value)
    assert '\n' not in msg, msg
    return msg


def test_missing_or_wrong_weights_fail_at_build_with_one_line(raft_ckpts, tmp_path):
    missing = str(tmp_path / 'nope' / 'raft.pth')
    with pytest.raises(FileNotFoundError) as e:
        tiny_flowe(flow_net=_raft_cfg(missing, arch='raft_large'))
    msg = _one_line(e)
    assert 'model.flow_net.checkpoint' in msg and missing in msg
    assert 'raft_to_torchvision.py' in msg and 'download.pytorch.org' in msg
    # raft_small weights named for raft_large: the wrong architecture
    with pytest.raises(ValueError) as e:
        tiny_flowe(flow_net=_raft_cfg(raft_ckpts['raft_small'], arch='raft_large'))
    msg = _one_line(e)
    assert raft_ckpts['raft_small'] in msg and 'does not fit torchvision raft_large' in msg
    assert 'model.flow_net.checkpoint' in msg
    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(b'not a checkpoint')
    with pytest.raises(ValueError) as e:
        tiny_flowe(flow_net=_raft_cfg(str(garbage)))
    assert str(garbage) in _one_line(e)


@pytest.mark.parametrize('arch', ['raft_small', 'raft_large'])
def test_original_raft_checkpoints_convert_exactly(arch, raft_ckpts, tmp_path, capsys):
    """A state dict in the RAFT repository's naming (built by inverting the mapping from a random
    torchvision model, with the duplicate downsample norms and ``module.`` prefix the original
    files carry) converts back to torchvision's names and gives bit-identical flow, through the
    converter tool and through RAFTFlow's on-the-fly conversion."""
    import importlib.util

    from mmdense.models.flow.raft import RAFTFlow, torchvision_to_princeton
    ref = RAFTFlow(raft_ckpts[arch], arch=arch, num_flow_updates=2)
    orig = torchvision_to_princeton(ref.raft.state_dict())
    # key names of princeton-vl/RAFT core/raft.py, extractor.py, update.py
    expect = ['module.fnet.conv1.weight', 'module.fnet.layer1.0.conv1.weight',
              'module.fnet.layer2.0.downsample.0.weight', 'module.cnet.conv2.bias',
              'module.update_block.encoder.convc1.weight', 'module.update_block.encoder.conv.bias',
              'module.update_block.flow_head.conv2.weight']
    if arch == 'raft_large':
        expect += ['module.cnet.norm1.running_var', 'module.cnet.layer2.0.norm3.weight',
                   'module.cnet.layer2.0.downsample.1.weight',
                   'module.update_block.gru.convq2.bias',
                   'module.update_block.encoder.convc2.weight',
                   'module.update_block.mask.2.weight']
    else:
        expect += ['module.update_block.gru.convz.weight', 'module.fnet.layer1.0.conv3.weight']
    assert not [k for k in expect if k not in orig]
    orig_path = tmp_path / 'raft-things.pth'
    torch.save(orig, orig_path)
    out = tmp_path / 'converted.pth'
    spec = importlib.util.spec_from_file_location(
        'raft_to_torchvision', osp.join(REPO, 'tools/model_converters/raft_to_torchvision.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main([str(orig_path), str(out)]) == str(out)
    assert arch in capsys.readouterr().out
    torch.manual_seed(1)
    a = torch.randint(0, 256, (1, 3, 128, 136), dtype=torch.uint8)
    b = torch.roll(a, shifts=(2, 3), dims=(2, 3))
    flow_ref = ref(a, b)
    for path in (out, orig_path):  # converted file, and the original file converted on load
        net = RAFTFlow(str(path), arch=arch, num_flow_updates=2)
        torch.testing.assert_close(net(a, b), flow_ref, rtol=0, atol=0)
    assert flow_ref.shape == (1, 2, 128, 136) and flow_ref.abs().sum() > 0


# ----------------------------------------------------------------- caches with an index
def test_step3_cache_trains_and_a_cache_that_lacks_pairs_is_refused(demo_world, tmp_path):
    from mmdense.datasets.flow_cache import compute_flow_cache
    out = str(tmp_path / 'flow')
    (tmp_path / 'two.txt').write_text('frames/clip_000\nframes/clip_001\n')
    summary = compute_flow_cache(demo_world, out, interval_frames=1,
                                 sources=str(tmp_path / 'two.txt'), step=3)
    n_frames = len(glob.glob(osp.join(demo_world, 'frames', 'clip_000', '*.png')))
    starts = list(range(0, n_frames - 1, 3))
    assert summary['pairs'] == summary['indexed'] == 2 * len(starts)
    pipeline = [dict(type='LoadFlow', flow_root=out),
                dict(type='PairRandomResizedCrop', crop_size=(48, 64)),
                dict(type='FramePairToViews', transforms=[dict(type='RandomAffineView')]),
                dict(type='PackFlowInputs', meta_keys=META)]
    ds = FramePairDataset(demo_world, sources=str(tmp_path / 'two.txt'), flow_cache=out,
                          pairs_per_source=8, random_order=True, pipeline=pipeline)
    np.random.seed(0)
    items = [ds[i] for i in range(len(ds))]  # no FileNotFoundError: only cached pairs drawn
    drawn = {tuple(sorted(it['data_samples'].frame_ids)) for it in items}
    assert drawn <= {(t, t + 1) for t in starts} and len(drawn) == len(starts)
    model = tiny_flowe()
    MessageHub.get_current_instance().update_info('max_iters', 10)
    data = model.data_preprocessor(default_collate(items[:2]), training=True)
    loss = model.loss(data['inputs'], data['data_samples'])['loss']
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    # a dataset with a source the cache does not hold: refused at start-up, with counts and fix
    (tmp_path / 'three.txt').write_text('frames/clip_000\nframes/clip_001\nframes/clip_002\n')
    with pytest.raises(ValueError) as e:
        FramePairDataset(demo_world, sources=str(tmp_path / 'three.txt'), flow_cache=out)
    msg = str(e.value)
    assert 'for 1 of the 3 sources' in msg and 'frames/clip_002' in msg
    assert 'compute_flow.py' in msg and f'{2 * len(starts)} pairs of 2 sources' in msg
    # another interval than the cache's
    with pytest.raises(ValueError, match='for 2 of the 2 sources'):
        FramePairDataset(demo_world, sources=str(tmp_path / 'two.txt'), flow_cache=out,
                         interval_frames=2)
    # a listed pair whose file was lost
    os.remove(osp.join(out, 'frames', 'clip_001', '000000_000001_fw.flo'))
    with pytest.raises(ValueError, match='1 of the 4 pairs'):
        FramePairDataset(demo_world, sources=str(tmp_path / 'two.txt'), flow_cache=out)
    # a cache without an index (older tool): the fix is to rerun the tool, which writes it
    os.remove(osp.join(out, 'flow_index.json'))
    with pytest.raises(FileNotFoundError, match='flow_index.json'):
        FramePairDataset(demo_world, sources=str(tmp_path / 'two.txt'), flow_cache=out)
    compute_flow_cache(demo_world, out, interval_frames=1, sources=str(tmp_path / 'two.txt'),
                       step=3)
    assert len(FramePairDataset(demo_world, sources=str(tmp_path / 'two.txt'),
                                flow_cache=out)) == 2


# ----------------------------------------------------------------- out-of-view masking
@pytest.mark.parametrize('occlusion', ['none', 'given', 'fb_check'])
def test_out_of_view_pixels_are_masked_in_every_occlusion_mode(occlusion):
    """Frame 2 seen zoomed out (scale 0.5 about the centre) in view 2, flow +12 px in x: frame-1
    pixels whose frame-2 point leaves frame 2 (x > W - 13) still land inside view 2 (on its
    padding), and must have no correspondence."""
    h, w, shift = 32, 48, 12.0
    model = tiny_flowe(occlusion=occlusion, resolution='image')
    zoom = torch.tensor(cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), 0, 0.5))
    a2 = torch.eye(3)
    a2[:2] = zoom.float()
    samples = []
    for _ in range(2):
        s = DataSample()
        s.set_field(torch.eye(3), 'affine_v1', field_type='metainfo')
        s.set_field(a2, 'affine_v2', field_type='metainfo')
        fw = torch.zeros(2, h, w)
        fw[0] = shift
        s.set_field(fw, 'flow_fw', field_type='metainfo')
        s.set_field(-fw, 'flow_bw', field_type='metainfo')
        for k in ('flow_valid_fw', 'flow_valid_bw'):
            s.set_field(torch.ones(1, h, w, dtype=torch.bool), k, field_type='metainfo')
        samples.append(s)
    (fw, bw), (v_fw, _) = model._flow_and_validity(samples, torch.device('cpu'))
    target = torch.randn(2, 4, h // 8, w // 8)
    a1 = torch.eye(3).expand(2, 3, 3)
    _, valid = model.warp_target(target, (h, w), a1, a2.expand(2, 3, 3), fw, v_fw, (h, w))
    leaves = torch.arange(w) + shift > w - 1
    assert not valid[..., leaves].any()
    assert valid[..., 1:-1, 2:w - 14].all()  # everything else keeps its correspondence


# ----------------------------------------------------------------- optimizer parameter groups
def test_parameter_groups_exclude_every_norm_and_bias_and_the_flow_net(raft_ckpts):
    """The paper schedule's LARS groups, listed: every BN weight / bias (backbone, projector and
    predictor, whose BN is `mlp.1`) and every bias has weight decay 0 and is excluded from LARS;
    conv weights keep wd 1e-6 and LARS; the frozen flow network and the EMA target have none."""
    from mmengine.optim import build_optim_wrapper
    model = tiny_flowe(flow_net=_raft_cfg(raft_ckpts['raft_small']))
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/schedules/lars_coslr_60k.py'))
    wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    assert type(wrapper.optimizer).__name__ == 'LARS'
    names = {id(p): n for n, p in model.named_parameters()}
    groups = [(names[id(g['params'][0])], g['weight_decay'], g.get('lars_exclude', False))
              for g in wrapper.optimizer.param_groups]
    assert all(len(g['params']) == 1 for g in wrapper.optimizer.param_groups)
    norm_names = {f'{m}.{p}' for m, mod in model.named_modules()
                  if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm)
                  for p, _ in mod.named_parameters(recurse=False)}
    listed = {n for n, _, _ in groups}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert listed == trainable and not [n for n in listed if n.startswith('target_net')]
    assert {'neck.mlp.1.weight', 'predictor.mlp.1.weight', 'backbone.bn1.weight',
            'backbone.layer2.0.downsample.1.weight'} <= norm_names & listed
    for name, wd, excl in groups:
        if name in norm_names or name.endswith('.bias'):
            assert wd == 0 and excl, (name, wd, excl)
        else:
            assert wd == 1e-6 and not excl, (name, wd, excl)
    assert sum(not excl for _, _, excl in groups) == sum(
        1 for n in listed if n not in norm_names and not n.endswith('.bias'))
