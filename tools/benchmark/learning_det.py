"""The detection readout of the learning benchmark (issue 17): MMDet's Faster R-CNN with the FPN
header on a frozen encoder, trained on the benchmark world's train clips and scored on its val
clips' readout frames (every third, as the seg readouts) with MMDet's ``CocoMetric`` (bbox
mAP) and mmdense's ``ClassAgnosticCocoMetric`` (the same boxes, one class for all objects).
Plain functions, called by ``tools/benchmark/learning.py``.

The readout is ``configs/readout/det/faster-rcnn_r18-fpn-frozen_1xb4-300iters_demo-world.py``
(FlowE sec. 4.3's "heavier header": the encoder's four stages are frozen, FPN + RPN + box head
are trained) pointed at the benchmark world, with :data:`DET_ITERS` iterations (its schedule
stretched to them) and the run's seed. Every encoder is read as a plain ResNet-18 C2-C5 (a
dilated pretraining encoder loads with the standard strides: dilation does not change parameter
shapes), so all detection rows compare with one random-init row (``faster-rcnn-fpn@r18``).
``dilated=True`` reads it with the dilated encoders' own geometry instead (:func:`dilate`; used
by ``det_dilated_readout.py``, not by the table).
Each readout runs ``tools/train.py`` (a real mmengine Runner) in a child process; its metrics
are kept in ``det_metrics.json`` in the run's folder, so a finished readout is not run again.
"""
import functools
import json
import os
import os.path as osp

from child_run import reuse_finished, scalar_rows, train_in_child

from mmdense.utils.checkpoint import atomic_write_bytes

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DET_CONFIG = osp.join(REPO,
                      'configs/readout/det/faster-rcnn_r18-fpn-frozen_1xb4-300iters_demo-world.py')
#: detection readout iterations (batch 4); the config's 300-iteration schedule is stretched to it
DET_ITERS = 600
DET_ARCH = 'r18'
DET_READOUT = f'faster-rcnn-fpn@{DET_ARCH}'
#: the ``detector-trained`` diagnostic's readout: the same detector and schedule with the
#: encoder trained too (no frozen stage, BN trained), a ceiling for the frozen readout's budget
DET_TRAINED_READOUT = f'faster-rcnn-fpn-trained@{DET_ARCH}'


def readout_val_annotations(root):
    """COCO annotations of the val frames the seg readouts score (``splits/readout_val.txt``:
    every third frame), written once next to the world's ``instances_val.json``."""
    out = osp.join(root, 'annotations', 'instances_readout_val.json')
    if osp.isfile(out):
        return out
    from learning import read_split_lines
    names = {name + '.png' for name in read_split_lines(root, 'readout_val')}
    with open(osp.join(root, 'annotations', 'instances_val.json')) as f:
        coco = json.load(f)
    coco['images'] = [im for im in coco['images'] if im['file_name'] in names]
    ids = {im['id'] for im in coco['images']}
    if len(ids) != len(names):
        raise ValueError(f'{root}: instances_val.json lacks frames of splits/readout_val.txt; '
                         'regenerate the world (delete it and rerun learning.py)')
    coco['annotations'] = [a for a in coco['annotations'] if a['image_id'] in ids]
    atomic_write_bytes(json.dumps(coco).encode(), out)
    return out


@functools.lru_cache()
def _dilated_configs_geometry():
    from mmengine.config import Config

    from learning import CACL, FLOWE, SUPERVISED
    found = {}
    for config in (FLOWE, CACL, SUPERVISED):
        backbone = Config.fromfile(osp.join(REPO, config)).model.backbone
        found[config] = (tuple(backbone.strides), tuple(backbone.dilations))
    if len(set(found.values())) != 1:
        raise ValueError(f'the dilated encoders\' configs disagree on (strides, dilations): '
                         f'{found}; make them agree before reading them dilated')
    return found[FLOWE]


def dilated_geometry():
    """``dict(strides, dilations)`` of the dilated pretraining encoders (output stride 8;
    strides 1, 2, 1, 1 and dilations 1, 1, 2, 4), read from the configs that build them
    (``learning.FLOWE``, ``CACL`` and ``SUPERVISED``, which must agree), for reading them with it
    (``dilated=True``; ``det_dilated_readout.py``), not the table's default. A new dict each
    call."""
    strides, dilations = _dilated_configs_geometry()
    return dict(strides=strides, dilations=dilations)


