"""Dense features as pictures: PCA to RGB (VADeR Fig. 5, hierarchical grouping Fig. 2), the
similarity map of a query pixel (VADeR Fig. 2), and a training hook that sends the PCA picture
to the mmengine visualizer (TensorBoard with ``TensorboardVisBackend``)."""
import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.hooks import Hook

from mmdense.registry import HOOKS


def pca_rgb(feat, basis=None):
    """(C, h, w) features -> (h, w, 3) uint8: the 3 leading principal components, each scaled to
    [0, 255] by its 1st-99th percentile. Pass ``basis`` (from a previous call's return) to
    colour several maps consistently.

    Returns:
        tuple: (image, basis) with basis = (mean (C,), components (C, 3), lo (3,), hi (3,)).
    """
    c, h, w = feat.shape
    x = feat.flatten(1).t().double()
    if basis is None:
        mean = x.mean(0)
        _, _, v = torch.linalg.svd(x - mean, full_matrices=False)
        comp = v[:3].t()
        if comp.shape[1] < 3:
            comp = F.pad(comp, (0, 3 - comp.shape[1]))
        proj = (x - mean) @ comp
        lo, hi = torch.quantile(proj, 0.01, dim=0), torch.quantile(proj, 0.99, dim=0)
        basis = (mean, comp, lo, hi)
    mean, comp, lo, hi = basis
    proj = ((x - mean) @ comp - lo) / (hi - lo).clamp_min(1e-12)
    img = (proj.clamp(0, 1) * 255).round().byte().reshape(h, w, 3).numpy()
    return img, basis


def similarity_map(feat, query):
    """Cosine similarity (h, w) of every pixel of ``feat`` (C, h, w) to the pixel ``query``
    = (y, x) of ``feat`` or a (C,) vector."""
    f = F.normalize(feat.flatten(1), dim=0)
    q = feat[:, query[0], query[1]] if isinstance(query, tuple) else query
    return (F.normalize(q, dim=0) @ f).reshape(feat.shape[1:])


def colorize(values, lo=-1.0, hi=1.0):
    """(h, w) values -> (h, w, 3) uint8 BGR with OpenCV's JET colour map."""
    v = ((values.numpy() - lo) / (hi - lo)).clip(0, 1)
    return cv2.applyColorMap((v * 255).astype(np.uint8), cv2.COLORMAP_JET)


def overlay(img, picture, alpha=0.5):
    """Blend ``picture`` (resized to ``img``) over ``img`` (both uint8 (H, W, 3))."""
    pic = cv2.resize(picture, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_NEAREST)
    return cv2.addWeighted(img, 1 - alpha, pic, alpha, 0)


def correspondence_overlay(view1, view2, affine_v1, affine_v2, frame_shape, num=24, seed=0):
    """Two views side by side with lines joining ``num`` random corresponding pixels (the map
    ``A2 . A1^-1`` of :class:`~mmdense.datasets.transforms.CorrespondingViews`).

    Args:
        view1, view2 (ndarray): (H, W, 3) uint8 views. affine_v1, affine_v2: (3, 3) frame ->
        view. frame_shape (tuple): (H, W) of the source image.

    Returns:
        ndarray: (H, 2W, 3) uint8.
    """
    from mmdense.structures.geometry import coords_grid, view_correspondence
    h, w = view1.shape[:2]
    query = coords_grid(1, h, w, dtype=torch.float64)
    tgt, valid = view_correspondence(query, torch.as_tensor(affine_v1)[None].double(),
                                     torch.as_tensor(affine_v2)[None].double(),
                                     tgt_size=view2.shape[:2], frame_size=frame_shape)
    idx = valid.flatten().nonzero()[:, 0]
    rng = np.random.default_rng(seed)
    pick = idx[rng.permutation(idx.numel())[:num]] if idx.numel() else idx
    out = np.concatenate([view1, view2], axis=1).copy()
    for k, i in enumerate(pick.tolist()):
        y1, x1 = divmod(i, w)
        x2, y2 = tgt.flatten(2)[0, :, i].tolist()
        colour = tuple(int(c) for c in cv2.applyColorMap(
            np.uint8([[k * 255 // max(num - 1, 1)]]), cv2.COLORMAP_HSV)[0, 0])
        cv2.line(out, (x1, y1), (int(round(x2)) + w, int(round(y2))), colour, 1, cv2.LINE_AA)
        cv2.circle(out, (x1, y1), 2, colour, -1)
    return out


@HOOKS.register_module()
class DenseFeatureVisHook(Hook):
    """Every ``interval`` training iterations, the first image of the batch's first view next to
    the PCA picture of the model's dense features (``backbone`` output, or the neck's when it is
    a dense decoder such as VADeR's ``FPNDecoder``), sent to ``runner.visualizer.add_image``
    under ``name`` (a PNG in ``vis_data/vis_image`` with ``LocalVisBackend``; TensorBoard with
    ``TensorboardVisBackend``).
    """

    priority = 'LOW'

    def __init__(self, interval=500, name='dense_features_pca'):
        self.interval = interval
        self.name = name

    @torch.no_grad()
    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if not self.every_n_train_iters(runner, self.interval) or data_batch is None:
            return
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        data = model.data_preprocessor(data_batch, False)
        inputs = data['inputs']
        img = inputs[0][:1] if isinstance(inputs, (list, tuple)) else inputs[:1]
        was_training = model.training
        model.eval()
        try:
            out = model.backbone(img)
            neck = getattr(model, 'neck', None)
            if neck is not None and type(neck).__name__ == 'FPNDecoder':
                out = neck(out)
            feat = out[-1] if isinstance(out, (tuple, list)) else out
        finally:
            model.train(was_training)
        pca, _ = pca_rgb(feat[0].float().cpu())
        raw = inputs[0][0] if isinstance(inputs, (list, tuple)) else inputs[0]
        std = model.data_preprocessor.std.view(3, 1, 1).cpu()
        mean = model.data_preprocessor.mean.view(3, 1, 1).cpu()
        rgb = (raw.float().cpu() * std + mean).clamp(0, 255).byte().permute(1, 2, 0).numpy()
        pic = cv2.resize(pca, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_NEAREST)
        runner.visualizer.add_image(self.name, np.concatenate([rgb, pic], axis=1),
                                    step=runner.iter + 1)
