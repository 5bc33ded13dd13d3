"""Every config of ``configs/`` runs under the OpenMMLab toolbox's own ``tools/train.py``
(issue 19): pretraining configs under MMPretrain's, readout configs under MMSeg's (default
scope ``mmseg``) or MMDet's (``mmdet``), as shipped inside the installed packages
(``<package>/.mim/tools/train.py``).

Each test imports that file and calls its ``main()`` with a real command line, so the toolbox's
own config handling runs: ``Config.fromfile`` (with the config's ``custom_imports``), its
``--cfg-options``, and MMPretrain's dataloader defaults (``persistent_workers=True``,
``pin_memory=True``, ``collate_fn=default_collate`` unless the config says otherwise), then
``Runner.from_cfg`` (or ``RUNNERS.build``) and ``runner.train()``. The tests run from a folder
whose ``data/demo_world`` (and ``data/demo_world_ucm``) is a small generated demo world, so the
configs' relative data paths resolve there:

* a config whose datasets all live there (the demo configs) trains for real: one iteration at
  batch 2, validation included, and writes its checkpoint;
* any other config (paper data that is not on this machine) builds everything ``train()``
  builds before its loop runs -- the train loop with its dataloader (every argument of the
  config: sampler, batch sampler, collate function, workers, persistent workers; one batch is
  collated, without starting the worker processes), the optimizer wrapper, the lr scale, the
  parameter schedulers, the val / test loops with their dataloaders and evaluators -- with a
  stand-in dataset of tiny items in place of the missing data (its type must still resolve in
  the config's scope).
"""
import copy
import functools
import gc
import glob
import importlib
import importlib.util
import os
import os.path as osp
import sys

import pytest
import torch
from mmengine.registry import DATASETS
from mmengine.runner import Runner

from helpers import REPO

CONFIGS = sorted(c for c in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in c)
TOOLBOX = {'mmseg': 'mmseg', 'mmdet': 'mmdet'}  # default_scope -> package; else mmpretrain


def expected_toolbox(path):
    """Readout configs under configs/readout/{seg,depth} are MMSeg's, under det/ MMDet's; every
    other config is a pretraining config, MMPretrain's."""
    rel = osp.relpath(path, osp.join(REPO, 'configs')).split(os.sep)
    if rel[0] == 'readout':
        return 'mmdet' if rel[1] == 'det' else 'mmseg'
    return 'mmpretrain'


