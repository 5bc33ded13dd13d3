import json
import os.path as osp
import sys
import textwrap

import mmseg
from mmengine.registry import init_default_scope
from mmpretrain import registry as pretrain_registry

from helpers import failure_report, free_port, run_tool
from mmdense import registry


def test_registries_are_children_of_mmpretrain():
    for name in ('MODELS', 'DATASETS', 'TRANSFORMS', 'HOOKS', 'METRICS'):
        reg = getattr(registry, name)
        assert reg.scope == 'mmdense'
        assert reg.parent is getattr(pretrain_registry, name)


def test_mmdense_scope_sees_own_and_parent_components():
    init_default_scope('mmdense')
    assert registry.DATASETS.get('FramePairDataset').__module__.startswith('mmdense')
    assert registry.TRANSFORMS.get('FramePairToViews').__module__.startswith('mmdense')
    assert registry.MODELS.get('MoCo').__module__.startswith('mmpretrain')  # parent
    assert registry.TRANSFORMS.get('PackInputs').__module__.startswith('mmpretrain')


def _plain_config(tmp_path, scope, body):
    path = tmp_path / f'{scope}_cfg.py'
    path.write_text(textwrap.dedent(f"""
        custom_imports = dict(imports=['mmdense'], allow_failed_imports=False)
        default_scope = '{scope}'
    """) + textwrap.dedent(body))
    return str(path)


def test_custom_imports_make_components_visible_to_mmseg_and_mmdet(tmp_path, demo_world):
    seg = _plain_config(tmp_path, 'mmseg', f"""
        dataset = dict(type='DemoWorldSegDataset', data_root='{demo_world}',
                       ann_file='splits/val.txt', pipeline=[])
    """)
    det = _plain_config(tmp_path, 'mmdet', f"""
        dataset = dict(type='DemoWorldDetDataset', data_root='{demo_world}',
                       ann_file='annotations/instances_val.json', pipeline=[])
    """)
    # a fresh interpreter that never imports mmdense itself: custom_imports must do it
    code = textwrap.dedent(f"""
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        from mmseg.registry import DATASETS as SEG
        from mmdet.registry import DATASETS as DET
        import sys
        assert 'mmdense' not in sys.modules
        cfg = Config.fromfile({seg!r}); init_default_scope(cfg.default_scope)
        print('seg', len(SEG.build(cfg.dataset)))
        cfg = Config.fromfile({det!r}); init_default_scope(cfg.default_scope)
        print('det', len(DET.build(cfg.dataset)))
    """)
    r = run_tool([sys.executable, '-c', code])
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'seg 5' in r.stdout and 'det 5' in r.stdout


def test_mmseg_own_train_tool_runs_an_mmdense_dataset(tmp_path, demo_world):
    tool = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', 'train.py')
    assert osp.exists(tool), tool
    cfg = _plain_config(tmp_path, 'mmseg', f"""
        norm_cfg = dict(type='BN', requires_grad=True)
        model = dict(
            type='EncoderDecoder',
            data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                                   std=[58.395, 57.12, 57.375], bgr_to_rgb=True,
                                   pad_val=0, seg_pad_val=255, size=(64, 96)),
            backbone=dict(type='ResNet', depth=18, norm_cfg=norm_cfg, strides=(1, 2, 1, 1),
                          dilations=(1, 1, 2, 4), out_indices=(3, )),
            decode_head=dict(type='FCNHead', in_channels=512, channels=32, num_convs=1,
                             concat_input=False, in_index=0, num_classes=5, norm_cfg=norm_cfg,
                             loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
            train_cfg=dict(), test_cfg=dict(mode='whole'))
        pipe = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                dict(type='PackSegInputs')]
        train_dataloader = dict(batch_size=2, num_workers=0,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            dataset=dict(type='DemoWorldSegDataset', data_root='{demo_world}',
                         ann_file='splits/train.txt', pipeline=pipe))
        val_dataloader = dict(batch_size=1, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='DemoWorldSegDataset', data_root='{demo_world}',
                         ann_file='splits/val.txt', pipeline=pipe))
        test_dataloader = val_dataloader
        val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
        test_evaluator = val_evaluator
        optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01))
        train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2)
        val_cfg = dict(type='ValLoop')
        test_cfg = dict(type='TestLoop')
        default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                             checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2))
        env_cfg = dict(dist_cfg=dict(backend='gloo'))
        log_level = 'INFO'
        load_from = None
        resume = False
    """)
    r = run_tool([sys.executable, tool, cfg, '--work-dir', str(tmp_path / 'wd')])
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'mIoU' in r.stdout + r.stderr
    ckpt = tmp_path / 'wd' / 'iter_2.pth'
    assert ckpt.exists()

    # mmdense's own tools/test.py and tools/dist_test.sh (2 gloo processes) evaluate it
    out = tmp_path / 'metrics.json'
    r = run_tool([sys.executable, 'tools/test.py', cfg, str(ckpt), '--work-dir',
                  str(tmp_path / 'test'), '--out', str(out)])
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = json.loads(out.read_text())
    assert 0 <= metrics['mIoU'] <= 100
    r = run_tool(['bash', 'tools/dist_test.sh', cfg, str(ckpt), '2', '--work-dir',
                  str(tmp_path / 'dtest'), '--out', str(tmp_path / 'dist_metrics.json')],
                 env=dict(PYTHON=sys.executable, PORT=str(free_port())))
    assert r.returncode == 0, failure_report(r)
    # the same checkpoint and data give the same metrics with 2 processes
    dist_metrics = json.loads((tmp_path / 'dist_metrics.json').read_text())
    assert abs(dist_metrics['mIoU'] - metrics['mIoU']) < 1e-6


def test_mmpretrain_own_train_tool_runs_the_demo_config(tmp_path, demo_world):
    """MMPretrain's tools/train.py (not ours) trains an mmdense config: the config's
    custom_imports + default_scope='mmdense' make FramePairDataset / FramePairToViews visible."""
    import mmpretrain
    from helpers import DEMO_CONFIG, small_options
    tool = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools', 'train.py')
    assert osp.exists(tool), tool
    # (MMPretrain's tool turns on persistent workers unless told; the demo loads in-process)
    r = run_tool([sys.executable, tool, DEMO_CONFIG, '--work-dir', str(tmp_path / 'wd'),
                  '--no-persistent-workers',
                  '--cfg-options', *small_options(demo_world, tmp_path / 'wd', 2, 2)])
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path / 'wd' / 'iter_2.pth').exists()
