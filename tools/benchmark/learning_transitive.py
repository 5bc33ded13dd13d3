"""Transitive invariance (Wang, He, Gupta, ICCV 2017) in the learning benchmark (issue 17):
pretraining on the demo world and the object readout. Plain functions, called by
``tools/benchmark/learning.py``:

* :func:`pretrain_transitive` builds the graph from the world's train clips (mining, KCF
  tracking, clustering, transitivity: ``mmdense.datasets.transitive.build_graph``, which reads
  the clips' frame folders directly) and trains the Triplet-Siamese ranker through
  ``tools/train.py`` (a real mmengine Runner) from a config derived from
  ``configs/transitive/triplet-siamese_vgg16_1xb8-100iters_sample-videos.py``.
  ``variant='main'``: the paper's graph (transitive + intra-instance pairs);
  ``'tracking-only'``: intra-instance pairs only (the paper's "tracking only" ablation);
  ``'object-boxes'``: the main graph with each mined box around the moving object that the
  world's instance maps name (a diagnostic, :data:`VARIANT_MINE`).
  The graph depends on (world, variant) only and is built once (skipped when its
  ``graph.json`` exists); the seed only affects training.
* :func:`object_readout`: the frozen encoder on crops of the demo objects (COCO boxes): a
  linear classifier (logistic regression on standardised features) fitted on train-clip
  crops, scored on val-clip crops (accuracy %, 4 shape classes), nearest-neighbour retrieval
  of the shape class (cosine on the same standardised features, val queries against train
  crops, top-1 %), and the effective rank (PCA directions holding 90% of the val features'
  variance). The embedding is the global-average-pooled last backbone stage (the tower that
  transfers; the paper's detection readout fine-tunes the conv layers), not the fc neck.
* :func:`pretrain_supervised`: the object readout's ``supervised`` reference row, the same tower
  trained end to end on the train clips' object crops and their shape labels with the ranker's
  budget (:func:`make_supervised_config`), then read out as above.

Benchmark-size choices and deviations from the paper (issue 17's 2-core budget):

* Clustering features: HOG (``--features hog``, the paper's ablation): no context-prediction
  checkpoint exists in the benchmark, and the paper's pool5 clustering needs one.
* Encoder: ResNet-18 (mmpretrain) on 64x64 patches instead of VGG16 on 96x96: VGG16 takes
  2-5 s per batch-8 iteration on 2 shared cores, ResNet-18 at 64 px ~0.5 s. The fc neck is
  the paper's (fc 4096 + fc 1024) on the flattened 512 x 2 x 2 last stage. Conv layers from
  scratch (the paper starts them from the context-prediction network).
* Graph: patches are still mined at 96x96 (HOG's window) and resized to 64 in the training
  pipeline. The mined box is the paper's 227 of a ~600x400 frame scaled with the frame (54 px
  of the 96x128 frames, holding 2.4 of the world's objects on average; ``mined_box``);
  inter-instance edges join different clips (``cluster_nodes``); the motion mask at full
  scale (DIS flow finds no motion on the 24x32 quarter-scale frame); one candidate per frame
  (``step`` 1), tracks of 4 frames (the clips have 6), k-means parents sized to the few
  hundred patches (:data:`CLUSTER`).
* Schedule: batch 8, SGD lr 0.01 (the demo config; ``learning.py --pretrain-lr-scale
  transitive=X`` scales it, ``--tune-pretrain`` sweeps it on the train clips' tuning split),
  :data:`DEFAULT_ITERS` iterations at the table's 300 pretraining iterations; ``learning.py
  --iters N`` scales them (N = 3000: 2000).
"""
import json
import os
import os.path as osp
import sys
import time

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)
from child_run import (CHECKPOINT_EVERY, record_used, reuse_finished,  # noqa: E402
                       stamp_version, train_in_child)

BASE_CONFIG = osp.join(REPO, 'configs/transitive/'
                       'triplet-siamese_vgg16_1xb8-100iters_sample-videos.py')
