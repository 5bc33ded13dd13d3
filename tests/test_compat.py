import mmcv
import numpy as np
import pytest

from mmdense.utils.compat import _shift_hue, adjust_hue


def test_hue_shift_wraps_like_numpy1():
    h = np.array([0, 10, 250, 255], np.uint8)
    # numpy 1: h + np.uint8(-20.4) == h + 236 (mod 256) == h - 20 (mod 256)
    np.testing.assert_array_equal(_shift_hue(h, -0.08), (h.astype(int) - 20) % 256)
    np.testing.assert_array_equal(_shift_hue(h, 0.1), (h.astype(int) + 25) % 256)


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_mmcv_adjust_hue_is_patched_and_works_for_negative_shifts(backend):
    assert mmcv.adjust_hue is adjust_hue
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    out = mmcv.adjust_hue(img, -0.1, backend=backend)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - img).mean() > 5  # colours changed
    # a full 0.5 turn twice gives (almost) the original image back
    back = mmcv.adjust_hue(mmcv.adjust_hue(img, 0.5, backend=backend), -0.5, backend=backend)
    assert np.abs(back.astype(int) - img).mean() < 6
    np.testing.assert_array_equal(mmcv.adjust_hue(img, 0.0, backend=backend)[..., 0].shape,
                                  (8, 8))
    with pytest.raises(ValueError, match='not in'):
        mmcv.adjust_hue(img, 0.7, backend=backend)
