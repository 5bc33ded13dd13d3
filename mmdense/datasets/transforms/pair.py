"""Transforms for frame pairs."""
import numpy as np
from mmcv.transforms import BaseTransform, Compose

from mmdense.registry import TRANSFORMS


@TRANSFORMS.register_module()
class FramePairToViews(BaseTransform):
    """Turn a frame pair into two views: apply ``transforms`` to ``img`` (frame t) and to
    ``img2`` (frame t + d) with independent randomness, and store ``img = [view1, view2]``, the
    multi-view layout MMPretrain's ``PackInputs`` and self-supervised models expect.

    Geometry: a per-view transform that moves pixels must record the frame -> view map in
    ``affine`` (as :class:`RandomAffineView` does); it is returned as ``affine_v1`` /
    ``affine_v2`` (3, 3), identity when no transform recorded one. Keys the per-view pipeline
    adds are otherwise dropped, so the frames' flows stay untouched.

    Required keys: ``img``, ``img2`` (H, W, 3). Modified keys: ``img`` (list of 2 arrays);
    ``img2`` is removed; ``affine_v1``, ``affine_v2`` are added.

    Args:
        transforms (list[dict]): the per-view pipeline.
    """

    def __init__(self, transforms):
        self.pipeline = Compose(transforms)

    def transform(self, results):
        frames = [results['img'], results.pop('img2')]
        views = []
        for i, frame in enumerate(frames):
            view = dict(results, img=frame, img_shape=frame.shape[:2])
            view.pop('affine', None)
            view = self.pipeline(view)
            if view is None:
                return None
            views.append(view['img'])
            results[f'affine_v{i + 1}'] = view.get('affine', np.eye(3))
        results['img'] = views
        results['img_shape'] = views[0].shape[:2]
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(transforms={self.pipeline})'
