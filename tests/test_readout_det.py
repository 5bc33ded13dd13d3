"""MMDet readouts: Mask R-CNN C4 / FPN on frozen encoders, the BDD100K label converter, the
readout launchers (local and slurm)."""
import json
import os
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from helpers import REPO, failure_report, fake_srun_dir, free_port, run_tool
from test_readout import SEG, _opts, _pretrain_ckpt

DET = 'configs/readout/det/'


def _det_opts(demo_world, work_dir, ckpt, iters=2):
    ann = f'{demo_world}/annotations/instances_val.json'
    return ['--work-dir', str(work_dir), '--cfg-options',
            f'model.backbone.pretrained_ckpt={ckpt}', f'train_cfg.max_iters={iters}',
            f'train_cfg.val_interval={iters}', f'default_hooks.checkpoint.interval={iters}',
            'train_dataloader.batch_size=2',
            f'train_dataloader.dataset.data_root={demo_world}',
            f'val_dataloader.dataset.data_root={demo_world}',
            f'test_dataloader.dataset.data_root={demo_world}',
            f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}']


@pytest.mark.parametrize('config,metric', [
    ('mask-rcnn_r18-c4-frozen_1xb4-300iters_demo-world.py', 'coco/segm_mAP'),
    ('faster-rcnn_r18-fpn-frozen_1xb4-300iters_demo-world.py', 'coco/bbox_mAP'),
])
def test_mask_rcnn_c4_and_fpn_readouts_keep_the_encoder_frozen(demo_world, tmp_path, config,
                                                               metric):
    ckpt = tmp_path / 'flowe.pth'
    ref = _pretrain_ckpt(ckpt)
    opts = _det_opts(demo_world, tmp_path / 'wd', ckpt)
    c4 = '-c4-' in config
    if c4:
        opts.append(f'model.roi_head.shared_head.pretrained_ckpt={ckpt}')
    r = run_tool([sys.executable, 'tools/train.py', DET + config, *opts])
    assert r.returncode == 0, r.stderr[-3000:]
    log = r.stdout + r.stderr
    assert metric in log and 'DetReadoutResNet: loaded' in log
    state = torch.load(tmp_path / 'wd' / 'iter_2.pth', weights_only=True)['state_dict']
    for k, v in ref.items():  # every encoder tensor, BN statistics included, bit-identical
        key = f'roi_head.shared_head.{k}' if (c4 and k.startswith('layer4.')) else f'backbone.{k}'
        torch.testing.assert_close(state[key], v, rtol=0, atol=0, msg=key)
    if c4:
        assert state['roi_head.mask_head.conv_logits.weight'].shape == (4, 256, 1, 1)
        assert not any(k.startswith('backbone.layer4') for k in state)
    else:
        assert state['neck.lateral_convs.3.conv.weight'].shape == (256, 512, 1, 1)


def _bdd_frames(fmt):
    person, bike = ('pedestrian', 'bicycle') if fmt == 'det_20' else ('person', 'bike')
    return [
        dict(name='a.jpg', labels=[
            dict(id='1', category=person, box2d=dict(x1=10, y1=5, x2=30.5, y2=45)),
            dict(id='2', category=bike, box2d=dict(x1=40, y1=20, x2=60, y2=40)),
            dict(id='3', category='traffic light', box2d=dict(x1=1, y1=1, x2=5, y2=9)),
            dict(id='4', category='car', attributes=dict(crowd=True),
                 box2d=dict(x1=70, y1=30, x2=120, y2=60)),
            dict(id='5', category='car', box2d=dict(x1=100, y1=10, x2=400, y2=50)),  # clipped
            dict(id='6', category='truck', box2d=dict(x1=50, y1=50, x2=50, y2=60)),  # empty
            dict(id='7', category='drivable area', poly2d=[]),
        ]),
        dict(name='b.jpg', labels=None),  # an image with nothing labelled
    ]