def upstream_train_tool(package):
    """The toolbox's own tools/train.py (shipped in the package as .mim/tools/train.py),
    imported as a module."""
    pkg = importlib.import_module(package)
    path = osp.join(osp.dirname(pkg.__file__), '.mim', 'tools', 'train.py')
    assert osp.isfile(path), f'{package} ships no {path}'
    spec = importlib.util.spec_from_file_location(f'_upstream_train_{package}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, path


def _dataset_roots(dataloader):
    stack = [dataloader.get('dataset')] if isinstance(dataloader, dict) else []
    while stack:
        ds = stack.pop()
        if isinstance(ds, dict):
            if ds.get('data_root'):
                yield ds['data_root']
            stack.append(ds.get('dataset'))
            stack.extend(ds.get('datasets', []))


def _dataset_types(dataset):
    stack = [dataset]
    while stack:
        ds = stack.pop()
        if isinstance(ds, dict):
            yield ds['type']
            stack.append(ds.get('dataset'))
            stack.extend(ds.get('datasets', []))


class StandInDataset(torch.utils.data.Dataset):
    """Tiny items in place of a dataset whose files are not on this machine (as many as make an
    epoch of a few batches at the paper configs' batch sizes)."""
    metainfo = dict(classes=('a', 'b'))

    def __len__(self):
        return 1024

    def __getitem__(self, idx):
        return dict(inputs=torch.zeros(3, 8, 8))

    def get_data_info(self, idx):  # what MMDet's aspect-ratio batch sampler reads
        return dict(width=8, height=8, img_id=idx)


def _stand_in(runner, key):
    """Replace the dataset of ``runner.<key>`` by the stand-in; its type must resolve."""
    loader = getattr(runner, key)
    if not isinstance(loader, dict) or not isinstance(loader.get('dataset'), dict):
        return
    with DATASETS.switch_scope_and_registry(runner.default_scope.scope_name) as registry:
        for t in _dataset_types(loader['dataset']):
            assert isinstance(t, type) or registry.get(t) is not None, f'{key}: unknown {t}'
    loader = copy.copy(loader)
    loader['dataset'] = StandInDataset()
    setattr(runner, key, loader)


def _stand_in_evaluator(runner, key):
    """Annotation files of missing datasets become None (the metric then converts the ground
    truth itself, e.g. MMDet's CocoMetric)."""
    ev = getattr(runner, key)
    metrics = ev if isinstance(ev, list) else [ev]
    out = []
    for m in metrics:
        if isinstance(m, dict) and m.get('ann_file') and not osp.exists(m['ann_file']):
            m = dict(m, ann_file=None)
        out.append(m)
    setattr(runner, key, out if isinstance(ev, list) else out[0])


def build_components(self):
    """Stand-in for ``Runner.train`` on configs whose data is not here: build what train()
    builds before its loop runs, with the dataloaders' every argument but a stand-in dataset."""
    model = self.model.module if hasattr(self.model, 'module') else self.model
    assert hasattr(model, 'train_step') and hasattr(model, 'data_preprocessor')
    for key in ('_train_dataloader', '_val_dataloader', '_test_dataloader'):
        _stand_in(self, key)
    for key in ('_val_evaluator', '_test_evaluator'):
        if getattr(self, key) is not None:
            _stand_in_evaluator(self, key)
    self._train_loop = self.build_train_loop(self._train_loop)  # builds the DataLoader
    self.optim_wrapper = self.build_optim_wrapper(self.optim_wrapper)
    self.scale_lr(self.optim_wrapper, self.auto_scale_lr)
    if self.param_schedulers is not None:
        self.param_schedulers = self.build_param_scheduler(self.param_schedulers)
    if self._val_loop is not None:
        self._val_loop = self.build_val_loop(self._val_loop)
    if self._test_loop is not None:
        self._test_loop = self.build_test_loop(self._test_loop)
    loader = self._train_loop.dataloader
    batch = loader.collate_fn([loader.dataset[0], loader.dataset[1]])  # the config's collate
    assert batch is not None
    self.built = dict(loader=loader)


@pytest.fixture(scope='module', autouse=True)
def faster_config_handling():
    """Speed only: mmengine re-reads all of MMSeg's / MMDet's metafiles (hundreds of yaml files)
    for every ``mmseg::`` / ``mmdet::`` base it resolves; read each once here."""
    from mmengine.config import config, utils
    mp = pytest.MonkeyPatch()
    mp.setattr(utils, 'load', functools.lru_cache(maxsize=None)(utils.load))
    # the runner logs and dumps the config as text three times, each through yapf's formatter
    # (seconds per config); the text is the same but for line breaks
    mp.setattr(config, 'FormatCode', lambda text, **kwargs: (text, False))
    yield
    mp.undo()


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory, demo_world):
    """A folder whose data/demo_world is the test demo world (+ its UCM trees)."""
    sys.path.insert(0, osp.join(REPO, 'tools', 'ucm'))
    try:
        from compute_ucm import main as compute_ucm
    finally:
        sys.path.pop(0)
    root = tmp_path_factory.mktemp('cwd')
    os.makedirs(root / 'data')
    os.symlink(demo_world, root / 'data' / 'demo_world')
    compute_ucm([osp.join(demo_world, 'frames'), str(root / 'data' / 'demo_world_ucm')])
    return root


def _stand_in_weights(cfg):
    """Weights a model loads when it is built (FlowE's frozen RAFT) that are not on this
    machine: random-init ones of the same architecture at the configured (relative) path."""
    flow_net = cfg.model.get('flow_net')
    if not isinstance(flow_net, dict) or not flow_net.get('checkpoint'):
        return
    path = flow_net.checkpoint
    if osp.exists(path) or osp.isabs(path):
        return
    from torchvision.models import optical_flow
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    arch = flow_net.get('arch', 'raft_large')
    torch.save(getattr(optical_flow, arch)(weights=None).state_dict(), path)