VARIANTS = {'main': ('transitive', 'intra'), 'tracking-only': ('intra', ),
            'object-boxes': ('transitive', 'intra')}
#: variants mined otherwise than :data:`MINE`: ``object-boxes`` (a diagnostic, not the paper)
#: puts each mined box around the moving object, known from the world's instance maps
#: (``mine_video(objects=...)``, ``object_box``), where the paper's box may straddle several
#: (``transitive_graph_content.py``: the mined patches lose the shape class). Paths are
#: relative to the world.
VARIANT_MINE = {'object-boxes': dict(objects='inst')}
#: mining on 96x128 frames, 6 per clip: the paper's 227 box of a 400 px short side, scaled
#: with the frame's (54 px)
MINE = dict(step=1, min_moving=0.02, max_moving=0.5, box=227, track_scale=1.0, scale=1.0)
TRACK_FRAMES = 4
#: k-means parents: one per ``patches_per_parent`` mined patches, at least 2
CLUSTER = dict(patches_per_parent=40, min_parent=8, knn=10, group=4)
PATCH = 64
DEFAULT_ITERS = 200
CROP_EXPAND = 1.25
MIN_VISIBLE_AREA = 64
#: the object readout's (annotation split, clip split) to train on and to score: the table's
#: (train clips -> val clips), and the lr sweep's, within the train clips (``tune_train`` ->
#: ``tune_val``, never a val clip; ``learning.py --tune-pretrain``)
READOUT_SPLITS = (('train', None), ('val', None))
TUNE_READOUT_SPLITS = (('train', 'tune_train'), ('train', 'tune_val'))


def read_clips(world_root, split='train'):
    """The clips of ``split`` (``train``, ``val``, ``tune_train``, ``tune_val``): the
    world's ``splits/<split>_clips.txt`` lines, ``frames/clip_XXX`` (read by
    ``learning.read_split_lines``, as ``learning_det`` reads its splits)."""
    from learning import read_split_lines
    path = osp.join(world_root, 'splits', f'{split}_clips.txt')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} does not exist: generate the demo world with '
                                'mmdense.datasets.generate_demo_world (learning.py makes it)')
    return read_split_lines(world_root, f'{split}_clips')


def _train_sources(world_root, split='train'):
    """The frame folders the graph is mined from: the clips of ``split`` (``train``; the
    lr sweep's ``tune_train``)."""
    return [osp.join(world_root, c) for c in read_clips(world_root, split)]


