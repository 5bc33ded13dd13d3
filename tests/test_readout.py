"""Frozen-backbone readout of mmdense checkpoints in MMSeg (the demo-world configs)."""
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from helpers import REPO, run_tool

SEG = 'configs/readout/seg/deeplabv1_r18-d8-frozen_1xb8-400iters_demo-world.py'
FLOWE = 'configs/flowe/flowe_resnet18-d8_1xb8-300iters_demo-world.py'


def _pretrain_ckpt(path, depth=18):
    """A FlowE checkpoint as mmengine writes it (state_dict with backbone./neck./target_net.)."""
    import mmdense  # noqa: F401
    from mmdense.registry import MODELS
    init_default_scope('mmdense')
    cfg = Config.fromfile(f'{REPO}/{FLOWE}')
    cfg.model.backbone.depth = depth
    if depth == 50:
        cfg.model.neck.in_channels = 2048
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save(dict(meta=dict(iter=1), state_dict=model.state_dict()), path)
    return {k[len('backbone.'):]: v for k, v in model.state_dict().items()
            if k.startswith('backbone.')}


def _opts(demo_world, work_dir, ckpt, iters=3):
    return ['--work-dir', str(work_dir), '--cfg-options',
            f'model.backbone.pretrained_ckpt={ckpt}', f'train_cfg.max_iters={iters}',
            f'train_cfg.val_interval={iters}', f'param_scheduler.0.end={iters}',
            f'train_dataloader.dataset.data_root={demo_world}',
            f'val_dataloader.dataset.data_root={demo_world}',
            f'test_dataloader.dataset.data_root={demo_world}',
            'train_dataloader.batch_size=2', f'default_hooks.checkpoint.interval={iters}',
            'default_hooks.logger.interval=1']


def test_pretraining_and_readout_backbones_share_parameter_names():
    import mmdense  # noqa: F401
    from mmpretrain.registry import MODELS as PRE
    from mmseg.registry import MODELS as SEG_MODELS
    for depth in (18, 50):
        kw = dict(depth=depth, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4))
        a = PRE.build(dict(type='ResNet', **kw)).state_dict()
        b = SEG_MODELS.build(dict(type='ReadoutResNet', **kw)).state_dict()
        assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}


def test_frozen_readout_keeps_the_backbone_bit_identical(demo_world, tmp_path):
    ckpt = tmp_path / 'flowe.pth'
    ref = _pretrain_ckpt(ckpt)
    r = run_tool([sys.executable, 'tools/train.py', SEG,
                  *_opts(demo_world, tmp_path / 'wd', ckpt)])
    assert r.returncode == 0, r.stderr[-3000:]
    log = r.stdout + r.stderr
    assert 'ReadoutResNet: loaded' in log and 'mIoU' in log
    after = torch.load(tmp_path / 'wd' / 'iter_3.pth', weights_only=True)['state_dict']
    n = 0
    for k, v in ref.items():  # weights AND BN running statistics
        torch.testing.assert_close(after[f'backbone.{k}'], v, rtol=0, atol=0, msg=k)
        n += 1
    assert n > 100
    head = after['decode_head.conv_seg.weight']
    assert head.shape == (5, 512, 3, 3)


def test_readout_script_and_random_baseline(demo_world, tmp_path):
    r = run_tool(['bash', 'tools/readout/readout.sh', SEG, 'none', '1',
                  *_opts(demo_world, tmp_path / 'wd', 'None', iters=2)],
                 env=dict(PYTHON=sys.executable))
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'ReadoutResNet: loaded' not in r.stdout + r.stderr  # random init: nothing loaded
    r = run_tool(['bash', 'tools/readout/readout.sh', SEG, str(tmp_path / 'missing.pth')],
                 env=dict(PYTHON=sys.executable))
    assert r.returncode == 2 and 'missing.pth does not exist' in r.stderr


@pytest.mark.parametrize('case', ['no_backbone_keys', 'wrong_depth'])
def test_checkpoint_that_does_not_fit_is_refused(demo_world, tmp_path, case):
    ckpt = tmp_path / 'bad.pth'
    if case == 'no_backbone_keys':
        torch.save(dict(state_dict={'encoder.conv1.weight': torch.ones(1)}), ckpt)
        expect = 'has no "backbone.*" weights'
    else:
        _pretrain_ckpt(ckpt, depth=50)
        expect = 'does not fit ReadoutResNet'
    r = run_tool([sys.executable, 'tools/train.py', SEG, *_opts(demo_world, tmp_path / 'wd',
                                                                ckpt)])
    assert r.returncode != 0
    assert expect in r.stderr and 'bad.pth' in r.stderr


