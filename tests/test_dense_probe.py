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
