"""UCM region trees in the data pipeline (hierarchical grouping)."""
import os.path as osp

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmdense.registry import TRANSFORMS
from ..ucm import UCMError, load_ucm, merge_heights, ucm_path
from .flow import PackFlowInputs


@TRANSFORMS.register_module()
class LoadUCM(BaseTransform):
    """Read the region tree of ``img_path`` written by ``tools/ucm/compute_ucm.py``:
    ``ucm_root/<img_path relative to img_root, suffix .npz>``.

    Added keys: ``ucm_labels`` (H, W) int64 region ids, ``ucm_dist`` (M, M) float32 tree
    distances. A missing, corrupt or empty file stops with its path and the fix, as does a region
    map of another size than the image (a stale cache of a replaced picture). The source image's
    ``source_sha1`` in the file is not checked here (a hash per sample); ``compute_ucm.py``
    checks it and recomputes the trees of changed images.

    Geometry: place this before :class:`CorrespondingViews` (whose geometric transforms record
    each view's affine); :class:`PackUCMInputs` warps the region map into every view with that
    affine, so it follows every crop, scale and flip exactly.
    """

    def __init__(self, ucm_root, img_root):
        self.ucm_root = ucm_root
        self.img_root = img_root

    def transform(self, results):
        rel = osp.relpath(results['img_path'], self.img_root)
        path = ucm_path(self.ucm_root, rel)
        labels, dist = load_ucm(path)
        if labels.shape != results['img'].shape[:2]:
            raise UCMError(f'UCM file {path} is {tuple(labels.shape)}, the image '
                           f'{results["img_path"]} is {tuple(results["img"].shape[:2])} (a stale '
                           'cache of another picture): recompute it with python '
                           f'tools/ucm/compute_ucm.py {self.img_root} {self.ucm_root}')
        results['ucm_labels'] = labels
        results['ucm_dist'] = dist
        return results