def num_parent_clusters(sources, step=None):
    """The k-means parents of the graph of ``sources`` (frame folders): one per
    ``CLUSTER['patches_per_parent']`` mined candidates (one per ``step`` frames but the last;
    default ``MINE['step']``), at least 2."""
    from mmdense.datasets.video_io import FrameFolderSource
    step = step or MINE['step']
    n_cand = sum(max(0, len(FrameFolderSource(s)) - 1) // step for s in sources)
    return max(2, n_cand // CLUSTER['patches_per_parent'])


def build_world_graph(world_root, graph_dir, variant='main', workers=0, log=print,
                      split='train', mine=None):
    """The transitive graph of the world's ``split`` clips (``train``; ``tune_train`` for the
    lr sweep, which never mines its ``tune_val`` clips) in ``graph_dir/graph.json``; returns
    its path. A graph already there is reused when ``graph_settings.json`` next to it holds
    these settings (mining, tracking, clustering, variant, clips), and refused with one clear
    error when it does not. ``mine``: mining settings other than :data:`MINE` (``mine_video``'s
    keywords; ``transitive_graph_content.py --box``, a diagnostic)."""
    if mine is None:
        mine = dict(MINE, **VARIANT_MINE.get(variant, {}))
    mine_kw = dict(mine)
    if 'objects' in mine_kw:
        mine_kw['objects'] = osp.abspath(osp.join(world_root, mine_kw['objects']))
    if variant not in VARIANTS:
        raise ValueError(f'variant must be one of {sorted(VARIANTS)}, not {variant!r}')
    graph_file = osp.join(graph_dir, 'graph.json')
    sources = _train_sources(world_root, split)
    num_parents = num_parent_clusters(sources, mine.get('step'))
    # inter-instance edges join different clips; a world of fewer clips than a child clique
    # (``--smoke``'s) links patches of one clip too
    cross = len(sources) >= CLUSTER['group']
    settings = dict(variant=variant, edges=list(VARIANTS[variant]), mine=mine, cluster=CLUSTER,
                    track_frames=TRACK_FRAMES, num_parents=num_parents, cross_video=cross,
                    clips=len(sources))
    if split != 'train':  # the train clips' graphs keep the settings they were mined with
        settings['split'] = split
    settings_file = osp.join(graph_dir, 'graph_settings.json')
    fix = f'Remove {graph_dir} and the runs trained on it, or use another --out-dir'
    if osp.isfile(graph_file):
        if not osp.isfile(settings_file):
            raise RuntimeError(f'{graph_file} has no {osp.basename(settings_file)} (it was '
                               'mined before the settings were kept), so it cannot be told to '
                               f'be mined with these settings. {fix}')
        with open(settings_file) as f:
            stored = json.load(f)
        if stored != json.loads(json.dumps(settings)):
            raise RuntimeError(
                f'{graph_file} was mined with other settings ({settings_file}: {stored}) than '
                f'these ({settings}); the rankers trained on it would be read as this run\'s. '
                f'{fix}')
        record_used(graph_dir, 'graph.json')  # the code that mined it
        log(f'transitive graph {graph_file} exists, reusing it')
        return graph_file
    from mmdense.datasets.transitive import build_graph
    from mmdense.utils.checkpoint import atomic_write_bytes
    os.makedirs(graph_dir, exist_ok=True)  # the settings first: graph.json marks it done
    atomic_write_bytes(json.dumps(settings, indent=1).encode(), settings_file)
    stamp_version(graph_dir, 'graph.json')
    t0 = time.perf_counter()
    if not cross:
        log(f'{len(sources)} train clips, fewer than a child clique ({CLUSTER["group"]}): '
            'inter-instance edges inside a clip too')
    summary = build_graph(sources, graph_dir, 'hog', None, TRACK_FRAMES, num_parents,
                          CLUSTER['min_parent'], CLUSTER['knn'], CLUSTER['group'],
                          VARIANTS[variant], workers, mine_kw, cross_video=cross)
    summary['seconds'] = round(time.perf_counter() - t0, 1)
    log(f'transitive graph ({variant}): {json.dumps(summary)}')
    return graph_file


def make_config(graph_file=None, seed=0, iters=DEFAULT_ITERS, work_dir=None, lr_scale=1.0):
    """The benchmark's Triplet-Siamese config (mmengine ``Config``): the demo config with a
    ResNet-18 tower on 64x64 patches (see the module docstring), ``graph_file``'s pairs,
    ``randomness.seed = seed``, ``iters`` iterations and the demo config's SGD lr (0.01) times
    ``lr_scale``."""
    from mmengine.config import Config
    cfg = Config.fromfile(BASE_CONFIG)
    cfg.model.backbone = dict(type='mmpretrain.ResNet', depth=18, init_cfg=None)
    cfg.model.neck.in_channels = 512 * (PATCH // 32)**2
    pipeline = [
        dict(type='FramePairToViews', transforms=[
            dict(type='mmpretrain.Resize', scale=(PATCH, PATCH), interpolation='area'),
            dict(type='RandomFlip', prob=0.5)]),
        dict(type='PackInputs', meta_keys=('parent', 'kind', 'img_path')),
    ]
    cfg.train_dataloader.dataset.pipeline = pipeline
    cfg.train_pipeline = pipeline
    if graph_file:
        cfg.graph_file = graph_file
        cfg.train_dataloader.dataset.graph_file = graph_file
    cfg.randomness = dict(seed=seed)
    cfg.train_cfg.max_iters = iters
    cfg.optim_wrapper.optimizer.lr *= lr_scale
    # as every benchmark run: a long run resumes from its last checkpoint
    cfg.default_hooks.checkpoint.interval = min(iters, CHECKPOINT_EVERY)
    cfg.default_hooks.logger.interval = max(1, min(10, iters))
    if work_dir:
        cfg.work_dir = work_dir
    return cfg


def pretrain_transitive(world_root, work_dir, seed=0, variant='main', iters=DEFAULT_ITERS,
                        log=print, graph_dir=None, workers=0, lr_scale=1.0, split='train'):
    """Graph (cached per world, variant and split) + Triplet-Siamese training; returns the
    checkpoint.

    Args:
        world_root (str): a generated demo world.
        work_dir (str): the training run's folder (its config, logs, ``iter_<iters>.pth``).
        graph_dir (str, optional): where the graph goes; default
            ``<parent of work_dir>/transitive-graph-<variant>`` (shared by the seeds and lrs),
            with ``-<split>`` for a split other than ``train``.
        lr_scale (float): the ranker's lr as a multiple of the demo config's
            (:func:`make_config`).
        split (str): the clips mined (``train``; ``tune_train`` for the lr sweep).
    """
    ckpt = osp.join(work_dir, f'iter_{iters}.pth')
    suffix = '' if split == 'train' else f'-{split}'
    graph_dir = graph_dir or osp.join(osp.dirname(osp.abspath(work_dir)),
                                      f'transitive-graph-{variant}{suffix}')
    t0 = time.perf_counter()
    graph_file = build_world_graph(world_root, graph_dir, variant, workers, log, split)
    t1 = time.perf_counter()
    cfg = make_config(osp.abspath(graph_file), seed, iters, osp.abspath(work_dir), lr_scale)
    what = f'Triplet-Siamese training ({variant}, seed {seed})'
    if reuse_finished(cfg, work_dir, ckpt, what, 'transitive_config.py'):  # finished, this config
        log(f'{ckpt} exists, skipping training')
        return ckpt
    train_in_child(cfg, osp.abspath(work_dir), what, 'transitive_config.py', 'train_stdout.log',
                   expect=ckpt)
    log(f'transitive {variant} seed {seed}: graph {t1 - t0:.1f} s, training {iters} iters '
        f'{time.perf_counter() - t1:.1f} s -> {ckpt}')
    return ckpt


def write_object_crops(world_root, out_dir, split='train', log=print):
    """:func:`object_crops` of ``split`` as PNGs in ``out_dir`` with ``<split>.txt`` (``name
    label`` lines, labels 0-3 = category ids 1-4), for mmpretrain's ``CustomDataset``. Kept
    when ``<split>.txt`` exists (written last, atomically) and was made from the same
    annotation file (its sha256 in ``<split>.sha256``); otherwise written again. Returns the
    list's path."""
    import hashlib

    import cv2
    from mmdense.utils.checkpoint import atomic_write_bytes
    ann, stamp = osp.join(out_dir, f'{split}.txt'), osp.join(out_dir, f'{split}.sha256')
    with open(osp.join(world_root, 'annotations', f'instances_{split}.json'), 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if osp.isfile(ann) and osp.isfile(stamp):
        with open(stamp) as f:
            if f.read().strip() == digest:
                return ann
    crops, labels = object_crops(world_root, split)
    os.makedirs(osp.join(out_dir, split), exist_ok=True)
    lines = []
    for i, (crop, label) in enumerate(zip(crops, labels)):
        name = f'{split}/{i:06d}.png'
        ok, buf = cv2.imencode('.png', crop)
        if not ok:
            raise OSError(f'cannot encode object crop {name}')
        atomic_write_bytes(buf.tobytes(), osp.join(out_dir, name))
        lines.append(f'{name} {int(label) - 1}')
    atomic_write_bytes(digest.encode(), stamp)
    atomic_write_bytes(('\n'.join(lines) + '\n').encode(), ann)
    log(f'{len(lines)} {split} object crops -> {out_dir}')
    return ann


def make_supervised_config(crops_dir, seed=0, iters=DEFAULT_ITERS, work_dir=None):
    """The ``supervised`` reference of the object readout: the same ResNet-18 tower on the same
    64x64 inputs, trained end to end on the train clips' object crops with their shape labels
    (mmpretrain ``ImageClassifier``, pooled last stage, linear 4-way head, cross entropy), with
    the ranker's budget and schedule (:func:`make_config`: iterations, batch 8, SGD lr 0.01,
    flips)."""
    cfg = make_config(None, seed, iters, work_dir)
    pre = cfg.model.data_preprocessor
    cfg.model = dict(
        type='mmpretrain.ImageClassifier',
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', mean=pre.mean,
                               std=pre.std, to_rgb=pre.to_rgb, num_classes=4),
        backbone=cfg.model.backbone,
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=4, in_channels=512,
                  loss=dict(type='mmpretrain.CrossEntropyLoss')))
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='mmpretrain.Resize', scale=(PATCH, PATCH), interpolation='area'),
                dict(type='RandomFlip', prob=0.5),
                dict(type='mmpretrain.PackInputs')]
    cfg.train_pipeline = pipeline
    cfg.train_dataloader.dataset = dict(
        type='mmpretrain.CustomDataset', data_root=crops_dir, ann_file='train.txt',
        with_label=True, pipeline=pipeline)
    cfg.train_dataloader.collate_fn = dict(type='default_collate')
    cfg.pop('graph_file', None)
    return cfg


