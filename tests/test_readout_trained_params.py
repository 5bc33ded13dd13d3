"""Every parameter a method's readout reads from its checkpoint was trained by its pretraining
(issue 15): a few pretraining steps of the method's real demo model on real data, then the
method's own readout config is built with the checkpoint fields ``tools/readout/readout.sh``
sets, and every checkpoint parameter that readout loads must differ from its initial value.

A stage the loss never reaches (e.g. HierGroup's Res5 before it was dropped with
``num_stages=3``) keeps its initial weights and fails here."""
import json
import os.path as osp
import sys

import cv2
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS as ROOT_MODELS  # builds in the config's default scope
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from helpers import REPO

#: method -> (pretraining demo config, the readout config its README names for it)
METHODS = dict(
    flowe=('configs/flowe/flowe_resnet18-d8_1xb8-300iters_demo-world.py',
           'configs/readout/seg/deeplabv1_r18-d8-frozen_1xb8-400iters_demo-world.py'),
    cacl=('configs/cacl/cacl_resnet18-d8_1xb8-300iters_demo-world.py',
          'configs/readout/seg/linear_r18-d8-frozen_1xb8-400iters_demo-world.py'),
    vader=('configs/vader/vader_resnet18-fpn_1xb8-300iters_demo-world.py',
           'configs/readout/seg/linear-decoder_r18-fpn-frozen_1xb8-400iters_demo-world.py'),
    hiergroup=('configs/hiergroup/hiergroup_resnet18-hypercolumn_1xb8-300iters_demo-world.py',
               'configs/readout/seg/deeplabv3_r18-hypercolumn-frozen_1xb8-400iters_demo-world.py'),
    transitive=('configs/transitive/triplet-siamese_vgg16_1xb8-100iters_sample-videos.py',
                'configs/readout/det/faster-rcnn_vgg16-finetune_1xb2-12e_voc07.py'),
)
STEPS = 2
CROP = 64  # view size in pixels (the demo configs use 96-128)
#: readout parts that load nothing from the checkpoint, shrunk to build fast
READOUT_OPTIONS = dict(transitive={'model.roi_head.bbox_head.fc_out_channels': 256})


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    """A demo world at the demo configs' frame size (128x192, so their pipelines run as they
    are), few clips; its UCM trees; a small transitive graph of patches from its frames."""
    from mmdense.datasets import generate_demo_world
    from mmdense.datasets.ucm import compute_ucm_cache
    root = tmp_path_factory.mktemp('tp')
    data = str(root / 'world')
    generate_demo_world(data, num_clips=3, frames_per_clip=5, val_clips=1, seed=7,
                        verbose=False)
    compute_ucm_cache(osp.join(data, 'frames'), str(root / 'ucm'))
    # transitive graph: the same 96x96 patch of consecutive frames is an intra pair; one
    # parent cluster per (clip, patch position), so every batch has distractors
    nodes, pairs = [], []
    for clip in range(2):
        for pos, (y, x) in enumerate([(0, 0), (32, 96), (0, 96), (32, 0)]):
            ids = []
            for t in range(2):
                img = cv2.imread(osp.join(data, f'frames/clip_{clip:03d}/{t:05d}.png'))
                path = str(root / f'patch_{clip}_{pos}_{t}.png')
                cv2.imwrite(path, img[y:y + 96, x:x + 96])
                ids.append(f'c{clip}p{pos}t{t}')
                nodes.append(dict(id=ids[-1], path=path, parent=2 * clip + pos))
            pairs += [dict(a=a, b=b, kind='intra') for a, b in zip(ids, ids[1:])]
    graph = dict(nodes=nodes, edges=dict(intra=[], inter=[]), pairs=pairs)
    (root / 'graph.json').write_text(json.dumps(graph))
    return dict(data=data, ucm=str(root / 'ucm'), graph=str(root / 'graph.json'))


def _shrink(node):
    """Views of CROP pixels: every ``scale`` / ``crop_size`` of the pipeline's (nested)
    transforms."""
    if isinstance(node, (list, tuple)):
        for n in node:
            _shrink(n)
    elif isinstance(node, dict):
        for k, v in node.items():
            if k == 'scale' and isinstance(v, int):
                node[k] = CROP
            elif k == 'crop_size':
                node[k] = (CROP, CROP)
            else:
                _shrink(v)


def _pretrain_cfg(method, world):
    cfg = Config.fromfile(osp.join(REPO, METHODS[method][0]))
    loader = cfg.train_dataloader
    loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    if method == 'transitive':
        loader.dataset.graph_file = world['graph']
    else:
        loader.dataset.data_root = world['data'] + '/'
    _shrink(loader.dataset.get('pipeline', []))
    for t in loader.dataset.get('pipeline', []):
        if t.get('type') == 'LoadUCM':
            t.update(ucm_root=world['ucm'], img_root=osp.join(world['data'], 'frames'))
    # Adam without weight decay moves a parameter iff it gets a non-zero gradient
    cfg.optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-2))
    return cfg


def _readout_cfg(method, ckpt):
    sys.path.insert(0, osp.join(REPO, 'tools', 'readout'))
    from readout_options import readout_options
    path = osp.join(REPO, METHODS[method][1])
    cfg = Config.fromfile(path)
    opts = readout_options(path, ckpt)  # the fields readout.sh sets
    cfg.merge_from_dict(dict(o.split('=', 1) for o in opts))
    cfg.merge_from_dict(READOUT_OPTIONS.get(method, {}))
    return cfg, opts


@pytest.fixture
def one_thread():
    """One intra-op thread: on a loaded 2-core machine, 2 threads are ~10x slower here."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize('method', sorted(METHODS))
def test_every_parameter_the_readout_reads_was_trained(method, world, tmp_path, one_thread):
    from mmdense.models.backbones.readout_resnet import StrictPretrainedMixin
    torch.manual_seed(0)
    cfg = _pretrain_cfg(method, world)
    init_default_scope('mmdense')
    model = ROOT_MODELS.build(cfg.model)
    model.init_weights()
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    model.train()
    MessageHub.get_current_instance().update_info('max_iters', STEPS)  # BYOL's cosine EMA
    for _, data in zip(range(STEPS), loader):
        model.train_step(data, optim)
    trained = model.state_dict()
    ckpt = str(tmp_path / f'{method}.pth')
    torch.save(dict(meta=dict(iter=STEPS), state_dict=trained), ckpt)

    ro_cfg, opts = _readout_cfg(method, ckpt)
    assert f'model.backbone.pretrained_ckpt={ckpt}' in opts
    init_default_scope(ro_cfg.default_scope)
    readout = ROOT_MODELS.build(ro_cfg.model)
    readout.init_weights()  # strict loads: a key the checkpoint lacks stops here
    read = [k for m in readout.modules()
            if isinstance(m, StrictPretrainedMixin) and m.pretrained_ckpt
            for k in m.checkpoint_keys(params_only=True)]
    assert len(read) > 20, read
    assert all(torch.isfinite(trained[k]).all() for k in read)
    unchanged = [k for k in read if torch.equal(initial[k], trained[k])]
    assert not unchanged, (f'{method}: {METHODS[method][1]} reads {len(unchanged)} of {len(read)} '
                           f'parameters that pretraining never changed: {unchanged[:6]}')
