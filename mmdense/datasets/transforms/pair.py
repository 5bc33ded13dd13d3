"""Transforms for frame pairs."""
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform, Compose
from mmpretrain.datasets.transforms import RandomResizedCrop

from mmdense.registry import TRANSFORMS


def run_view_pipeline(pipeline, results, img):
    """Run a per-view ``pipeline`` on ``img`` with the other keys of ``results`` (and no earlier
    ``affine``). Returns ``(view image, frame -> view affine (3, 3))`` (identity when no
    transform recorded one), or None when the pipeline dropped the sample."""
    view = dict(results, img=img, img_shape=img.shape[:2])
    view.pop('affine', None)
    view = pipeline(view)
    if view is None:
        return None
    return view['img'], np.asarray(view.get('affine', np.eye(3)), dtype=np.float64)


@TRANSFORMS.register_module()
class FramePairToViews(BaseTransform):
    """Turn a frame pair into two views: apply ``transforms`` to ``img`` (frame t) and to
    ``img2`` (frame t + d) with independent randomness, and store ``img = [view1, view2]``, the
    multi-view layout MMPretrain's ``PackInputs`` and self-supervised models expect.

    Geometry: a per-view transform that moves pixels must record the frame -> view map in
    ``affine`` (as :class:`RandomAffineView` does); it is returned as ``affine_v1`` /
    ``affine_v2`` (3, 3), identity when no transform recorded one. Keys the per-view pipeline
    adds are otherwise dropped, so the frames' flows stay untouched. A per-view transform that
    moves pixels without recording an ``affine`` (MMPretrain's ``RandomFlip``,
    ``RandomResizedCrop``) makes the two views disagree about where a scene point is: use it only
    for image-level positives (MoCo), and put shared geometry before this transform
    (:class:`PairRandomResizedBoxCrop`, :class:`PairRandomFlip`) for same-position targets.

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
            view = run_view_pipeline(self.pipeline, results, frame)
            if view is None:
                return None
            views.append(view[0])
            results[f'affine_v{i + 1}'] = view[1]
        results['img'] = views
        results['img_shape'] = views[0].shape[:2]
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(transforms={self.pipeline})'


@TRANSFORMS.register_module()
class PairRandomResizedBoxCrop(RandomResizedCrop):
    """MMPretrain's ``RandomResizedCrop`` (area / aspect-ratio box, resized to ``scale``) with
    one box for both frames: "two crops at the same position of two different frames" (CACL,
    implementation details). Same arguments as ``RandomResizedCrop``.

    Required keys: ``img``, ``img2`` (same size). Modified: ``img``, ``img2``, ``img_shape``.
    Added: ``crop_bbox`` (x1, y1, x2, y2) in frame pixels.
    """

    def transform(self, results):
        img = results['img']
        if results['img2'].shape[:2] != img.shape[:2]:
            raise ValueError(f'the two frames of {results.get("img_path")} differ in size: '
                             f'{img.shape[:2]} vs {results["img2"].shape[:2]}')
        y, x, h, w = self.rand_crop_params(img)
        box = np.array([x, y, x + w - 1, y + h - 1])
        for key in ('img', 'img2'):
            crop = mmcv.imcrop(results[key], bboxes=box)
            results[key] = mmcv.imresize(crop, tuple(self.scale[::-1]),
                                         interpolation=self.interpolation, backend=self.backend)
        results['img_shape'] = results['img'].shape[:2]
        results['crop_bbox'] = box
        return results


@TRANSFORMS.register_module()
class PairRandomFlip(BaseTransform):
    """Horizontal flip of both frames of a pair together, with probability ``prob``: CACL's
    "two crops at the same position" stays true after MoCo-v2's flip, which a per-view
    ``RandomFlip`` inside :class:`FramePairToViews` would break for half of the pairs (the
    model's same-position and soft-cycle targets would then pair mirrored pixels).

    Required keys: ``img``, ``img2`` (same size). Modified: ``img``, ``img2``. Added: ``flip``
    (bool), ``flip_direction`` ('horizontal' or None).

    Pairs that carry optical flow (FlowE) record their flips per view as affines instead
    (``RandomAffineView(flip_prob=...)``); this transform refuses them rather than leave the
    flows unflipped.

    Args:
        prob (float): flip probability.
    """

    def __init__(self, prob=0.5):
        if not 0. <= prob <= 1.:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob

    def transform(self, results):
        if any(k.startswith('flow') for k in results):
            raise ValueError(f'{results.get("img_path")}: PairRandomFlip does not flip optical '
                             'flows; record flips per view with RandomAffineView(flip_prob=...)')
        if results['img2'].shape[:2] != results['img'].shape[:2]:
            raise ValueError(f'the two frames of {results.get("img_path")} differ in size: '
                             f'{results["img"].shape[:2]} vs {results["img2"].shape[:2]}')
        flip = bool(np.random.rand() < self.prob)
        if flip:
            for key in ('img', 'img2'):
                results[key] = mmcv.imflip(results[key], direction='horizontal')
        results['flip'] = flip
        results['flip_direction'] = 'horizontal' if flip else None
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class DuplicateAsPair(BaseTransform):
    """Use one image as both frames of a pair (``img2 = img``): image datasets (ImageNet) in the
    frame-pair pipelines, i.e. CACL's "only augmentation" positives (stride 0). Follow it with
    the pair's shared geometry (:class:`PairRandomResizedBoxCrop`, :class:`PairRandomFlip`) and
    photometric-only per-view transforms, so both views show the same scene point at every
    position.

    Required keys: ``img``. Added: ``img2``.
    """

    def transform(self, results):
        results['img2'] = results['img'].copy()
        return results
