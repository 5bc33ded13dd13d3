"""Contours -> watershed hierarchy -> ultrametric contour map (UCM) region trees.

Hierarchical grouping (Zhang & Maire 2020, sec. 3-4.1) derives its pixel-pair targets from a
region tree ``T`` whose finest level has at most 40 regions; the distance between two regions
``d_T(R_a, R_b)`` is the height at which they merge. Here:

1. edges: a classical detector that needs no weights (:func:`color_gradient_edges`, multi-scale
   Lab colour gradients), or a user-provided edge / UCM map (BSDS-style PNG or ``.mat``);
2. hierarchy: ``higra``'s watershed hierarchy by dynamics on the 4-adjacency graph weighted by
   the edge strength: regions merge at the contrast of the boundary between them, in edge
   units, as in a UCM (the stand-in for OWT-UCM's oriented watershed + greedy merging);
3. the finest level: the largest horizontal cut with at most ``max_regions`` regions;
4. stored compactly: ``labels`` (H, W) uint8 region ids 0..M-1 and ``ultrametric`` (M, M)
   float32, the merge heights between those regions normalised to [0, 1] (the tree itself:
   a distance matrix that is an ultrametric is exactly a dendrogram).

``compute_ucm_cache`` runs this for a folder of images (resumable, parallel, progress bar,
atomic ``.npz`` writes); ``load_ucm`` validates what it reads.
"""
import io
import os
import os.path as osp

import cv2
import numpy as np

from mmdense.utils.checkpoint import atomic_write_bytes
from mmdense.utils.jobs import run_jobs
from .video_io import IMAGE_EXTS


class UCMError(ValueError):
    """An unreadable or invalid UCM file; the message names the file and the fix."""


