"""Compatibility fixes for the pinned OpenMMLab stack on numpy 2.

mmcv 2.1.0's ``adjust_hue`` shifts the hue channel with ``h += np.uint8(hue_factor * 255)``.
numpy 1 wrapped a negative factor around (``np.uint8(-20) == 236``, i.e. a shift of -20 mod 256);
numpy 2 raises ``OverflowError``, so MMPretrain's ``ColorJitter`` (used by every MoCo / BYOL /
SimCLR pipeline) crashes on the first negative hue draw. :func:`adjust_hue` computes exactly what
numpy 1 did; :func:`apply_patches` installs it where mmcv exposes the function.
"""
import cv2
import numpy as np


def _shift_hue(h, hue_factor):
    """``h`` uint8 hue channel shifted by ``trunc(hue_factor * 255)`` modulo 256 (numpy 1's
    uint8 wrap-around)."""
    shift = int(hue_factor * 255) % 256
    return ((h.astype(np.int16) + shift) % 256).astype(np.uint8)


def adjust_hue(img, hue_factor, backend=None):
    """Drop-in for ``mmcv.adjust_hue`` (same arguments, checks and results as on numpy 1)."""
    from mmcv.image import photometric
    from PIL import Image
    if backend is None:
        backend = photometric.imread_backend
    if backend not in ['cv2', 'pillow']:
        raise ValueError(f'backend: {backend} is not supported.'
                         f"Supported backends are 'cv2', 'pillow'")
    if not (-0.5 <= hue_factor <= 0.5):
        raise ValueError(f'hue_factor:{hue_factor} is not in [-0.5, 0.5].')
    if not (isinstance(img, np.ndarray) and (img.ndim in {2, 3})):
        raise TypeError('img should be ndarray with dim=[2 or 3].')
    if backend == 'pillow':
        assert img.dtype == np.uint8, 'Pillow backend only support uint8 type'
        pil_image = Image.fromarray(np.ascontiguousarray(img[..., ::-1]), mode='RGB')
        h, s, v = pil_image.convert('HSV').split()
        h = Image.fromarray(_shift_hue(np.array(h, dtype=np.uint8), hue_factor), 'L')
        pil_image = Image.merge('HSV', (h, s, v)).convert('RGB')
        return np.array(pil_image, dtype=img.dtype)[..., ::-1]
    dtype = img.dtype
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    h, s, v = cv2.split(hsv)
    hsv = cv2.merge([_shift_hue(h, hue_factor), s, v])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL).astype(dtype)


def apply_patches():
    """Install the fixes (idempotent). Only needed, and only applied, on numpy >= 2."""
    if int(np.__version__.split('.')[0]) < 2:
        return
    import mmcv
    import mmcv.image
    from mmcv.image import photometric
    for mod in (mmcv, mmcv.image, photometric):
        mod.adjust_hue = adjust_hue
