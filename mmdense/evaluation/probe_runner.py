"""Run the dense linear probe from a config + checkpoint (used by the tool and the demo)."""
import cv2
import numpy as np
import torch
from mmengine.config import Config

from .dense_probe import dense_linear_probe, extract_dense_features
from .encoder import DenseEncoder


def read_seg_split(dataset_type, data_root, split):
    """(images: list of (H, W, 3) BGR uint8, labels: (N, H, W) uint8, number of classes) of the
    MMSeg dataset ``dataset_type`` at ``data_root`` with split file ``split``; the caller's
    default scope is left as it was."""
    from mmengine.registry import DefaultScope
    from mmseg.registry import DATASETS
    with DefaultScope.overwrite_default_scope('mmseg'):
        ds = DATASETS.build(dict(type=dataset_type, data_root=data_root, ann_file=split,
                                 pipeline=[]))
    images, labels = [], []
    for info in (ds.get_data_info(i) for i in range(len(ds))):
        img = cv2.imread(info['img_path'], cv2.IMREAD_COLOR)
        lab = cv2.imread(info['seg_map_path'], cv2.IMREAD_UNCHANGED)
        if img is None or lab is None:
            raise FileNotFoundError(f'cannot read {info["img_path"]} / {info["seg_map_path"]}')
        images.append(img)
        labels.append(lab)
    return images, np.stack(labels), len(ds.metainfo['classes'])


def build_backbone(cfg, checkpoint=None):
    """The pretraining config's backbone, with the checkpoint's ``backbone.*`` weights."""
    return DenseEncoder(cfg, checkpoint, use_neck=False).backbone


def run_dense_probe(config, checkpoint, data_root, dataset_type='DemoWorldSegDataset',
                    train_split='splits/train.txt', val_split='splits/val.txt', out_index=-1,
                    compare_random=False, seed=0):
    """Probe ``checkpoint`` (and optionally a random init). Returns ``{name: metrics}``."""
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    pre = cfg.get('data_preprocessor') or cfg.model.get('data_preprocessor') or {}
    mean = pre.get('mean', [123.675, 116.28, 103.53])
    std = pre.get('std', [58.395, 57.12, 57.375])
    to_rgb = pre.get('to_rgb', True)
    tr_img, tr_lab, num_classes = read_seg_split(dataset_type, data_root, train_split)
    va_img, va_lab, _ = read_seg_split(dataset_type, data_root, val_split)
    runs = {}
    if checkpoint:
        runs['pretrained'] = checkpoint
    if compare_random or not checkpoint:
        runs['random init'] = None
    results = {}
    for name, ckpt in runs.items():
        torch.manual_seed(seed)
        backbone = build_backbone(cfg, ckpt)
        ftr = extract_dense_features(backbone, tr_img, mean, std, to_rgb, out_index)
        fva = extract_dense_features(backbone, va_img, mean, std, to_rgb, out_index)
        results[name] = dense_linear_probe(ftr, tr_lab, fva, va_lab, num_classes, seed=seed)
    return results