def dilate(cfg, anchor_sizes='stride'):
    """Read the encoder of detection config ``cfg`` with :func:`dilated_geometry`: the
    backbone's strides and dilations, and the strides of the levels the RPN's anchors and the
    RoI extractor read (C2-C5 at 4, 8, 8, 8; the FPN's extra level at twice C5's).

    ``anchor_sizes``: ``'stride'`` sizes each level's anchors by its stride, MMDet's default
    (``base_sizes`` = ``strides``), so the anchors change too: 16, 32, 32, 32, 64 px against the
    standard readout's 16-256 px (``scales=[4]``); ``'standard'`` keeps the standard readout's
    sizes (``base_sizes`` = its strides), so only the feature strides change."""
    if anchor_sizes not in ('stride', 'standard'):
        raise ValueError(f"anchor_sizes must be 'stride' or 'standard', got {anchor_sizes!r}")
    anchors = cfg.model.rpn_head.anchor_generator
    if anchor_sizes == 'standard':
        anchors.base_sizes = list(anchors.get('base_sizes') or anchors.strides)
    geometry = dilated_geometry()
    cfg.model.backbone.update(geometry)
    stage = [4 * geometry['strides'][0]]  # the stem's output stride, times layer1's
    for s in geometry['strides'][1:]:
        stage.append(stage[-1] * s)
    anchors.strides = stage + [2 * stage[-1]]
    cfg.model.roi_head.bbox_roi_extractor.featmap_strides = stage
    return cfg


def det_config(root, checkpoint, seed, work_dir, iters=DET_ITERS, train_encoder=False,
               dilated=False, anchor_sizes='stride'):
    """The readout config: the demo-world Faster R-CNN FPN readout on the world at ``root``
    (``train_encoder``: the encoder is trained with the rest, from ``checkpoint``: no frozen
    stage, BN layers trained and in train mode; ``dilated``: the encoder is read with
    :func:`dilated_geometry`, and ``anchor_sizes`` as :func:`dilate` says)."""
    from mmengine.config import Config
    cfg = Config.fromfile(DET_CONFIG)
    if dilated:
        dilate(cfg, anchor_sizes)
    with open(osp.join(root, 'meta.json')) as f:
        params = json.load(f)['params']
    height, width = params['height'], params['width']
    cfg.model.backbone.pretrained_ckpt = checkpoint
    if train_encoder:
        cfg.model.backbone.update(frozen_stages=-1, norm_eval=False,
                                  norm_cfg=dict(type='BN', requires_grad=True))
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = root + '/'
        for t in loader.dataset.pipeline:  # the frames as rendered, as the seg readouts
            if t['type'] == 'Resize':
                t['scale'] = (width, height)
    val_ann = readout_val_annotations(root)
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.ann_file = val_ann
    # MMDet's per-class box AP, and the same boxes scored with one class for all objects
    # (``coco_agnostic/bbox_mAP``): whether a readout finds the objects or names them wrong
    coco = dict(cfg.val_evaluator, ann_file=val_ann)
    cfg.val_evaluator = cfg.test_evaluator = [
        coco, dict(coco, type='ClassAgnosticCocoMetric')]
    base = cfg.train_cfg.max_iters
    for s in cfg.param_scheduler:  # the warm-up stays; the steps move with the length
        if s['type'] == 'MultiStepLR':
            s['end'] = iters
            s['milestones'] = [round(m * iters / base) for m in s['milestones']]
    cfg.train_cfg.max_iters = cfg.train_cfg.val_interval = iters
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=iters, by_epoch=False,
                                        max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=50)
    cfg.randomness = dict(seed=seed)
    # a NaN / inf loss stops the readout (MMDet's check) instead of training on for nothing
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
        dict(type='CheckInvalidLossHook', interval=10)]
    cfg.work_dir = work_dir
    return cfg


def det_scores(metrics):
    """(name, value in %) of a readout's metrics (:func:`det_readout`), as the results files
    record them: MMDet's ``bbox_mAP`` / ``bbox_mAP_50`` and the class-agnostic
    ``bbox_mAP_agnostic`` (readouts run before it have no such figure)."""
    scores = [(key, 100 * metrics[f'coco/{key}']) for key in ('bbox_mAP', 'bbox_mAP_50')]
    if 'coco_agnostic/bbox_mAP' in metrics:
        scores.append(('bbox_mAP_agnostic', 100 * metrics['coco_agnostic/bbox_mAP']))
    return scores


