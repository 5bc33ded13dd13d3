"""Every config under configs/ builds: model and dataset (data paths pointed at the demo world)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from helpers import REPO
from mmengine.registry import DATASETS, MODELS  # root: builds in the config's default scope

OUR_DATASETS = ('FramePairDataset', 'DemoWorldSegDataset', 'DemoWorldDetDataset')
CONFIGS = sorted(c for c in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in c)


def test_configs_exist():
    names = [osp.relpath(c, REPO) for c in CONFIGS]
    assert 'configs/flowe/flowe_r50_bdd.py' in names
    assert len(names) >= 10


@pytest.fixture(scope='session')
def raft_weights(tmp_path_factory):
    """Random-init torchvision RAFT weights per arch (FlowE's online flow network needs a local
    file at build time; the real one is not here)."""
    import torch
    from torchvision.models import optical_flow
    root, paths = tmp_path_factory.mktemp('raft'), {}

    def get(arch):
        if arch not in paths:
            paths[arch] = str(root / f'{arch}.pth')
            torch.save(getattr(optical_flow, arch)(weights=None).state_dict(), paths[arch])
        return paths[arch]
    return get


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_builds(path, demo_world, raft_weights):
    cfg = Config.fromfile(path)
    init_default_scope(cfg.get('default_scope', 'mmdense'))
    if cfg.model.get('flow_net'):
        cfg.model.flow_net.checkpoint = raft_weights(cfg.model.flow_net.get('arch', 'raft_large'))
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    ds_cfg = cfg.train_dataloader.dataset
    if ds_cfg.type not in OUR_DATASETS:
        # a stock MMSeg / MMDet dataset whose data is not here: it must resolve in the scope
        with DATASETS.switch_scope_and_registry(cfg.default_scope) as registry:
            assert registry.get(ds_cfg.type) is not None, ds_cfg.type
        return
    ds_cfg.data_root = demo_world
    if ds_cfg.type == 'FramePairDataset':
        ds_cfg.update(sources='splits/train_clips.txt', fps=2.0, group_pattern=None,
                      index_file=None)
        if isinstance(ds_cfg.get('interval_frames'), int) and ds_cfg.interval_frames > 1 \
                and 'demo-world' not in path:  # demo-world configs keep theirs (FlowE: 4)
            ds_cfg.interval_frames = 1
        ds_cfg.flow_cache = None  # no cache of the demo world here (test_flowe_online_flow.py)
    dataset = DATASETS.build(ds_cfg)
    assert len(dataset) > 0
    if 'demo-world' in path:  # its data (and flow) is the demo world: run the whole pipeline
        item = dataset[0]
        assert 'inputs' in item and 'data_samples' in item