@pytest.mark.parametrize('fmt', ['det_20', '2018'])
def test_bdd100k_converter_feeds_the_bdd_readout_config(tmp_path, fmt):
    img_dir = tmp_path / 'bdd100k' / 'images' / '100k' / 'train'
    img_dir.mkdir(parents=True)
    for name in ('a.jpg', 'b.jpg'):
        cv2.imwrite(str(img_dir / name), np.full((72, 128, 3), 127, np.uint8))
    labels = tmp_path / 'det_train.json'
    labels.write_text(json.dumps(_bdd_frames(fmt)))
    out = tmp_path / 'bdd100k' / 'annotations' / 'det_train_8cls_coco.json'
    r = run_tool([sys.executable, 'tools/dataset_converters/bdd100k_det_to_coco.py',
                  str(labels), str(out), '--img-dir', str(img_dir)])
    assert r.returncode == 0, r.stderr
    assert '2 images, 3 boxes' in r.stdout and '1 ignore regions' in r.stdout
    assert '2 non-instance labels dropped, 1 empty boxes skipped' in r.stdout
    coco = json.loads(out.read_text())
    assert [c['name'] for c in coco['categories']] == [
        'person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle']
    assert coco['images'][0]['width'] == 128 and coco['images'][0]['height'] == 72
    boxes = {(a['category_id'], a['iscrowd']): a['bbox'] for a in coco['annotations']}
    assert boxes[(1, 0)] == [10.0, 5.0, 20.5, 40.0]
    assert boxes[(8, 0)] == [40.0, 20.0, 20.0, 20.0]
    assert boxes[(3, 1)] == [70.0, 30.0, 50.0, 30.0]
    assert boxes[(3, 0)] == [100.0, 10.0, 28.0, 40.0]  # clipped to the 128-px wide image

    # MMDet's CocoDataset reads it through the BDD100K readout config's own dataset settings
    import mmdense  # noqa: F401
    from mmdet.registry import DATASETS
    cfg = Config.fromfile(f'{REPO}/{DET}faster-rcnn_r50-c4-frozen_8xb2-12e_bdd100k.py')
    assert cfg.model.roi_head.bbox_head.num_classes == 8
    assert cfg.train_cfg.max_epochs == 12 and cfg.optim_wrapper.optimizer.lr == 0.02
    assert [s.milestones for s in cfg.param_scheduler if s.type == 'MultiStepLR'] == [[8, 11]]
    init_default_scope('mmdet')
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.data_root = str(tmp_path / 'bdd100k')
    ds = DATASETS.build(ds_cfg)
    assert len(ds) == 1  # filter_empty_gt drops b.jpg
    item = ds[0]
    inst = item['data_samples'].gt_instances
    ignored = item['data_samples'].ignored_instances
    assert sorted(inst.labels.tolist()) == [0, 2, 7] and ignored.labels.tolist() == [2]
    assert item['inputs'].shape[1:] == (720, 1280)  # BDD100K's own 1280x720, kept


def test_bdd100k_converter_errors_name_the_file_and_entry(tmp_path):
    labels = tmp_path / 'det_val.json'
    cases = [
        ([dict(name='a.jpg', labels=[dict(id='9', category='spaceship',
                                          box2d=dict(x1=0, y1=0, x2=1, y2=1))])],
         "unknown category 'spaceship'"),
        ([dict(name='a.jpg', labels=[dict(id='9', category='car',
                                          box2d=dict(x1=float('nan'), y1=0, x2=1, y2=1))])],
         'non-finite box2d'),
        ([dict(labels=[])], 'entry 0 has no image "name"'),
        (dict(frames=[]), 'expected a list of frames'),
    ]
    for frames, expect in cases:
        labels.write_text(json.dumps(frames))
        r = run_tool([sys.executable, 'tools/dataset_converters/bdd100k_det_to_coco.py',
                      str(labels), str(tmp_path / 'out.json')])
        assert r.returncode != 0 and expect in r.stderr and 'det_val.json' in r.stderr, r.stderr
        assert not (tmp_path / 'out.json').exists()
    labels.write_text(json.dumps([dict(name='gone.jpg', labels=[])]))
    r = run_tool([sys.executable, 'tools/dataset_converters/bdd100k_det_to_coco.py',
                  str(labels), str(tmp_path / 'out.json'), '--img-dir', str(tmp_path)])
    assert r.returncode != 0 and 'gone.jpg listed in the labels does not exist' in r.stderr


def test_readout_options_cover_the_c4_shared_head(tmp_path):
    sys.path.insert(0, f'{REPO}/tools/readout')
    from readout_options import readout_options
    ckpt = tmp_path / 'x.pth'
    ckpt.write_bytes(b'')
    c4 = readout_options(f'{REPO}/{DET}faster-rcnn_r50-c4-frozen_8xb2-12e_bdd100k.py', str(ckpt))
    assert c4 == [f'model.backbone.pretrained_ckpt={ckpt}',
                  f'model.roi_head.shared_head.pretrained_ckpt={ckpt}']
    fpn = readout_options(f'{REPO}/{DET}mask-rcnn_r50-fpn-frozen_8xb1-64e_cityscapes.py', 'none')
    assert fpn == ['model.backbone.pretrained_ckpt=None']
    with pytest.raises(FileNotFoundError, match='missing.pth does not exist'):
        readout_options(f'{REPO}/{SEG}', str(tmp_path / 'missing.pth'))
    with pytest.raises(KeyError, match='no pretrained_ckpt'):
        readout_options(f'{REPO}/configs/flowe/flowe_r50_bdd.py', 'none')


