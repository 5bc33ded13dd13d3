"""DAVIS-2017 data layout and its official region (J) and contour (F) measures.

Layout (as downloaded): ``DAVIS/JPEGImages/<res>/<seq>/<frame>.jpg``,
``DAVIS/Annotations/<res>/<seq>/<frame>.png`` (palette PNGs, pixel value = object id, 0 =
background, 255 = void), ``DAVIS/ImageSets/2017/val.txt``.

J is the IoU of a predicted and a ground-truth object mask; F is the F-measure of their
boundaries, each boundary pixel matched within ``ceil(0.008 * image diagonal)`` pixels (Perazzi
et al. 2016; the ``davis2017-evaluation`` definitions: both empty -> 1, void pixels ignored).
The sequence scores average over frames 1 .. n-2 (the first frame is given, the last is excluded,
as the official evaluation).
"""
import math
import os
import os.path as osp

import cv2
import numpy as np
from PIL import Image
from skimage.morphology import disk as skimage_disk


def read_davis_sequence(root, seq, resolution='480p'):
    """Frames (BGR uint8) and label maps (uint8 object ids) of one DAVIS sequence.

    Raises:
        FileNotFoundError: naming the missing folder or frame and the expected layout.
    """
    img_dir = osp.join(root, 'JPEGImages', resolution, seq)
    ann_dir = osp.join(root, 'Annotations', resolution, seq)
    for d in (img_dir, ann_dir):
        if not osp.isdir(d):
            raise FileNotFoundError(f'{d} does not exist: expected the DAVIS layout '
                                    '<root>/{JPEGImages,Annotations}/<resolution>/<sequence>/')
    names = sorted(osp.splitext(f)[0] for f in os.listdir(img_dir)
                   if f.lower().endswith(('.jpg', '.jpeg', '.png')))
    if not names:
        raise FileNotFoundError(f'{img_dir} holds no frames')
    frames, labels = [], []
    for name in names:
        path = next((osp.join(img_dir, name + e) for e in ('.jpg', '.jpeg', '.png')
                     if osp.exists(osp.join(img_dir, name + e))))
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise OSError(f'cannot decode frame {path}')
        frames.append(img)
        ann = osp.join(ann_dir, name + '.png')
        labels.append(np.array(Image.open(ann)) if osp.exists(ann) else None)
    if labels[0] is None:
        raise FileNotFoundError(f'{ann_dir}/{names[0]}.png (the first frame\'s masks) is missing')
    return frames, labels, names


def db_eval_iou(gt, pred, void=None):
    """J: IoU of boolean masks (H, W); 1 when both are empty; ``void`` pixels ignored."""
    gt, pred = gt.astype(bool), pred.astype(bool)
    if void is not None:
        keep = ~void.astype(bool)
        gt, pred = gt & keep, pred & keep
    union = np.logical_or(gt, pred).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(gt, pred).sum() / union)


def seg2bmap(mask):
    """Boundary pixels of a boolean mask: pixels whose right, bottom or bottom-right neighbour
    differs (the DAVIS ``seg2bmap`` at the mask's own size)."""
    m = mask.astype(bool)
    e = np.zeros_like(m)
    s = np.zeros_like(m)
    se = np.zeros_like(m)
    e[:, :-1] = m[:, 1:]
    s[:-1, :] = m[1:, :]
    se[:-1, :-1] = m[1:, 1:]
    b = (m ^ e) | (m ^ s) | (m ^ se)
    b[-1, :] = m[-1, :] ^ e[-1, :]
    b[:, -1] = m[:, -1] ^ s[:, -1]
    b[-1, -1] = False
    return b


def boundary_f_measure(gt, pred, bound_th=0.008, void=None):
    """F: boundary F-measure of boolean masks (H, W) with tolerance
    ``ceil(bound_th * diagonal)`` pixels (``bound_th >= 1``: that many pixels)."""
    gt, pred = gt.astype(bool), pred.astype(bool)
    if void is not None:
        keep = ~void.astype(bool)
        gt, pred = gt & keep, pred & keep
    h, w = gt.shape
    bound_pix = bound_th if bound_th >= 1 else math.ceil(bound_th * math.hypot(h, w))
    fg_b, gt_b = seg2bmap(pred), seg2bmap(gt)
    disk = skimage_disk(bound_pix).astype(np.uint8)  # the official evaluation's disk
    fg_dil = cv2.dilate(fg_b.astype(np.uint8), disk).astype(bool)
    gt_dil = cv2.dilate(gt_b.astype(np.uint8), disk).astype(bool)
    n_fg, n_gt = fg_b.sum(), gt_b.sum()
    if n_fg == 0 and n_gt == 0:
        return 1.0
    if n_fg == 0 or n_gt == 0:
        return 0.0
    precision = (fg_b & gt_dil).sum() / n_fg
    recall = (gt_b & fg_dil).sum() / n_gt
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


db_eval_boundary = boundary_f_measure


def evaluate_sequence(gt_labels, pred_labels, object_ids):
    """Mean J and F over objects and frames 1 .. n-2 (official protocol)."""
    frames = range(1, len(gt_labels) - 1) if len(gt_labels) > 2 else range(1, len(gt_labels))
    js, fs = [], []
    for obj in object_ids:
        for t in frames:
            gt = gt_labels[t]
            void = gt == 255
            js.append(db_eval_iou(gt == obj, pred_labels[t] == obj, void))
            fs.append(boundary_f_measure(gt == obj, pred_labels[t] == obj, void=void))
    return float(np.mean(js)), float(np.mean(fs))
