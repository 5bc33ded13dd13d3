import numpy as np
import pytest
import torch

from mmdense.evaluation import dense_linear_probe


def _labels(n, h, w, rng):
    lab = np.zeros((n, h, w), np.int64)
    for i in range(n):
        for c in (1, 2, 3):
            y, x = rng.integers(0, h - 8), rng.integers(0, w - 8)
            lab[i, y:y + 8, x:x + 8] = c
    return lab


def test_probe_separates_informative_from_random_features():
    rng = np.random.default_rng(0)
    tr, va = _labels(6, 32, 32, rng), _labels(3, 32, 32, rng)

    def onehot(lab):  # features at stride 2 that encode the label
        small = lab[:, ::2, ::2]
        f = np.eye(4)[small].transpose(0, 3, 1, 2) + 0.05 * rng.standard_normal(
            (len(lab), 4, 16, 16))
        return torch.tensor(f, dtype=torch.float32)

    good = dense_linear_probe(onehot(tr), tr, onehot(va), va, num_classes=4)
    rand = dense_linear_probe(torch.randn(6, 4, 16, 16), tr, torch.randn(3, 4, 16, 16), va, 4)
    assert good['mIoU'] > 80, good
    assert rand['mIoU'] < 40, rand
    assert len(good['IoU']) == 4


def test_probe_rejects_nan_features():
    lab = np.zeros((2, 8, 8), np.int64)
    lab[:, :4] = 1
    f = torch.randn(2, 3, 4, 4)
    f[0, 0, 0, 0] = float('nan')
    with pytest.raises(ValueError, match='non-finite'):
        dense_linear_probe(f, lab, f, lab, 2)


def test_segmentation_scores_are_mmseg_iou_metric():
    """mIoU as MMSeg's IoUMetric reports it: a class predicted but absent from the labels
    counts as 0, a class absent from both is left out."""
    from mmseg.evaluation.metrics import IoUMetric

    from mmdense.evaluation import segmentation_scores
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, (2, 12, 16))          # classes 0-2 present, 3 and 4 absent
    preds = labels.copy()
    preds[:, :4] = rng.integers(0, 4, (2, 4, 16))      # class 3 predicted, never labelled
    labels[0, 0, 0] = 255                              # ignored
    metric = IoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dict(classes=list('abcde'))
    metric.process({}, [dict(pred_sem_seg=dict(data=torch.from_numpy(p)[None]),
                             gt_sem_seg=dict(data=torch.from_numpy(lbl)[None]))
                        for p, lbl in zip(preds, labels)])
    expected = metric.compute_metrics(metric.results)
    got = segmentation_scores(torch.from_numpy(preds), labels, num_classes=5)
    assert round(got['mIoU'], 2) == expected['mIoU']
    assert round(got['aAcc'], 2) == expected['aAcc']
    assert got['IoU'][3] == 0 and np.isnan(got['IoU'][4])
    present_only = np.mean(got['IoU'][:3])             # the old "classes in the labels" mean
    assert got['mIoU'] < present_only
