"""Two views of one image that keep their geometry, and so their dense correspondence.

MMPretrain's ``MultiView`` throws each view's geometry away; dense methods need it. Every
geometric transform here records its frame -> view map as a 3x3 ``affine`` (composed with the
earlier ones, pixel-centre convention of :mod:`mmdense.structures.geometry`), so the model can
map any view-1 pixel to view 2 with ``A2 . A1^-1`` (``view_correspondence``, the same utility
FlowE composes with optical flow).
"""
import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform, Compose
from mmpretrain.datasets.transforms import RandomResizedCrop

from mmdense.structures.geometry import feature_grid_coords, view_correspondence
from mmdense.registry import TRANSFORMS
from .pair import run_view_pipeline


@TRANSFORMS.register_module()
class RandomResizedCropAffine(RandomResizedCrop):
    """MMPretrain's ``RandomResizedCrop`` (same arguments) that records its map in ``affine``:
    the box ``(x0, y0, w, h)`` resized to ``(W, H)`` maps frame pixel ``x`` to
    ``(x - x0 + 0.5) * W / w - 0.5`` (cv2's half-pixel resize convention), same for y.

    Modified: ``img``, ``img_shape``. Added / updated: ``affine`` (3, 3) float64.
    """

    def transform(self, results):
        img = results['img']
        y0, x0, h, w = self.rand_crop_params(img)
        crop = mmcv.imcrop(img, bboxes=np.array([x0, y0, x0 + w - 1, y0 + h - 1]))
        out_h, out_w = self.scale  # MMPretrain keeps (h, w)
        results['img'] = mmcv.imresize(crop, (out_w, out_h), interpolation=self.interpolation,
                                       backend=self.backend)
        results['img_shape'] = results['img'].shape[:2]
        sx, sy = out_w / w, out_h / h
        m = np.array([[sx, 0., (0.5 - x0) * sx - 0.5], [0., sy, (0.5 - y0) * sy - 0.5],
                      [0., 0., 1.]])
        results['affine'] = m @ results.get('affine', np.eye(3))
        return results


def shared_pixels(affine_v1, affine_v2, view_shape, frame_shape, stride):
    """Number of view-1 feature-grid cells (centres at ``stride``) whose point of the frame is
    visible in view 2. ``affine_*``: (3, 3) frame -> view; shapes ``(H, W)``."""
    h, w = view_shape[0] // stride, view_shape[1] // stride
    query = feature_grid_coords(1, h, w, stride, dtype=torch.float64)
    _, valid = view_correspondence(query, torch.as_tensor(affine_v1)[None],
                                   torch.as_tensor(affine_v2)[None], tgt_size=view_shape,
                                   frame_size=frame_shape)
    return int(valid.sum())


@TRANSFORMS.register_module()
class CorrespondingViews(BaseTransform):
    """Two views of ``img`` (VADeR sec. 3.2), each ``geometric`` then ``appearance`` transforms,
    redrawn until at least ``min_shared`` pixels of view 1's ``stride`` grid are visible in view
    2 (32 in the paper).

    Table 3's view sampling: ``'different'`` (default: independent geometry and appearance),
    ``'same'`` (one geometry, shared by both views; independent appearance). The "unmatched"
    row is a model option (random positives), not a view option.

    Required keys: ``img`` (H, W, 3). Modified: ``img`` = [view1, view2], ``img_shape``.
    Added: ``affine_v1``, ``affine_v2`` (3, 3) frame -> view, ``frame_shape`` (H, W).

    Args:
        geometric (list[dict]): transforms that move pixels and record ``affine``
            (e.g. :class:`RandomResizedCropAffine`, ``RandomAffineView`` with ``flip_prob``).
        appearance (list[dict]): colour / blur transforms (pixel positions unchanged).
        min_shared (int): least number of shared grid pixels.
        stride (int): grid step in view pixels (the model's output stride, 4 for VADeR).
        view_sampling (str): ``'different'`` or ``'same'``.
        max_tries (int): draws before giving up with an error naming the image.
    """

    def __init__(self, geometric, appearance=(), min_shared=32, stride=4,
                 view_sampling='different', max_tries=100):
        if view_sampling not in ('different', 'same'):
            raise ValueError(f"view_sampling must be 'different' or 'same', got {view_sampling!r}")
        self.geometric = Compose(list(geometric))
        self.appearance = Compose(list(appearance))
        self.min_shared = min_shared
        self.stride = stride
        self.view_sampling = view_sampling
        self.max_tries = max_tries

    def _geometry(self, results, img):
        view = run_view_pipeline(self.geometric, results, img)
        if view is None:
            raise ValueError(f'{results.get("img_path", "image")}: a geometric transform of '
                             'CorrespondingViews dropped the sample')
        return view

    def transform(self, results):
        img = results['img']
        frame_shape = img.shape[:2]
        for _ in range(self.max_tries):
            g1 = self._geometry(results, img)
            g2 = g1 if self.view_sampling == 'same' else self._geometry(results, img)
            if g1[0].shape[:2] != g2[0].shape[:2]:
                raise ValueError('the geometric transforms must give both views one size, got '
                                 f'{g1[0].shape[:2]} and {g2[0].shape[:2]}')
            n = shared_pixels(g1[1], g2[1], g1[0].shape[:2], frame_shape, self.stride)
            if n >= self.min_shared:
                break
        else:
            raise ValueError(f'{results.get("img_path", "image")}: no two views sharing '
                             f'{self.min_shared} pixels (stride {self.stride}) in '
                             f'{self.max_tries} draws; use larger crops or a lower min_shared')
        views = []
        for i, (view_img, affine) in enumerate((g1, g2)):
            view = self.appearance(dict(results, img=view_img.copy(),
                                        img_shape=view_img.shape[:2]))
            views.append(view['img'])
            results[f'affine_v{i + 1}'] = affine
        results['img'] = views
        results['img_shape'] = views[0].shape[:2]
        results['frame_shape'] = frame_shape
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(geometric={self.geometric}, appearance='
                f'{self.appearance}, min_shared={self.min_shared}, stride={self.stride}, '
                f'view_sampling={self.view_sampling!r})')
