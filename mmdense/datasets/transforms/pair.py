"""Transforms for frame pairs."""
from mmcv.transforms import BaseTransform, Compose

from mmdense.registry import TRANSFORMS


@TRANSFORMS.register_module()
class FramePairToViews(BaseTransform):
    """Turn a frame pair into two views: apply ``transforms`` to ``img`` (frame t) and to
    ``img2`` (frame t + d) with independent randomness, and store ``img = [view1, view2]``, the
    multi-view layout MMPretrain's ``PackInputs`` and self-supervised models expect.

    Required keys: ``img``, ``img2`` (H, W, 3). Modified keys: ``img`` (list of 2 arrays);
    ``img2`` is removed.

    Args:
        transforms (list[dict]): the per-view pipeline.
    """

    def __init__(self, transforms):
        self.pipeline = Compose(transforms)

    def transform(self, results):
        frames = [results['img'], results.pop('img2')]
        views = []
        for frame in frames:
            view = dict(results, img=frame, img_shape=frame.shape[:2])
            view = self.pipeline(view)
            if view is None:
                return None
            views.append(view['img'])
        results['img'] = views
        results['img_shape'] = views[0].shape[:2]
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(transforms={self.pipeline})'