def pretrain_supervised(world_root, work_dir, seed=0, iters=DEFAULT_ITERS, log=print):
    """Train :func:`make_supervised_config` (crops written once, next to ``work_dir``); returns
    the checkpoint, whose config is ``work_dir/supervised_config.py``."""
    ckpt = osp.join(work_dir, f'iter_{iters}.pth')
    crops_dir = osp.join(osp.dirname(osp.abspath(work_dir)), 'object-crops')
    write_object_crops(world_root, crops_dir, 'train', log)
    t0 = time.perf_counter()
    cfg = make_supervised_config(crops_dir, seed, iters, osp.abspath(work_dir))
    what = f'supervised object training (seed {seed})'
    if reuse_finished(cfg, work_dir, ckpt, what, 'supervised_config.py'):  # finished, this config
        log(f'{ckpt} exists, skipping training')
        return ckpt
    train_in_child(cfg, osp.abspath(work_dir), what, 'supervised_config.py', 'train_stdout.log',
                   expect=ckpt)
    log(f'supervised objects seed {seed}: training {iters} iters '
        f'{time.perf_counter() - t0:.1f} s -> {ckpt}')
    return ckpt


def object_crops(world_root, split, size=PATCH, expand=CROP_EXPAND,
                 min_area=MIN_VISIBLE_AREA, clips=None):
    """Square crops (``size`` x ``size`` BGR) of the demo objects of ``split`` (COCO boxes
    expanded by ``expand`` around their centre; the frame border replicated where the square
    leaves the frame), with their class ids; instances whose visible area is under
    ``min_area`` pixels are skipped. ``clips`` (names such as ``clip_003``): only the frames
    of these clips (the lr sweep's tuning split of the train clips)."""
    from mmdense.datasets.video_io import read_image
    with open(osp.join(world_root, 'annotations', f'instances_{split}.json')) as f:
        coco = json.load(f)
    images = {im['id']: im for im in coco['images']}
    crops, labels, cache = [], [], {}
    keep = None if clips is None else set(clips)
    for ann in coco['annotations']:
        if ann.get('iscrowd') or ann['area'] < min_area:
            continue
        im = images[ann['image_id']]
        if keep is not None and im['file_name'].split('/')[0] not in keep:
            continue
        if im['id'] not in cache:
            cache = {im['id']: read_image(osp.join(world_root, 'frames', im['file_name']))}
        crops.append(square_crop(cache[im['id']], ann['bbox'], size, expand))
        labels.append(int(ann['category_id']))
    return crops, np.asarray(labels)