def color_gradient_edges(img, sigmas=(1.0, 2.0, 4.0)):
    """Boundary strength (H, W) float32 in [0, 1]: the mean over scales of the Lab colour
    gradient magnitude of the Gaussian-smoothed image, each scale normalised by its 99th
    percentile. ``img``: BGR uint8 (H, W, 3)."""
    lab = cv2.cvtColor(img, cv2.COLOR_BGR2LAB).astype(np.float32)
    acc = np.zeros(img.shape[:2], np.float32)
    for s in sigmas:
        sm = cv2.GaussianBlur(lab, (0, 0), s)
        gx = cv2.Sobel(sm, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(sm, cv2.CV_32F, 0, 1, ksize=3)
        mag = np.sqrt((gx ** 2 + gy ** 2).sum(-1))
        acc += mag / max(float(np.percentile(mag, 99)), 1e-6)
    return np.clip(acc / len(sigmas), 0, 1)


def structured_forest_edges(img, model_path):
    """OpenCV contrib's structured-edge detector (Dollar & Zitnick, the paper's SE edges) with a
    user-supplied model file (``model.yml.gz``; it does not ship offline). (H, W) float32."""
    if not osp.isfile(model_path):
        raise UCMError(f'structured-forest model {model_path} does not exist: download '
                       "OpenCV's model.yml.gz or use the colour-gradient edges")
    sed = cv2.ximgproc.createStructuredEdgeDetection(model_path)
    rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    return sed.detectEdges(rgb)


def read_edge_map(path):
    """A user-provided edge or UCM map: 8/16-bit PNG (scaled to [0, 1]) or a BSDS ``.mat``
    (first 2-D array among ``ucm2`` / ``ucm`` / ``E`` / ``edges``). Returns (H, W) float32."""
    if path.endswith('.mat'):
        from scipy.io import loadmat
        mat = loadmat(path)
        for key in ('ucm2', 'ucm', 'E', 'edges'):
            if key in mat and np.asarray(mat[key]).ndim == 2:
                e = np.asarray(mat[key], np.float32)
                if key == 'ucm2':  # BSDS ucm2 is on the doubled (2H+1, 2W+1) grid
                    e = e[2::2, 2::2]
                return e / max(float(e.max()), 1e-6)
        raise UCMError(f'{path}: no 2-D ucm2 / ucm / E / edges array')
    e = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if e is None:
        raise UCMError(f'cannot read edge map {path}')
    if e.ndim == 3:
        e = e.max(-1)
    return e.astype(np.float32) / (65535.0 if e.dtype == np.uint16 else 255.0)


def ucm_from_edges(edges, max_regions=40):
    """Region tree of an edge map.

    Args:
        edges (ndarray): (H, W) boundary strength (higher = stronger boundary).
        max_regions (int): most regions at the finest level (40 in the paper).

    Returns:
        tuple: ``labels`` (H, W) uint8 in [0, M), ``ultrametric`` (M, M) float32 in [0, 1].
    """
    import higra as hg
    if max_regions < 1 or max_regions > 255:
        raise ValueError(f'max_regions must be in [1, 255], got {max_regions}')
    edges = np.ascontiguousarray(edges, dtype=np.float64)
    graph = hg.get_4_adjacency_graph(edges.shape)
    weights = hg.weight_graph(graph, edges, hg.WeightFunction.mean)
    tree, altitudes = hg.watershed_hierarchy_by_dynamics(graph, weights)
    cut = hg.HorizontalCutExplorer(tree, altitudes).horizontal_cut_from_num_regions(
        max_regions, at_least=False)
    nodes = np.asarray(cut.nodes())
    leaf_node = np.asarray(cut.labelisation_leaves(tree)).reshape(edges.shape)
    index = np.full(tree.num_vertices(), -1, np.int64)
    index[nodes] = np.arange(len(nodes))
    labels = index[leaf_node]
    m = len(nodes)
    a, b = np.meshgrid(nodes, nodes, indexing='ij')
    lca = tree.lowest_common_ancestor(a.ravel(), b.ravel())
    dist = np.asarray(altitudes)[lca].reshape(m, m).astype(np.float64)
    np.fill_diagonal(dist, 0.0)
    top = dist.max()
    dist = dist / top if top > 0 else dist
    return labels.astype(np.uint8), dist.astype(np.float32)


def is_ultrametric(dist, tol=1e-6):
    """Zero diagonal, symmetric, and ``d(a, c) <= max(d(a, b), d(b, c))`` for every triple."""
    d = np.asarray(dist, np.float64)
    if d.ndim != 2 or d.shape[0] != d.shape[1]:
        return False
    if np.abs(np.diag(d)).max(initial=0) > tol or np.abs(d - d.T).max(initial=0) > tol:
        return False
    bound = np.maximum(d[:, :, None], d[None, :, :])  # [a, b, c] = max(d(a,b), d(b,c))
    return bool((d[:, None, :] <= bound + tol).all())


def save_ucm(path, labels, ultrametric):
    buf = io.BytesIO()
    np.savez_compressed(buf, labels=labels.astype(np.uint8),
                        ultrametric=ultrametric.astype(np.float32))
    atomic_write_bytes(buf.getvalue(), path)


def load_ucm(path):
    """``(labels (H, W) int64, ultrametric (M, M) float32)`` from a ``.npz`` of
    :func:`save_ucm`, validated (names the file and the fix when it is not usable)."""
    fix = 'recompute it with tools/ucm/compute_ucm.py'
    try:
        with np.load(path) as z:
            labels, dist = z['labels'].astype(np.int64), z['ultrametric'].astype(np.float32)
    except FileNotFoundError:
        raise UCMError(f'UCM file {path} does not exist: {fix}') from None
    except (OSError, ValueError, KeyError) as e:
        raise UCMError(f'UCM file {path} is corrupt ({e}): {fix}') from e
    m = dist.shape[0] if dist.ndim == 2 else 0
    if labels.ndim != 2 or labels.size == 0 or m == 0:
        raise UCMError(f'UCM file {path} holds an empty region map: {fix}')
    if dist.shape != (m, m) or not np.isfinite(dist).all():
        raise UCMError(f'UCM file {path}: ultrametric must be a finite (M, M) matrix, got '
                       f'{dist.shape}: {fix}')
    if labels.min() < 0 or labels.max() >= m:
        raise UCMError(f'UCM file {path}: region ids {labels.min()}..{labels.max()} do not fit '
                       f'its {m} regions: {fix}')
    return labels, dist


def ucm_boundaries(labels, ultrametric):
    """Boundary-strength picture (H, W) float32: at each pixel whose right / lower neighbour is
    another region, the merge height of the two regions (the classic UCM rendering)."""
    out = np.zeros(labels.shape, np.float32)
    for dy, dx in ((0, 1), (1, 0)):
        a = labels[:labels.shape[0] - dy, :labels.shape[1] - dx]
        b = labels[dy:, dx:]
        strength = ultrametric[a, b]
        region = out[:labels.shape[0] - dy, :labels.shape[1] - dx]
        np.maximum(region, strength, out=region)
    return out


def _ucm_job(job):
    src, dst, edge_path, max_regions, sed_model = job
    if osp.exists(dst):
        return 0
    img = cv2.imread(src, cv2.IMREAD_COLOR)
    if img is None:
        raise UCMError(f'cannot read image {src}: the file is missing or corrupt')
    if edge_path is not None:
        edges = read_edge_map(edge_path)
        if edges.shape != img.shape[:2]:
            raise UCMError(f'edge map {edge_path} is {edges.shape}, image {src} is '
                           f'{img.shape[:2]}: provide edges at the image size')
    elif sed_model is not None:
        edges = structured_forest_edges(img, sed_model)
    else:
        edges = color_gradient_edges(img)
    save_ucm(dst, *ucm_from_edges(edges, max_regions))
    return 1


def list_images(root):
    """Image paths under ``root`` (recursive), relative, sorted."""
    out = []
    for d, _, files in os.walk(root):
        out += [osp.relpath(osp.join(d, f), root) for f in files
                if f.lower().endswith(IMAGE_EXTS)]
    return sorted(out)


def ucm_path(out_dir, rel_image):
    return osp.join(out_dir, osp.splitext(rel_image)[0] + '.npz')


def compute_ucm_cache(img_root, out_dir, edge_root=None, edge_suffix='.png', max_regions=40,
                      workers=0, images=None, sed_model=None):
    """UCM region trees for every image under ``img_root`` (or the relative paths ``images``)
    into ``out_dir/<relative path>.npz``; images whose file exists are skipped (resume).

    Args:
        edge_root (str, optional): folder of user edge / UCM maps mirroring ``img_root``
            (``<relative path without suffix><edge_suffix>``); None: structured-forest edges
            when ``sed_model`` (a model file) is given, else colour-gradient edges.

    Returns:
        dict: ``images``, ``computed``, ``skipped``.
    """
    if sed_model is not None and not osp.isfile(sed_model):
        raise UCMError(f'structured-forest model {sed_model} does not exist')
    images = list_images(img_root) if images is None else list(images)
    if not images:
        raise UCMError(f'no images under {img_root}')
    jobs = []
    for rel in images:
        edge = None
        if edge_root is not None:
            edge = osp.join(edge_root, osp.splitext(rel)[0] + edge_suffix)
            if not osp.exists(edge):
                raise UCMError(f'edge map {edge} for {rel} does not exist')
        jobs.append((osp.join(img_root, rel), ucm_path(out_dir, rel), edge, max_regions,
                     sed_model))
    computed = sum(run_jobs(_ucm_job, jobs, workers))
    return dict(images=len(jobs), computed=computed, skipped=len(jobs) - computed)