def _last_metrics(work_dir):
    """The last ``coco/bbox_*`` (and ``coco_agnostic/bbox_*``) row of mmengine's scalars.json
    files in ``work_dir``."""
    out = {}
    for row in scalar_rows(work_dir):
        if 'coco/bbox_mAP' in row:
            out = {k: v for k, v in row.items()
                   if k.startswith(('coco/bbox_', 'coco_agnostic/bbox_'))}
    return out


def random_init_checkpoint(root, seed, path, frames=256, batch=16, dilated=False):
    """The random-init encoder of the detection rows, as a checkpoint
    (:func:`mmdense.evaluation.random_init_checkpoint`): the readout's ResNet-18 with MMDet's
    initialisation drawn with ``seed``, and BN running statistics of the first ``frames`` of
    the world's readout-train frames (BN in train mode, cumulative averages, no gradient step;
    with ``dilated``, of the encoder with :func:`dilated_geometry`: the same weights).

    Every pretrained encoder carries BN statistics of the world's frames; with these the
    random-init row differs from the pretrained rows only in its weights (MMDet's default
    statistics, mean 0 and var 1, give C2 maps of std 0.52 on world frames, against 0.98 here
    and 0.94 / 1.06 for FlowE's / the supervised encoder)."""
    import numpy as np
    import torch
    from mmengine.config import Config

    from learning import read_split_lines, read_world_map
    from mmdense.evaluation.random_init import random_init_checkpoint as write
    cfg = Config.fromfile(DET_CONFIG)
    if dilated:
        dilate(cfg)
    prep = cfg.model.data_preprocessor
    names = read_split_lines(root, 'readout_train')[:frames]
    mean = torch.tensor(prep.mean).view(1, 3, 1, 1)
    std = torch.tensor(prep.std).view(1, 3, 1, 1)

    def batches():
        for i in range(0, len(names), batch):
            imgs = []
            for n in names[i:i + batch]:
                img = read_world_map(root, 'frames', n)
                imgs.append(img[..., ::-1] if prep.bgr_to_rgb else img)
            x = torch.from_numpy(np.ascontiguousarray(np.stack(imgs))).permute(0, 3, 1, 2)
            yield (x.float() - mean) / std

    return write(cfg, path, seed=seed, batches=batches())


def det_readout(root, checkpoint, seed, work_dir, iters=DET_ITERS, log=print,
                train_encoder=False, dilated=False, anchor_sizes='stride'):
    """Train and score the detection readout of one frozen encoder (``checkpoint`` None:
    :func:`random_init_checkpoint` with ``seed``; ``train_encoder``: the encoder trains too;
    ``dilated``, ``anchor_sizes``: read with :func:`dilated_geometry`; see :func:`det_config`).
    Returns MMDet's
    ``coco/bbox_*`` metrics and the class-agnostic ``coco_agnostic/bbox_*`` ones (0-1; readouts
    run before it have only the first)."""
    done = osp.join(work_dir, 'det_metrics.json')
    random_ckpt = osp.join(work_dir, 'random_init.pth')
    cfg = det_config(root, checkpoint or random_ckpt, seed, work_dir, iters, train_encoder,
                     dilated, anchor_sizes)
    if reuse_finished(cfg, work_dir, done, f'the detection readout of {checkpoint or random_ckpt}',
                      'det_config.py'):  # a finished readout of this config
        with open(done) as f:
            return json.load(f)
    os.makedirs(work_dir, exist_ok=True)
    if checkpoint is None:  # written to random_ckpt, the path cfg reads
        checkpoint = random_init_checkpoint(root, seed, random_ckpt, dilated=dilated)
    how = ', encoder trained' if train_encoder else ''
    how += f', read dilated ({anchor_sizes} anchor sizes)' if dilated else ''
    log(f'detection readout ({iters} iterations{how}) of {checkpoint} seed {seed} -> {work_dir}')
    what = f'detection readout of {checkpoint}'
    hint = '; a NaN or infinite loss stops it'
    train_in_child(cfg, work_dir, what, 'det_config.py', 'det.log', hint=hint)
    metrics = _last_metrics(work_dir)
    if not metrics:
        raise RuntimeError(f'{what} logged no coco/bbox_mAP: see {work_dir}/det.log')
    atomic_write_bytes(json.dumps(metrics).encode(), done)
    return metrics