def test_slurm_readout_script(demo_world, tmp_path):
    ckpt = tmp_path / 'flowe.pth'
    _pretrain_ckpt(ckpt)
    bin_dir = fake_srun_dir(tmp_path)
    wd = tmp_path / 'wd'
    opts = _opts(demo_world, wd, ckpt, iters=2)
    assert opts[:2] == ['--work-dir', str(wd)]
    r = run_tool(['bash', 'tools/readout/slurm_readout.sh', 'cpu', 'ro', SEG, str(ckpt),
                  str(wd), *opts[2:]],
                 env=dict(PYTHON=sys.executable, GPUS='1', GPUS_PER_NODE='1',
                          PORT=str(free_port()),
                          PATH=f'{bin_dir}:{os.environ["PATH"]}'))
    assert r.returncode == 0, failure_report(r)
    log = r.stdout + r.stderr
    assert 'Distributed launcher: slurm' in log and 'ReadoutResNet: loaded' in log
    assert 'mIoU' in log and (wd / 'iter_2.pth').exists()


def test_random_init_checkpoint_carries_the_training_images_bn_statistics(demo_world, tmp_path):
    """tools/readout/random_init_checkpoint.py, the random-init row of a detection readout: its
    stem BN statistics are those of conv1 over the readout's training images (recomputed here
    from the image files), every BN layer is calibrated, the seed decides the weights, and the
    C4 readout reads the whole encoder from it (layer4 statistics in the RoI head included)."""
    sys.path.insert(0, f'{REPO}/tools/readout')
    from readout_options import readout_options

    from mmdense.evaluation.random_init import random_init_checkpoint
    config = DET + 'faster-rcnn_r18-c4-frozen_1xb4-300iters_demo-world.py'
    out = tmp_path / 'random.pth'
    root = f'{demo_world}/'
    r = run_tool([sys.executable, 'tools/readout/random_init_checkpoint.py', config, str(out),
                  '--seed', '3', '--num-images', '1000', '--batch-size', '1000',
                  '--cfg-options', f'train_dataloader.dataset.data_root={root}'])
    assert r.returncode == 0, r.stderr[-3000:]
    ckpt = torch.load(out, weights_only=True)
    state, meta = ckpt['state_dict'], ckpt['meta']
    # the training images MMDet keeps (filter_empty_gt: at least one annotation; min_size=4),
    # as the val pipeline gives them: resized 2x to (192, 128), RGB, normalised
    with open(f'{demo_world}/annotations/instances_train.json') as f:
        coco = json.load(f)
    keep = {a['image_id'] for a in coco['annotations']}
    files = [im['file_name'] for im in coco['images']
             if im['id'] in keep and min(im['width'], im['height']) >= 4]
    assert meta == dict(seed=3, random_init=True, bn_images=len(files)) and len(files) > 4
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    imgs = [cv2.resize(cv2.imread(f'{demo_world}/frames/{name}'), (192, 128),
                       interpolation=cv2.INTER_LINEAR)[..., ::-1] for name in files]
    x = (torch.from_numpy(np.ascontiguousarray(np.stack(imgs))).permute(0, 3, 1, 2).float()
         - mean) / std
    y = torch.nn.functional.conv2d(x, state['backbone.conv1.weight'], stride=2, padding=3)
    torch.testing.assert_close(state['backbone.bn1.running_mean'], y.mean((0, 2, 3)),
                               rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(state['backbone.bn1.running_var'],
                               y.transpose(0, 1).flatten(1).var(1), rtol=1e-3, atol=1e-4)
    for k, v in state.items():  # every BN layer has data statistics, not the defaults
        if k.endswith('running_var'):
            assert not torch.allclose(v, torch.ones_like(v)), k
    # the seed decides the weights; the same seed gives the same file content
    again = random_init_checkpoint(_cfg(config, root), str(tmp_path / 'again.pth'), seed=3,
                                   num_images=1000, batch_size=1000)
    other = random_init_checkpoint(_cfg(config, root), str(tmp_path / 'other.pth'), seed=4,
                                   num_images=8)
    again = torch.load(again, weights_only=True)['state_dict']
    other = torch.load(other, weights_only=True)['state_dict']
    for k in state:  # weights bit-identical; statistics up to the thread count's rounding
        tol = 1e-5 if 'running' in k else 0
        torch.testing.assert_close(again[k], state[k], rtol=tol, atol=tol, msg=k)
    assert not torch.equal(other['backbone.conv1.weight'], state['backbone.conv1.weight'])
    # the C4 readout loads all of it: stem..layer3 in the backbone, layer4 in the RoI head
    cfg = _cfg(config, root)
    for opt in readout_options(config, str(out)):
        key, val = opt.split('=', 1)
        cfg.merge_from_dict({key: val})
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    model = MODELS.build(cfg.model)
    model.init_weights()
    got = model.state_dict()
    for k, v in state.items():
        key = f'roi_head.shared_head.{k[9:]}' if k.startswith('backbone.layer4') else k
        torch.testing.assert_close(got[key], v, rtol=0, atol=0, msg=key)


def _cfg(config, root):
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({'train_dataloader.dataset.data_root': root})
    return cfg


def _coco_boxes(path):
    """Two images, three objects of two classes; its boxes (image id, class, x, y, w, h)."""
    boxes = [(1, 1, 10, 10, 20, 20), (1, 2, 50, 30, 24, 16), (2, 2, 5, 40, 30, 30)]
    coco = dict(images=[dict(id=i, file_name=f'{i}.png', width=96, height=64) for i in (1, 2)],
                categories=[dict(id=1, name='disc'), dict(id=2, name='square')],
                annotations=[dict(id=n, image_id=i, category_id=c, bbox=[x, y, w, h],
                                  area=w * h, iscrowd=0)
                             for n, (i, c, x, y, w, h) in enumerate(boxes, 1)])
    path.write_text(json.dumps(coco))
    return boxes


def _build_metric(cfg):
    from mmdet.registry import METRICS
    return METRICS.build(cfg)


def _score(metric, boxes, labels):
    """Feed ``metric`` one prediction per box, with ``labels`` (0-based), and evaluate."""
    metric = _build_metric(metric)
    metric.dataset_meta = dict(classes=('disc', 'square'))
    for img in (1, 2):
        own = [(b, lab) for b, lab in zip(boxes, labels) if b[0] == img]
        pred = dict(bboxes=torch.tensor([[x, y, x + w, y + h] for (_, _, x, y, w, h), _ in own],
                                        dtype=torch.float32),
                    scores=torch.linspace(0.9, 0.8, len(own)),
                    labels=torch.tensor([lab for _, lab in own]))
        metric.process({}, [dict(img_id=img, ori_shape=(64, 96), pred_instances=pred)])
    return metric.evaluate(2)


def test_class_agnostic_coco_metric_scores_boxes_whatever_their_class(tmp_path):
    """Right boxes with the wrong class: per-class AP 0, class-agnostic AP 1 (under its own
    prefix); right classes: 1 for both. A missing ann_file is one clear error."""
    init_default_scope('mmdet')
    ann = tmp_path / 'ann.json'
    boxes = _coco_boxes(ann)
    right = [c - 1 for _, c, *_ in boxes]
    wrong = [1 - lab for lab in right]
    coco = dict(type='CocoMetric', ann_file=str(ann), metric='bbox')
    agnostic = dict(coco, type='ClassAgnosticCocoMetric')
    assert _score(coco, boxes, wrong)['coco/bbox_mAP'] == 0
    got = _score(agnostic, boxes, wrong)
    assert set(got) == {f'coco_agnostic/bbox_{k}' for k in
                        ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')}
    assert got['coco_agnostic/bbox_mAP'] == pytest.approx(1.0, abs=1e-3)
    assert _score(coco, boxes, right)['coco/bbox_mAP'] == pytest.approx(1.0, abs=1e-3)
    assert _score(agnostic, boxes, right)['coco_agnostic/bbox_mAP'] == \
        pytest.approx(1.0, abs=1e-3)
    # a box moved off its object is missed whatever the class: agnostic AP drops too
    moved = [(i, c, x + 40, y, w, h) for (i, c, x, y, w, h) in boxes[:1]] + boxes[1:]
    assert _score(agnostic, moved, right)['coco_agnostic/bbox_mAP'] < 0.75
    with pytest.raises(ValueError, match='needs ann_file'):
        _score(dict(type='ClassAgnosticCocoMetric', metric='bbox'), boxes, right)
    # a file without objects (MMDet then writes no 'annotations' key) builds too
    empty = json.loads(ann.read_text())
    del empty['annotations']
    (tmp_path / 'empty.json').write_text(json.dumps(empty))
    metric = _build_metric(dict(agnostic, ann_file=str(tmp_path / 'empty.json')))
    assert metric.cat_ids == [1] and metric._coco_api.anns == {}