def test_extract_backbone_for_other_toolboxes(tmp_path):
    ref = _pretrain_ckpt(tmp_path / 'flowe.pth')
    r = run_tool([sys.executable, 'tools/model_converters/extract_backbone.py',
                  str(tmp_path / 'flowe.pth'), str(tmp_path / 'bb.pth'), '--torchvision'])
    assert r.returncode == 0, r.stderr
    state = torch.load(tmp_path / 'bb.pth', weights_only=True)
    assert set(state) == set(ref)
    # torchvision's own ResNet-18 takes it: mmdense encoders use torchvision's names, and
    # dilation does not change parameter shapes
    from torchvision.models import resnet18
    tv = resnet18()
    missing, unexpected = tv.load_state_dict(state, strict=False)
    assert set(missing) == {'fc.weight', 'fc.bias'} and not unexpected
    torch.testing.assert_close(tv.layer4[1].conv2.weight, ref['layer4.1.conv2.weight'])
    r = run_tool([sys.executable, 'tools/model_converters/extract_backbone.py',
                  str(tmp_path / 'flowe.pth'), str(tmp_path / 'x.pth'), '--prefix', 'enc.'])
    assert r.returncode != 0 and 'no "enc.*" weights' in r.stderr


def test_label_subsets_are_nested_deterministic_and_readable(demo_world, tmp_path):
    from mmdense.datasets.label_subsets import nested_subsets
    subs = nested_subsets([f'img{i}' for i in range(200)], (1, 5, 10, 100), seed=0)
    assert [len(subs[p]) for p in (1, 5, 10, 100)] == [2, 10, 20, 200]
    assert set(subs[1]) < set(subs[5]) < set(subs[10]) < set(subs[100])
    assert nested_subsets([f'img{i}' for i in range(200)], (5, ), seed=0)[5] == subs[5]
    assert nested_subsets([f'img{i}' for i in range(200)], (5, ), seed=1)[5] != subs[5]
    # the tool on a real MMSeg readout config; the subset file feeds MMSeg's own dataset
    r = run_tool([sys.executable, 'tools/misc/make_label_subsets.py', SEG, str(tmp_path),
                  '--fractions', '10', '100', '--cfg-options',
                  f'train_dataloader.dataset.data_root={demo_world}'])
    assert r.returncode == 0, r.stderr[-2000:]
    names = (tmp_path / 'train_10pct.txt').read_text().split()
    assert len(names) == 2 and len((tmp_path / 'train_100pct.txt').read_text().split()) == 15
    from mmseg.registry import DATASETS as SEG_DATASETS
    init_default_scope('mmseg')
    ds = SEG_DATASETS.build(dict(type='DemoWorldSegDataset', data_root=demo_world,
                                 ann_file=str(tmp_path / 'train_10pct.txt'), pipeline=[]))
    assert sorted(i['img_path'].split('frames/')[1][:-4] for i in ds.load_data_list()) == names


DET = 'configs/readout/det/faster-rcnn_r18-c4-frozen_1xb4-300iters_demo-world.py'


def test_c4_detection_readout_through_mmdets_own_tool(demo_world, tmp_path):
    """MMDet's own tools/train.py: frozen C4 backbone + frozen shared head (layer4), both from
    one mmdense checkpoint, stay bit-identical; COCO bbox mAP is reported."""
    import os.path as osp

    import mmdet
    ckpt = tmp_path / 'flowe.pth'
    ref = _pretrain_ckpt(ckpt)
    tool = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')
    ann = f'{demo_world}/annotations/instances_val.json'
    r = run_tool([sys.executable, tool, DET, '--work-dir', str(tmp_path / 'wd'),
                  '--cfg-options', f'model.backbone.pretrained_ckpt={ckpt}',
                  f'model.roi_head.shared_head.pretrained_ckpt={ckpt}',
                  'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
                  'default_hooks.checkpoint.interval=2', 'train_dataloader.batch_size=2',
                  f'train_dataloader.dataset.data_root={demo_world}',
                  f'val_dataloader.dataset.data_root={demo_world}',
                  f'test_dataloader.dataset.data_root={demo_world}',
                  f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}'])
    assert r.returncode == 0, r.stderr[-3000:]
    log = r.stdout + r.stderr
    assert 'coco/bbox_mAP' in log
    assert 'DetReadoutResNet: loaded' in log and 'ReadoutResLayer: loaded' in log
    after = torch.load(tmp_path / 'wd' / 'iter_2.pth', weights_only=True)['state_dict']
    for k, v in ref.items():
        key = (f'roi_head.shared_head.{k}' if k.startswith('layer4.') else f'backbone.{k}')
        torch.testing.assert_close(after[key], v, rtol=0, atol=0, msg=key)
