"""UCM region trees in the data pipeline (hierarchical grouping)."""
import os.path as osp

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmdense.registry import TRANSFORMS
from ..ucm import load_ucm, ucm_path
from .flow import PackFlowInputs


@TRANSFORMS.register_module()
class LoadUCM(BaseTransform):
    """Read the region tree of ``img_path`` written by ``tools/ucm/compute_ucm.py``:
    ``ucm_root/<img_path relative to img_root, suffix .npz>``.

    Added keys: ``ucm_labels`` (H, W) int64 region ids, ``ucm_dist`` (M, M) float32 tree
    distances. A missing, corrupt or empty file stops with its path and the fix.

    Geometry: place this before :class:`CorrespondingViews` (whose geometric transforms record
    each view's affine); :class:`PackUCMInputs` warps the region map into every view with that
    affine, so it follows every crop, scale and flip exactly.
    """

    def __init__(self, ucm_root, img_root):
        self.ucm_root = ucm_root
        self.img_root = img_root

    def transform(self, results):
        rel = osp.relpath(results['img_path'], self.img_root)
        labels, dist = load_ucm(ucm_path(self.ucm_root, rel))
        if labels.shape != results['img'].shape[:2]:
            raise ValueError(f'{ucm_path(self.ucm_root, rel)} is {labels.shape}, the image '
                             f'{results["img_path"]} is {results["img"].shape[:2]}: recompute the '
                             'UCM cache for these images')
        results['ucm_labels'] = labels
        results['ucm_dist'] = dist
        return results


def warp_labels(labels, affine, size, ignore_index=255):
    """Region map (H, W) warped by the frame -> view ``affine`` (3, 3) into a view of
    ``size`` (h, w), nearest neighbour; pixels outside the frame get ``ignore_index``."""
    out = cv2.warpAffine(labels.astype(np.uint8), np.asarray(affine, np.float64)[:2],
                         (size[1], size[0]), flags=cv2.INTER_NEAREST,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=ignore_index)
    return out


@TRANSFORMS.register_module()
class PackUCMInputs(PackFlowInputs):
    """:class:`PackFlowInputs` plus each view's region map (``ucm_labels_v1``, ``ucm_labels_v2``
    (h, w) int64, 255 outside the frame) and ``ucm_dist`` (M, M), in the data samples."""

    def transform(self, results):
        packed = super().transform(results)
        sample = packed['data_samples']
        views = results['img'] if isinstance(results['img'], list) else [results['img']]
        for i, view in enumerate(views):
            affine = results.get(f'affine_v{i + 1}', np.eye(3))
            lab = warp_labels(results['ucm_labels'], affine, view.shape[:2])
            sample.set_field(torch.from_numpy(lab.astype(np.int64)), f'ucm_labels_v{i + 1}',
                             field_type='metainfo')
        sample.set_field(torch.from_numpy(results['ucm_dist']), 'ucm_dist',
                         field_type='metainfo')
        return packed