def square_crop(frame, bbox, size=PATCH, expand=CROP_EXPAND):
    """The object readout's crop of one object: the square of side ``expand`` x the longer side
    of ``bbox`` (x, y, w, h) around its centre, the frame border replicated where the square
    leaves the frame, resized to ``size`` x ``size``."""
    import cv2
    x, y, w, h = bbox
    side = max(w, h) * expand
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    s = max(2, int(round(side)))
    pad = s
    padded = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    crop = padded[y0 + pad:y0 + pad + s, x0 + pad:x0 + pad + s]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA
                      if s > size else cv2.INTER_LINEAR)


def object_readout(world_root, checkpoint=None, config=None, log=print, seed=0,
                   splits=READOUT_SPLITS):
    """Object readout of a frozen Transitive encoder (see the module docstring).

    Args:
        checkpoint (str, optional): a :func:`pretrain_transitive` checkpoint; None: random init
            of the same architecture (the "random" reference row).
        config (str | Config, optional): the training config (``transitive_config.py`` in the
            run's work_dir); None: :func:`make_config`'s architecture.
        splits: where the readout trains and where it is scored, each ``(annotation split,
            clip split or None)``: :data:`READOUT_SPLITS` (train clips -> val clips), or
            :data:`TUNE_READOUT_SPLITS` (the lr sweep's: within the train clips).

    Returns:
        dict: ``object-linear`` and ``object-nn`` (accuracy %, scored crops), ``num_train``,
        ``num_val``, ``effective_rank`` (scored crop features).
    """
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from mmdense.evaluation import DenseEncoder, effective_rank
    torch.manual_seed(seed)  # the random-init row is reproducible
    cfg = make_config() if config is None else config
    enc = DenseEncoder(cfg, checkpoint, use_neck=False)
    t0 = time.perf_counter()
    feats = {}
    for role, (split, clip_split) in zip(('train', 'val'), splits):
        clips = None if clip_split is None else [
            osp.basename(c) for c in read_clips(world_root, clip_split)]
        crops, labels = object_crops(world_root, split, clips=clips)
        if not len(crops):
            raise ValueError(f'no object crops in {world_root} ({split}'
                             f'{"" if clip_split is None else ", " + clip_split + " clips"})')
        f = enc.features(crops, batch_size=32).mean((2, 3)).numpy().astype(np.float64)
        feats[role] = (f, labels)
    (xtr, ytr), (xva, yva) = feats['train'], feats['val']
    scaler = StandardScaler().fit(xtr)
    ztr, zva = scaler.transform(xtr), scaler.transform(xva)
    clf = LogisticRegression(max_iter=2000).fit(ztr, ytr)
    linear = float((clf.predict(zva) == yva).mean() * 100)
    ntr = ztr / np.maximum(np.linalg.norm(ztr, axis=1, keepdims=True), 1e-12)
    nva = zva / np.maximum(np.linalg.norm(zva, axis=1, keepdims=True), 1e-12)
    nn_acc = float((ytr[(nva @ ntr.T).argmax(1)] == yva).mean() * 100)
    out = {'object-linear': round(linear, 2), 'object-nn': round(nn_acc, 2),
           'num_train': int(len(ytr)), 'num_val': int(len(yva)),
           'effective_rank': effective_rank(xva)}
    log(f'transitive object readout ({checkpoint or "random init"}): {out}, '
        f'{time.perf_counter() - t0:.1f} s')
    return out
