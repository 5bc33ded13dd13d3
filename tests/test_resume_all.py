"""Resume is exact for every algorithm: each demo config (shrunk to a few CPU iterations) run N
iterations straight and N/2 + resume + N/2 logs bit-equal losses and ends with equal weights,
buffers (queues, pointers) and optimizer state. Covers the random draws of the forward (torch),
of the data pipeline in the main process (numpy / random) and in dataloader workers, and two
gloo processes."""
import importlib.util
import json
import os
import os.path as osp
import shutil
import sys
import uuid

import pytest
import torch
from mmengine.config import Config

from helpers import REPO, failure_report, free_port, logged_losses, run_tool

METHODS = {
    'flowe': 'configs/flowe/flowe_resnet18-d8_1xb8-300iters_demo-world.py',
    'cacl': 'configs/cacl/cacl_resnet18-d8_1xb8-300iters_demo-world.py',
    'vader': 'configs/vader/vader_resnet18-fpn_1xb8-300iters_demo-world.py',
    'hiergroup': 'configs/hiergroup/hiergroup_resnet18-hypercolumn_1xb8-300iters_demo-world.py',
}  # and Transitive's (sample videos) on a tiny graph: test_resume_is_exact_transitive
N = 4


def _train_main():
    spec = importlib.util.spec_from_file_location('_mmdense_train_tool',
                                                  osp.join(REPO, 'tools/train.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


def _shrink_pipeline(transforms, demo_world, ucm_root):
    for t in transforms:
        kind = t.get('type')
        if kind == 'PairRandomResizedCrop':
            t['crop_size'] = (48, 64)
        elif kind in ('PairRandomResizedBoxCrop', 'RandomResizedCropAffine'):
            t['scale'] = 64
        elif kind == 'CorrespondingViews':
            t['min_shared'] = 8
        elif kind == 'LoadUCM':
            t['ucm_root'], t['img_root'] = ucm_root, osp.join(demo_world, 'frames')
        for key in ('transforms', 'geometric', 'appearance'):
            if isinstance(t.get(key), list):
                _shrink_pipeline(t[key], demo_world, ucm_root)


def small_config(method, demo_world, ucm_root, tmp_path, workers=0, batch=4):
    """The demo config of ``method`` at test size, written to a file for tools/train.py."""
    cfg = Config.fromfile(osp.join(REPO, METHODS[method]))
    loader = cfg.train_dataloader
    loader.batch_size = batch
    loader.num_workers = workers
    loader.persistent_workers = workers > 0
    loader.dataset.data_root = demo_world if method != 'hiergroup' else demo_world + '/'
    _shrink_pipeline(loader.dataset.pipeline, demo_world, ucm_root)
    if 'queue_len' in cfg.model:
        cfg.model.queue_len = 64
    cfg.train_cfg.max_iters = N
    cfg.default_hooks.checkpoint.interval = N // 2
    cfg.default_hooks.checkpoint.max_keep_ckpts = 3
    cfg.default_hooks.logger.interval = 1
    cfg.log_processor.window_size = 1
    path = str(tmp_path / f'{method}_w{workers}.py')
    cfg.dump(path)
    return path


def _state(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def assert_same_run(full, resumed, n=N):
    a, b = logged_losses(full, all_terms=True), logged_losses(resumed, all_terms=True)
    assert sorted(a) == list(range(1, n + 1)) and sorted(b) == list(range(n // 2 + 1, n + 1))
    for it in b:
        assert b[it] == a[it], (it, a[it], b[it])  # bit-equal, every loss term
    sa, sb = _state(full / f'iter_{n}.pth'), _state(resumed / f'iter_{n}.pth')
    for k, v in sa['state_dict'].items():
        assert torch.equal(v, sb['state_dict'][k]), k
    for k, v in sa['optimizer']['state'].items():
        for name, t in v.items():
            if torch.is_tensor(t):
                assert torch.equal(t, sb['optimizer']['state'][k][name]), (k, name)
    return sa


def _straight_and_resumed(main, config, tmp_path, tag):
    full, resumed = tmp_path / f'{tag}_full', tmp_path / f'{tag}_resumed'
    main([config, '--work-dir', str(full), '--cfg-options',
          f'experiment_name=f{uuid.uuid4().hex[:8]}'])
    os.makedirs(resumed)
    shutil.copy(full / f'iter_{N // 2}.pth', resumed / f'iter_{N // 2}.pth')
    main([config, '--work-dir', str(resumed), '--resume', str(resumed / f'iter_{N // 2}.pth'),
          '--cfg-options', f'experiment_name=r{uuid.uuid4().hex[:8]}'])
    return full, resumed


@pytest.fixture(scope='module')
def ucm_root(demo_world, tmp_path_factory):
    from mmdense.datasets.ucm import compute_ucm_cache
    out = str(tmp_path_factory.mktemp('resume_ucm'))
    compute_ucm_cache(osp.join(demo_world, 'frames'), out)
    return out


@pytest.mark.parametrize('method,workers', [('flowe', 0), ('cacl', 0), ('vader', 2),
                                            ('hiergroup', 0)])
def test_resume_is_exact(method, workers, demo_world, ucm_root, tmp_path):
    torch.set_num_threads(1)
    config = small_config(method, demo_world, ucm_root, tmp_path, workers=workers)
    main = _train_main()
    full, resumed = _straight_and_resumed(main, config, tmp_path, method)
    state = assert_same_run(full, resumed)
    # the checkpoint carries every generator: torch, numpy, python (per process)
    rng = state['rng_state']
    assert rng['world_size'] == 1 and {'torch', 'numpy', 'python'} <= set(rng['states'][0])


def _tiny_graph(demo_world, out):
    """A transitive-invariance graph of 12 demo-world patches (96x96) in 4 parent clusters."""
    import cv2
    frames = sorted(os.listdir(osp.join(demo_world, 'frames', 'clip_000')))
    nodes = []
    for i in range(12):
        clip = f'clip_{i % 3:03d}'
        img = cv2.imread(osp.join(demo_world, 'frames', clip, frames[i // 3]))
        path = str(out / f'p{i:02d}.png')
        cv2.imwrite(path, cv2.resize(img, (96, 96)))
        nodes.append(dict(id=f'n{i:02d}', path=path, parent=i % 4))
    pairs = [dict(a=f'n{i:02d}', b=f'n{j:02d}', kind='transitive')
             for i in range(12) for j in range(12) if i != j and i % 4 == j % 4]
    graph = dict(nodes=nodes, edges=dict(intra=[], inter=[]), pairs=pairs)
    (out / 'graph.json').write_text(json.dumps(graph))
    return str(out / 'graph.json')


def test_resume_is_exact_transitive(demo_world, tmp_path):
    torch.set_num_threads(1)
    cfg = Config.fromfile(osp.join(
        REPO, 'configs/transitive/triplet-siamese_vgg16_1xb8-100iters_sample-videos.py'))
    cfg.train_dataloader.dataset.graph_file = _tiny_graph(demo_world, tmp_path)
    cfg.train_dataloader.batch_size = 4
    cfg.model.neck.hid_channels, cfg.model.neck.out_channels = 32, 16
    cfg.train_cfg.max_iters = N
    cfg.default_hooks.checkpoint.interval = N // 2
    cfg.default_hooks.checkpoint.max_keep_ckpts = 3
    cfg.default_hooks.logger.interval = 1
    cfg.log_processor = dict(by_epoch=False, window_size=1)
    config = str(tmp_path / 'transitive.py')
    cfg.dump(config)
    full, resumed = _straight_and_resumed(_train_main(), config, tmp_path, 'transitive')
    assert_same_run(full, resumed)


def test_resume_is_exact_with_two_gloo_processes(demo_world, ucm_root, tmp_path):
    config = small_config('cacl', demo_world, ucm_root, tmp_path, batch=2)
    port = str(free_port())
    full, resumed = tmp_path / 'full', tmp_path / 'resumed'

    def dist(work_dir, *extra):
        r = run_tool(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', str(work_dir),
                      *extra, '--cfg-options', f'experiment_name=d{uuid.uuid4().hex[:8]}'],
                     env=dict(PYTHON=sys.executable, PORT=port))
        assert r.returncode == 0, failure_report(r)

    dist(full)
    os.makedirs(resumed)
    shutil.copy(full / f'iter_{N // 2}.pth', resumed / f'iter_{N // 2}.pth')
    dist(resumed, '--resume', str(resumed / f'iter_{N // 2}.pth'))
    state = assert_same_run(full, resumed)
    rng = state['rng_state']
    assert rng['world_size'] == 2 and len(rng['states']) == 2


def test_only_a_resume_restores_the_generators():
    """``load_from`` (weights only) starts a fresh random stream; a resume of an epoch-based
    loop puts the generators back at the start of its first epoch."""
    from mmdense.engine.hooks import RNGStateHook, get_rng_state
    saved = dict(world_size=1, states=[get_rng_state()])
    expected = torch.rand(3)

    class Runner:
        _resume, epoch, iter, train_loop = False, 0, 0, object()

    hook = RNGStateHook()
    hook.after_load_checkpoint(Runner, dict(rng_state=saved, meta=dict(epoch=2, iter=40)))
    hook.before_train(Runner)
    hook.before_train_epoch(Runner)
    assert not torch.equal(torch.rand(3), expected)

    Runner._resume, Runner.epoch, Runner.iter = True, 2, 40
    hook.after_load_checkpoint(Runner, dict(rng_state=saved, meta=dict(epoch=2, iter=40)))
    hook.before_train(Runner)
    torch.rand(5)
    hook.before_train_epoch(Runner)
    assert torch.equal(torch.rand(3), expected)