def _small_options(cfg):
    """--cfg-options for one training iteration at batch 2 (validation after it)."""
    opts = ['train_dataloader.batch_size=2', 'train_cfg.max_iters=1',
            'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=1',
            'log_processor.window_size=1']
    if cfg.get('val_dataloader') and cfg.train_cfg.get('val_interval'):
        opts.append('train_cfg.val_interval=1')
    return opts


def _lazy_iterator_init(self, dataloader):
    self._dataloader, self._iterator, self._epoch = dataloader, None, 0


def run_upstream(config, work_dir, monkeypatch):
    """Run ``config`` through its toolbox's own tools/train.py in this process; returns
    (toolbox, mode, runner) with mode 'train' (data here: one real iteration) or 'build'."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    package = TOOLBOX.get(cfg.get('default_scope', 'mmdense'), 'mmpretrain')
    tool, tool_path = upstream_train_tool(package)
    roots = [r for key in ('train_dataloader', 'val_dataloader', 'test_dataloader')
             for r in _dataset_roots(cfg.get(key))]
    real = (bool(roots) and all(osp.exists(r) for r in roots)
            and 'max_iters' in cfg.get('train_cfg', {}))
    _stand_in_weights(cfg)
    argv = [tool_path, config, '--work-dir', str(work_dir)]
    if real:
        argv += ['--cfg-options', *_small_options(cfg)]
    runners = []
    orig_init = Runner.__init__

    def init(self, *args, **kwargs):
        orig_init(self, *args, **kwargs)
        runners.append(self)

    monkeypatch.setattr(Runner, '__init__', init)
    if not real:
        monkeypatch.setattr(Runner, 'train', build_components)
        # an iteration-based loop starts the loader's worker processes when it is built; forked
        # from a long-lived test process they can take minutes to shut down, and nothing here
        # iterates: build the loop without starting them (the batch is collated by hand)
        from mmengine.runner import loops
        monkeypatch.setattr(loops._InfiniteDataloaderIterator, '__init__', _lazy_iterator_init)
    monkeypatch.setattr(sys, 'argv', argv)
    tool.main()
    assert len(runners) == 1
    return package, 'train' if real else 'build', runners[0]


def test_every_config_is_covered_and_the_tools_exist():
    assert len(CONFIGS) >= 80
    for package in ('mmpretrain', 'mmseg', 'mmdet'):
        upstream_train_tool(package)
    assert {expected_toolbox(c) for c in CONFIGS} == {'mmpretrain', 'mmseg', 'mmdet'}


@pytest.mark.parametrize('config', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_runs_under_its_toolbox_train_tool(config, data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(data_dir)
    package, mode, runner = run_upstream(config, tmp_path / 'wd', monkeypatch)
    assert package == expected_toolbox(config), f'default_scope of {config}'
    if 'demo-world' in config:  # the demo configs all train for real
        assert mode == 'train', config
    if mode == 'train':
        assert runner.iter == 1
        assert osp.exists(tmp_path / 'wd' / 'iter_1.pth')
        if runner.cfg.get('val_dataloader'):  # validation ran and logged its metrics
            assert any(k.startswith('val/') for k in runner.message_hub.log_scalars), config
    else:
        loader = runner.built['loader']
        cfg_loader = runner.cfg.train_dataloader
        workers = cfg_loader.get('num_workers', 0)
        assert loader.num_workers == workers
        if package == 'mmpretrain':  # MMPretrain's default unless the config says otherwise
            assert loader.persistent_workers == (workers > 0)
    del runner
    gc.collect()


def test_mmpretrain_defaults_would_crash_a_worker_less_loader(tmp_path):
    """Why the demo configs say persistent_workers=False: MMPretrain's train.py sets it to True
    by default, and a loader with no workers refuses that."""
    loader = dict(batch_size=2, num_workers=0, persistent_workers=True,
                  sampler=dict(type='DefaultSampler', shuffle=False),
                  dataset=StandInDataset())
    with pytest.raises(ValueError, match='persistent_workers'):
        Runner.build_dataloader(loader)
