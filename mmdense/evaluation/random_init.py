"""The random-init baseline of a frozen readout, as a checkpoint with calibrated BN statistics.

A pretrained encoder carries, besides its weights, the BN running statistics of the data it was
pretrained on. A random-init encoder read out with ``pretrained_ckpt=None`` keeps BN's defaults
(mean 0, variance 1: every BN layer is the identity in eval mode), so it differs from the
pretrained rows in more than its weights; for a detector, which reads the raw C2-C5 maps, that
changes the scale of each map (on the demo world, C2 std 0.52 against about 1 for pretrained
encoders). :func:`random_init_checkpoint` gives the random encoder what pretraining gives the
others: MMDet's / MMSeg's own initialisation drawn with a seed, then BN running statistics of
images of the readout's training set (cumulative averages, BN in train mode, no gradient step).
The result is an ordinary mmdense checkpoint (``backbone.*``) that ``tools/readout/readout.sh``
loads like any pretraining checkpoint.

The segmentation readouts of :mod:`mmdense.evaluation.dense_probe` and of the learning benchmark
standardise each channel and keep ``pretrained_ckpt=None``.
"""
import copy
import io

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.utils import import_modules_from_strings
from torch.nn.modules.batchnorm import _BatchNorm

from mmdense.utils.checkpoint import atomic_write_bytes
from mmdense.utils.logs import quiet_init_logs


def full_encoder_cfg(backbone):
    """The readout's backbone config as the whole 4-stage encoder a pretraining checkpoint
    holds, trainable and with BN in train mode: a C4 readout's 3-stage backbone
    (``num_stages=3``, whose ``layer4`` is the RoI head) gets its fourth stage back (stride 2,
    no dilation); ``pretrained_ckpt`` is dropped, ``frozen_stages=-1``, ``norm_eval=False``.

    Args:
        backbone (dict): ``model.backbone`` of a readout config (``ReadoutResNet``).
    """
    cfg = copy.deepcopy(dict(backbone))
    n = cfg.get('num_stages', 4)
    if n < 4:
        cfg['strides'] = tuple(cfg.get('strides', (1, 2, 2, 2)[:n])) + (2, ) * (4 - n)
        cfg['dilations'] = tuple(cfg.get('dilations', (1, ) * n)) + (1, ) * (4 - n)
    cfg.update(num_stages=4, out_indices=(0, 1, 2, 3), frozen_stages=-1, norm_eval=False,
               pretrained_ckpt=None)
    return cfg


def calibrate_bn(net, batches):
    """Replace every BN layer's running statistics in ``net`` by their cumulative average over
    ``batches`` (BN in train mode, ``torch.no_grad``, no parameter changes): PyTorch's
    ``momentum=None``, i.e. the mean over batches of each batch's mean and (unbiased) variance,
    every batch weighted equally.

    Args:
        net (nn.Module): the encoder; left in eval mode.
        batches (iterable[Tensor]): normalised images, each (N, 3, H, W).

    Returns:
        int: the number of images seen.
    """
    bns = [m for m in net.modules() if isinstance(m, _BatchNorm)]
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over every batch
    seen = 0
    net.train()
    for m in bns:  # also where the module keeps BN in eval mode (norm_eval=True)
        m.train()
    try:
        with torch.no_grad():
            for x in batches:
                net(x)
                seen += x.shape[0]
    finally:
        for m, mom in zip(bns, momenta):
            m.momentum = mom
        net.eval()
    if not seen:
        raise ValueError('calibrate_bn got no images: the readout training set is empty')
    return seen


def random_encoder(backbone, seed, scope):
    """The readout config's ResNet as a full 4-stage encoder (:func:`full_encoder_cfg`), built
    in registry ``scope`` ('mmdet' / 'mmseg', the config's ``default_scope``; the caller's
    default scope is left as it was) and initialised by its own library (MMDet / MMSeg
    ``init_weights``) after ``torch.manual_seed(seed)``."""
    from mmengine.registry import MODELS, DefaultScope
    if not scope:
        raise KeyError('the readout config has no default_scope: set '
                       "default_scope='mmdet' (or 'mmseg') as the readout configs do")
    torch.manual_seed(seed)
    with quiet_init_logs():
        with DefaultScope.overwrite_default_scope(scope):
            net = MODELS.build(full_encoder_cfg(backbone))
        net.init_weights()
    return net


