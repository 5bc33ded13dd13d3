"""Segment retrieval (hierarchical grouping, Table 2): k-means segments of every image's
embedding, region descriptors by average pooling, nearest-neighbour retrieval val -> train; each
val segment takes the majority label of its retrieved train segment; per-class IoU on val."""
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.cluster import KMeans

from mmdense.evaluation import class_areas


def kmeans_segments(feat, k=15, seed=0):
    """(C, h, w) features -> ((h, w) segment ids, (S, C) unit descriptors), S <= k."""
    c, h, w = feat.shape
    x = F.normalize(feat.flatten(1).t(), dim=1).numpy()
    k = min(k, len(np.unique(x.round(6), axis=0)))
    ids = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(x)
    _, ids = np.unique(ids, return_inverse=True)
    desc = np.stack([x[ids == s].mean(0) for s in range(ids.max() + 1)])
    desc /= np.linalg.norm(desc, axis=1, keepdims=True) + 1e-12
    return ids.reshape(h, w), desc


def _majority(labels, ignore_index):
    labels = labels[labels != ignore_index]
    return int(np.bincount(labels).argmax()) if labels.size else ignore_index


def segment_retrieval(train_feats, train_labels, val_feats, val_labels, num_classes, k=15,
                      ignore_index=255, seed=0):
    """Per-class IoU of labels predicted by segment retrieval.

    Args:
        train_feats, val_feats (Tensor): (N, C, h, w) features.
        train_labels, val_labels (ndarray): (N, H, W) int class maps.
        num_classes (int): classes; k (int): k-means clusters per image (15 in the paper).

    Returns:
        dict: ``iou`` (num_classes,) with NaN for classes absent from val and predictions,
        ``miou``, ``pred`` (N_val, H, W) predicted maps.
    """
    def segments(feats, labels):
        out = []
        for f, lab in zip(feats, labels):
            ids, desc = kmeans_segments(f, k, seed)
            big = torch.from_numpy(ids)[None, None].float()
            big = F.interpolate(big, size=lab.shape, mode='nearest')[0, 0].long().numpy()
            out.append((big, desc))
        return out

    train = segments(train_feats, train_labels)
    bank, bank_labels = [], []
    for (ids, desc), lab in zip(train, train_labels):
        for s in range(desc.shape[0]):
            bank.append(desc[s])
            bank_labels.append(_majority(lab[ids == s], ignore_index))
    bank = np.stack(bank)
    bank_labels = np.array(bank_labels)
    preds = []
    for ids, desc in segments(val_feats, val_labels):
        nn_idx = (desc @ bank.T).argmax(1)
        preds.append(bank_labels[nn_idx][ids])
    preds = np.stack(preds)
    inter, union = class_areas(preds, val_labels, num_classes, ignore_index)[:2]
    iou = (inter.double() / union.double()).numpy()  # 0 / 0 = NaN: in neither val nor preds
    return dict(iou=iou, miou=float(np.nanmean(iou)), pred=preds)
