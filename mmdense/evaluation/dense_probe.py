"""Dense linear probe: a quick, training-free-for-the-backbone check of dense features.

The backbone is frozen; a multinomial logistic regression (scikit-learn) is fitted on pixel
features of the train images against their semantic labels (labels resized to the feature map
with nearest neighbours), and evaluated on the val images by upsampling the per-pixel logits
bilinearly to label resolution, exactly as a 1x1-conv linear readout is scored in MMSeg. IoU is
computed with MMSeg's own ``IoUMetric`` helpers, so the numbers are comparable with its evaluator.

It is the metric the demo prints (pretrained vs random init) and a cheap monitor for ablations;
the full readout protocol (MMSeg / MMDet heads trained with SGD) lives in ``configs/readout``.
"""
import cv2
import numpy as np
import torch
import torch.nn.functional as F


def class_areas(preds, labels, num_classes, ignore_index=255):
    """Per-class areas summed over images, by MMSeg's ``IoUMetric.intersect_and_union``.

    Args:
        preds (Tensor | ndarray): (N, H, W) predicted class maps.
        labels (ndarray): (N, H, W) int class maps; ``ignore_index`` pixels are left out.

    Returns:
        list[Tensor]: ``[intersect, union, pred, label]`` areas, each (num_classes,), the input
        of ``IoUMetric.total_area_to_metrics``.
    """
    from mmseg.evaluation.metrics import IoUMetric
    areas = [IoUMetric.intersect_and_union(torch.as_tensor(p),
                                           torch.from_numpy(np.asarray(lbl).astype(np.int64)),
                                           num_classes, ignore_index)
             for p, lbl in zip(preds, labels)]
    return [sum(a[i] for a in areas) for i in range(4)]


@torch.no_grad()
def extract_dense_features(backbone, images, mean, std, to_rgb=True, out_index=-1,
                           batch_size=8, device='cpu'):
    """Features of ``images`` from a frozen ``backbone``.

    Args:
        backbone (nn.Module): returns a tuple of feature maps (MMPretrain / MMSeg style).
        images (list[ndarray]): BGR uint8 (H, W, 3), all the same size.
        mean, std (sequence[float]): per-channel normalisation (RGB order if ``to_rgb``).
        out_index (int): which backbone output to use.

    Returns:
        Tensor: (N, C, h, w) float32 features.
    """
    backbone.eval()  # (some backbones' train() do not return self)
    backbone.to(device)
    mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    feats = []
    for i in range(0, len(images), batch_size):
        arr = np.stack(images[i:i + batch_size])
        if to_rgb:
            arr = arr[..., ::-1]
        x = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float()
        x = ((x - mean) / std).to(device)
        out = backbone(x)
        out = out[out_index] if isinstance(out, (tuple, list)) else out
        feats.append(out.float().cpu())
    return torch.cat(feats)


def _resize_labels(labels, size):
    h, w = size
    return np.stack([cv2.resize(lab, (w, h), interpolation=cv2.INTER_NEAREST) for lab in labels])


def dense_linear_probe(train_feats, train_labels, val_feats, val_labels, num_classes,
                       ignore_index=255, max_pixels=20000, seed=0, C=1.0):
    """Fit a pixel-wise linear classifier on frozen features and score it on val.

    Args:
        train_feats, val_feats (Tensor): (N, C, h, w) features.
        train_labels, val_labels (ndarray): (N, H, W) integer labels.
        num_classes (int): number of classes.
        max_pixels (int): train pixels sampled (uniformly, fixed seed) for the fit.

    Returns:
        dict: ``mIoU``, ``aAcc`` (percent, as MMSeg prints them) and per-class ``IoU`` list.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    n, c, h, w = train_feats.shape
    lab = _resize_labels(train_labels, (h, w)).reshape(-1)
    x = train_feats.permute(0, 2, 3, 1).reshape(-1, c).numpy()
    keep = np.nonzero(lab != ignore_index)[0]
    rng = np.random.default_rng(seed)
    if len(keep) > max_pixels:
        keep = rng.choice(keep, max_pixels, replace=False)
    if not np.isfinite(x[keep]).all():
        raise ValueError('the backbone produced non-finite features (NaN/Inf): the checkpoint '
                         'is broken (diverged training?); evaluate an earlier checkpoint')
    scaler = StandardScaler().fit(x[keep])
    clf = LogisticRegression(max_iter=300, C=C, random_state=seed)
    clf.fit(scaler.transform(x[keep]), lab[keep])
    # linear map in feature space -> logits map, upsampled bilinearly as a 1x1-conv readout
    weight = np.zeros((num_classes, c), np.float32)
    bias = np.full(num_classes, -1e4, np.float32)  # classes absent from train are never chosen
    coef = clf.coef_ / scaler.scale_[None]
    icpt = clf.intercept_ - (coef * scaler.mean_[None]).sum(1)
    if len(clf.classes_) == 2:  # sklearn's binary case has one row
        coef = np.concatenate([-coef, coef]) / 2
        icpt = np.concatenate([-icpt, icpt]) / 2
    weight[clf.classes_] = coef
    bias[clf.classes_] = icpt
    logits = torch.einsum('nchw,kc->nkhw', val_feats, torch.from_numpy(weight))
    logits = logits + torch.from_numpy(bias).view(1, -1, 1, 1)
    H, W = val_labels.shape[1:]
    pred = F.interpolate(logits, size=(H, W), mode='bilinear', align_corners=False).argmax(1)
    return segmentation_scores(pred, val_labels, num_classes, ignore_index)


def segmentation_scores(preds, labels, num_classes, ignore_index=255):
    """MMSeg's ``IoUMetric`` figures of predicted class maps: its per-class areas
    (:func:`class_areas`), its ``total_area_to_metrics`` and its summary (the mean over the
    classes whose IoU is defined, ``np.nanmean``: a class predicted but absent from ``labels``
    counts as 0, one absent from both is left out), unrounded.

    Args:
        preds (Tensor | ndarray): (N, H, W) predicted class maps.
        labels (ndarray): (N, H, W) int class maps.

    Returns:
        dict: ``mIoU`` and ``aAcc`` (percent, as MMSeg prints them) and the per-class ``IoU``
        list (percent; NaN for a class absent from both).
    """
    from mmseg.evaluation.metrics import IoUMetric
    totals = class_areas(preds, labels, num_classes, ignore_index)
    metrics = IoUMetric.total_area_to_metrics(*totals, metrics=['mIoU'])
    iou = np.asarray(metrics['IoU'].numpy() if torch.is_tensor(metrics['IoU'])
                     else metrics['IoU'], dtype=np.float64)
    return dict(mIoU=float(np.nanmean(iou) * 100), aAcc=float(metrics['aAcc']) * 100,
                IoU=[float(v) * 100 for v in iou])


def effective_rank(feats, energy=0.9, max_samples=20000, seed=0):
    """Number of PCA directions holding ``energy`` of the variance of ``feats`` (N, C) (at most
    ``max_samples`` rows, drawn with ``seed``): low values show a collapsed representation."""
    x = torch.as_tensor(feats).double()
    if len(x) > max_samples:
        x = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:max_samples]]
    x = x - x.mean(0)
    ev = torch.linalg.eigvalsh(x.T @ x / len(x)).flip(0).clamp_min(0)
    if ev.sum() <= 0:
        return 0
    return int((torch.cumsum(ev, 0) / ev.sum() < energy).sum()) + 1