def _leaf_dataset(ds_cfg):
    """A copy of the dataset config that holds the pipeline: through dataset wrappers
    (``RepeatDataset``, ``ClassBalancedDataset``: ``dataset``; ``ConcatDataset``: the first of
    its ``datasets``)."""
    ds_cfg = copy.deepcopy(ds_cfg)
    while 'pipeline' not in ds_cfg:
        if isinstance(ds_cfg.get('dataset'), dict):
            ds_cfg = ds_cfg['dataset']
        elif ds_cfg.get('datasets'):
            ds_cfg = ds_cfg['datasets'][0]
        else:
            raise KeyError(f'dataset config of type {ds_cfg.get("type")} has no pipeline')
    return ds_cfg


def _dataset_batches(cfg, num_images, batch_size):
    """Normalised image batches of ``num_images`` evenly spaced images of the readout config's
    training set, through its *val* pipeline (whole images at the evaluated scale, no random
    transform, so the statistics are deterministic), normalised with its data preprocessor's
    ``mean`` / ``std`` / ``bgr_to_rgb``. Only images of one size share a batch, and nothing is
    padded: padding would enter the statistics."""
    from mmengine.registry import DATASETS
    ds_cfg = _leaf_dataset(cfg.train_dataloader.dataset)
    ds_cfg.pipeline = copy.deepcopy(_leaf_dataset(cfg.val_dataloader.dataset).pipeline)
    dataset = DATASETS.build(ds_cfg)
    if len(dataset) == 0:
        raise ValueError(f'the training set of the readout config ({cfg.filename}) is empty')
    pre = cfg.model.data_preprocessor
    mean = torch.tensor(pre.get('mean', [123.675, 116.28, 103.53]), dtype=torch.float32)
    std = torch.tensor(pre.get('std', [58.395, 57.12, 57.375]), dtype=torch.float32)
    to_rgb = pre.get('bgr_to_rgb', pre.get('rgb_to_bgr', False))
    idx = np.unique(np.linspace(0, len(dataset) - 1, min(num_images, len(dataset))).round()
                    .astype(int))
    buckets = {}  # image shape -> images waiting for a batch
    for j in idx:
        img = dataset[int(j)]['inputs']  # (3, H, W) uint8 as the loader gives it
        x = img.float()[[2, 1, 0]] if to_rgb else img.float()
        x = (x - mean.view(3, 1, 1)) / std.view(3, 1, 1)
        bucket = buckets.setdefault(tuple(x.shape), [])
        bucket.append(x)
        if len(bucket) == batch_size:
            yield torch.stack(bucket)
            bucket.clear()
    for bucket in buckets.values():
        if bucket:
            yield torch.stack(bucket)


def random_init_checkpoint(config, out, seed=0, num_images=256, batch_size=16, batches=None):
    """Write the random-init baseline of readout ``config`` to ``out`` (atomically).

    Args:
        config (str | Config): a readout config (MMSeg / MMDet, ``ReadoutResNet`` backbone);
            its ``train_dataloader`` must point at existing data.
        out (str): the checkpoint to write: ``{'state_dict': {'backbone.*': ...}, 'meta':
            {'seed', 'random_init': True, 'bn_images'}}``.
        seed (int): the initialisation's seed.
        num_images (int): training images whose statistics the BN layers get.
        batch_size (int): images per calibration batch.
        batches (iterable[Tensor], optional): normalised (N, 3, H, W) batches to use instead of
            the config's training set.

    Returns:
        str: ``out``.
    """
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    scope = cfg.get('default_scope')
    net = random_encoder(cfg.model.backbone, seed, scope)
    with DefaultScope.overwrite_default_scope(scope):
        if batches is None:
            batches = _dataset_batches(cfg, num_images, batch_size)
        seen = calibrate_bn(net, batches)
    state = {'backbone.' + k: v for k, v in net.state_dict().items()}
    buf = io.BytesIO()
    torch.save(dict(state_dict=state, meta=dict(seed=seed, random_init=True, bn_images=seen)),
               buf)
    atomic_write_bytes(buf.getvalue(), out)
    print_log(f'random-init encoder (seed {seed}, BN statistics of {seen} images) -> {out}',
              logger='current')
    return out