def random_region_tree(shape, num_regions=40, rng=np.random, heights=None):
    """A region tree that ignores the picture: ``num_regions`` Voronoi cells of seed pixels drawn
    uniformly without replacement, merged in a random order of adjacent pairs.

    The cells are the connected regions of the nearest-seed map (4-adjacency); their region
    adjacency graph gets i.i.d. uniform edge weights and higra's canonical binary partition tree
    (Kruskal order: the two regions across the lightest edge merge first) is the hierarchy. The
    k-th of the M - 1 merges gets height k / (M - 1), so heights rise up the tree, the top merge
    is at 1 (as :func:`mmdense.datasets.ucm.ucm_from_edges` normalises each image's tree) and the
    leaf distances form an ultrametric. With ``heights`` (another tree's merge heights, e.g. the
    image's UCM's, :func:`mmdense.datasets.ucm.merge_heights`), the k-th merge gets their k-th
    value instead (their quantiles when the cells give another M), so the random tree has the
    same distribution of region distances as that tree.

    Args:
        shape (tuple): (H, W) of the region map.
        num_regions (int): seed points, in [1, 255] (255 is the out-of-frame label of
            :func:`warp_labels`); at most H * W are used.
        rng: ``numpy.random`` (the global state, default) or a ``numpy.random.RandomState``.

    Returns:
        tuple: ``labels`` (H, W) int64 in [0, M), ``ultrametric`` (M, M) float32 in [0, 1],
        M = ``num_regions`` unless a cell falls apart into several 4-connected pieces.
    """
    import higra as hg
    h, w = int(shape[0]), int(shape[1])
    n = min(int(num_regions), h * w)
    seeds = rng.choice(h * w, n, replace=False)
    sy, sx = (seeds // w).astype(np.float32), (seeds % w).astype(np.float32)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    best = np.full((h, w), np.inf, np.float32)
    cell = np.zeros((h, w), np.int64)
    for i in range(n):  # nearest seed, one seed at a time (memory of one map)
        d = (ys - sy[i]) ** 2 + (xs - sx[i]) ** 2
        closer = d < best
        best[closer], cell[closer] = d[closer], i
    graph = hg.get_4_adjacency_graph((h, w))
    rag = hg.make_region_adjacency_graph_from_labelisation(graph, cell)
    labels = np.asarray(rag.vertex_map).reshape(h, w).astype(np.int64)
    m = rag.num_vertices()
    if m > 255:
        raise ValueError(f'RandomUCM: {m} regions do not fit the uint8 region maps (at most '
                         '255): lower num_regions')
    if m == 1:
        return labels, np.zeros((1, 1), np.float32)
    tree, altitudes = hg.bpt_canonical(rag, rng.random_sample(rag.num_edges()))
    if heights is None:
        merge = np.arange(1, m) / (m - 1)
    else:
        given = np.sort(np.asarray(heights, np.float64))
        if given.size == 0:
            raise ValueError('random_region_tree: heights is empty (a one-region tree has no '
                             'merges to copy)')
        merge = np.interp(np.linspace(0, 1, m - 1), np.linspace(0, 1, given.size), given)
    node_height = np.zeros(tree.num_vertices())
    internal = np.arange(m, tree.num_vertices())
    order = np.argsort(np.asarray(altitudes)[internal], kind='stable')
    node_height[internal[order]] = merge
    leaves = np.arange(m)
    a, b = np.meshgrid(leaves, leaves, indexing='ij')
    dist = node_height[tree.lowest_common_ancestor(a.ravel(), b.ravel())].reshape(m, m)
    np.fill_diagonal(dist, 0.0)
    return labels, dist.astype(np.float32)


@TRANSFORMS.register_module()
class RandomUCM(BaseTransform):
    """Drop-in for :class:`LoadUCM` that ignores the image: a random region tree of the image's
    size (:func:`random_region_tree`: Voronoi cells of random seed pixels, merged in a random
    order of adjacent pairs). HierGroup's "random-regions" ablation (ours; the paper has none):
    region pairs then carry no grouping evidence from the picture, everything else unchanged.

    Adds the keys and formats :class:`LoadUCM` adds: ``ucm_labels`` (H, W) int64 region ids,
    ``ucm_dist`` (M, M) float32 tree distances in [0, 1] (top merge at 1, an ultrametric). A new
    tree is drawn at every call from numpy's global random state (as mmcv's random transforms;
    mmengine seeds it per run and per dataloader worker), so a seeded run is reproducible.

    With ``match_ucm=True`` it goes after :class:`LoadUCM` and replaces the image's UCM tree by
    a random one with as many regions (``num_regions`` is then the UCM's M) and the UCM's own
    merge heights (:func:`mmdense.datasets.ucm.merge_heights`), so the ablation changes only
    which pixels are grouped, not how many regions there are nor how far apart the tree puts
    them (which sets how sharply eqs. 2-3 sample).

    Args:
        num_regions (int): regions of the finest level, 40 as the UCM caches
            (``ucm_from_edges(max_regions=40)``); in [1, 255]. Unused with ``match_ucm``.
        match_ucm (bool): copy the region count and merge heights of the loaded UCM.
    """

    def __init__(self, num_regions=40, match_ucm=False):
        if not 1 <= int(num_regions) <= 255:
            raise ValueError(f'RandomUCM: num_regions must be in [1, 255], got {num_regions}')
        self.num_regions = int(num_regions)
        self.match_ucm = bool(match_ucm)

    def transform(self, results):
        num, heights = self.num_regions, None
        if self.match_ucm:
            if 'ucm_dist' not in results:
                raise KeyError(f'RandomUCM(match_ucm=True) on {results.get("img_path")}: no '
                               'ucm_dist in the results; put LoadUCM before it in the pipeline')
            num = results['ucm_dist'].shape[0]
            heights = merge_heights(results['ucm_dist'])
        labels, dist = random_region_tree(results['img'].shape[:2], num, heights=heights)
        results['ucm_labels'] = labels
        results['ucm_dist'] = dist
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(num_regions={self.num_regions}, '
                f'match_ucm={self.match_ucm})')


def warp_labels(labels, affine, size, ignore_index=255):
    """Region map (H, W) warped by the frame -> view ``affine`` (3, 3) into a view of
    ``size`` (h, w), nearest neighbour; pixels outside the frame get ``ignore_index``."""
    out = cv2.warpAffine(labels.astype(np.uint8), np.asarray(affine, np.float64)[:2],
                         (size[1], size[0]), flags=cv2.INTER_NEAREST,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=ignore_index)
    return out


@TRANSFORMS.register_module()
class PackUCMInputs(PackFlowInputs):
    """:class:`PackFlowInputs` plus each view's region map (``ucm_labels_v1``, ``ucm_labels_v2``
    (h, w) int64, 255 outside the frame) and ``ucm_dist`` (M, M), in the data samples."""

    def transform(self, results):
        packed = super().transform(results)
        sample = packed['data_samples']
        views = results['img'] if isinstance(results['img'], list) else [results['img']]
        for i, view in enumerate(views):
            affine = results.get(f'affine_v{i + 1}', np.eye(3))
            lab = warp_labels(results['ucm_labels'], affine, view.shape[:2])
            sample.set_field(torch.from_numpy(lab.astype(np.int64)), f'ucm_labels_v{i + 1}',
                             field_type='metainfo')
        sample.set_field(torch.from_numpy(results['ucm_dist']), 'ucm_dist',
                         field_type='metainfo')
        return packed
