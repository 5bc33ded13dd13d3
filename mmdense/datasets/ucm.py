"""Contours -> watershed hierarchy -> ultrametric contour map (UCM) region trees.

Hierarchical grouping (Zhang & Maire 2020, sec. 3-4.1) derives its pixel-pair targets from a
region tree ``T`` whose finest level has at most 40 regions; the distance between two regions
``d_T(R_a, R_b)`` is the height at which they merge. Here:

1. edges: a classical detector that needs no weights (:func:`color_gradient_edges`, multi-scale
   Lab colour gradients), or a user-provided edge / UCM map (BSDS-style PNG or ``.mat``);
2. hierarchy: OWT-UCM's greedy merging (:func:`ucm_from_edges`, on ``higra``): watershed
   superpixels of the edge map (basins under 0.25% of the image joined to a neighbour), then
   the regions with the weakest boundary merge first, a boundary's strength being the *mean*
   edge strength along it (not its weakest point: one weak gap does not merge an object into
   its surroundings); merge heights are in edge units, as in a UCM;
3. the finest level: the largest horizontal cut with at most ``max_regions`` regions;
4. stored compactly: ``labels`` (H, W) uint8 region ids 0..M-1 and ``ultrametric`` (M, M)
   float32, the merge heights between those regions normalised to [0, 1] (the tree itself:
   a distance matrix that is an ultrametric is exactly a dendrogram).

``compute_ucm_cache`` runs this for a folder of images (resumable, parallel, progress bar,
atomic ``.npz`` writes); ``load_ucm`` validates what it reads. Each file also stores
``source_sha1``, the sha1 of the source image file's bytes: a rerun reuses a file only when its
tree tag and that digest are current, so a picture replaced under the same path (e.g. a
regenerated demo world) gets its tree recomputed instead of silently keeping the old one.
"""
import hashlib
import io
import os
import os.path as osp

import cv2
import numpy as np

from mmdense.utils.checkpoint import atomic_write_bytes
from mmdense.utils.jobs import run_jobs
from .video_io import IMAGE_EXTS, FrameReadError, read_image


class UCMError(ValueError):
    """An unreadable or invalid UCM file; the message names the file and the fix."""


#: How the trees of :func:`compute_ucm_cache` are built, stored in every ``.npz`` it writes, so
#: a cache written by an earlier hierarchy (weakest-point merge heights, before the mean
#: boundary strength) is recomputed on the next run instead of being reused as done.
UCM_TREE = 'owt-mean-boundary/min-area-0.0025'


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
    try:
        e = read_image(path, cv2.IMREAD_UNCHANGED)
    except FrameReadError as err:
        raise UCMError(f'edge map: {err}') from None
    if e.ndim == 3:
        e = e.max(-1)
    return e.astype(np.float32) / (65535.0 if e.dtype == np.uint16 else 255.0)


#: how :func:`ucm_from_edges` sets merge heights: ``'mean'`` (OWT-UCM's mean boundary strength,
#: the default), ``'dynamics'`` (the weakest point of the boundary; comparison only)
UCM_MERGES = ('mean', 'dynamics')


def _mean_boundary_tree(graph, weights, min_area):
    """OWT-UCM's greedy merging on higra. Superpixels: the watershed regions of the edge map,
    where basins under ``min_area`` pixels join a neighbour (a cut of the watershed hierarchy
    by area: it looks at basin size only, so a gap in a boundary does not merge a large
    region). Then the two regions with the weakest boundary merge first, a boundary's strength
    being the *mean* edge strength along it, updated as regions merge (average linkage weighted
    by boundary length). Returns the tree (leaves = superpixels, linked to the pixel graph
    through their region adjacency graph) and its altitudes."""
    import higra as hg
    if min_area > 1:
        tree, altitudes = hg.watershed_hierarchy_by_area(graph, weights)
        superpixels = hg.labelisation_horizontal_cut_from_threshold(tree, altitudes, min_area)
    else:
        superpixels = hg.labelisation_watershed(graph, weights)
    rag = hg.make_region_adjacency_graph_from_labelisation(graph, superpixels)
    strength = hg.rag_accumulate_on_edges(rag, hg.Accumulators.mean, weights)
    length = hg.rag_accumulate_on_edges(rag, hg.Accumulators.sum, np.ones_like(weights))
    return hg.binary_partition_tree_average_linkage(rag, strength, length)


def ucm_from_edges(edges, max_regions=40, merge='mean', min_area=0.0025):
    """Region tree of an edge map: OWT-UCM's greedy merging by mean boundary strength
    (Arbelaez et al. 2011, the paper's sec. 4.1).

    Args:
        edges (ndarray): (H, W) boundary strength (higher = stronger boundary).
        max_regions (int): most regions at the finest level (40 in the paper).
        merge (str): ``'mean'``: watershed superpixels merged greedily, weakest boundary
            first, a boundary's strength being the *mean* edge strength along it (OWT-UCM);
            ``'dynamics'``: higra's watershed hierarchy by dynamics, where two regions merge at
            the weakest point (pass value) of their boundary, so one weak gap merges an object
            into its surroundings (the former default; for comparison only).
        min_area (float): ``'mean'`` only: watershed basins under this fraction of the image
            are no superpixels of their own (texture / noise minima on the flanks of strong
            edges would otherwise stay as slivers with a strong mean boundary); 0: every
            basin is one (plain OWT-UCM superpixels).

    Returns:
        tuple: ``labels`` (H, W) uint8 in [0, M), ``ultrametric`` (M, M) float32 in [0, 1].
    """
    import higra as hg
    if max_regions < 1 or max_regions > 255:
        raise ValueError(f'max_regions must be in [1, 255], got {max_regions}')
    if merge not in UCM_MERGES:
        raise ValueError(f'merge must be one of {UCM_MERGES}, got {merge!r}')
    edges = np.ascontiguousarray(edges, dtype=np.float64)
    graph = hg.get_4_adjacency_graph(edges.shape)
    weights = hg.weight_graph(graph, edges, hg.WeightFunction.mean)
    if merge == 'mean':
        tree, altitudes = _mean_boundary_tree(graph, weights, min_area * edges.size)
    else:
        tree, altitudes = hg.watershed_hierarchy_by_dynamics(graph, weights)
    cut = hg.HorizontalCutExplorer(tree, altitudes).horizontal_cut_from_num_regions(
        max_regions, at_least=False)
    nodes = np.asarray(cut.nodes())
    # per pixel (higra back-projects superpixel leaves through their region adjacency graph)
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


def merge_heights(dist):
    """The M - 1 merge heights of the region tree behind an ultrametric ``dist`` (M, M), sorted
    ascending: the edge weights of its single-linkage dendrogram, which for an ultrametric are
    exactly the heights of the tree's internal nodes (a node merging k children counts k - 1
    times). Shape (M - 1,) float64; empty for a single region."""
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform
    d = np.asarray(dist, np.float64)
    if d.shape[0] < 2:
        return np.zeros(0)
    return np.sort(linkage(squareform(d, checks=False), method='single')[:, 2])


def file_sha1(path):
    """sha1 hex digest of a file's bytes (the source image's identity in a UCM file)."""
    h = hashlib.sha1()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def save_ucm(path, labels, ultrametric, tree=UCM_TREE, source_sha1=None):
    """Atomic ``.npz`` of ``labels`` (H, W) uint8, ``ultrametric`` (M, M) float32, the
    ``tree`` tag saying how the hierarchy was built (:data:`UCM_TREE`) and, when given,
    ``source_sha1``: the :func:`file_sha1` of the image it was computed from."""
    extra = {} if source_sha1 is None else dict(source_sha1=np.array(str(source_sha1)))
    buf = io.BytesIO()
    np.savez_compressed(buf, labels=labels.astype(np.uint8),
                        ultrametric=ultrametric.astype(np.float32), tree=np.array(tree), **extra)
    atomic_write_bytes(buf.getvalue(), path)


def ucm_tree_tag(path):
    """The ``tree`` tag of a UCM ``.npz`` ('' when it has none: written before the tag)."""
    return _ucm_tags(path)[0]


def ucm_source_sha1(path):
    """The ``source_sha1`` of a UCM ``.npz`` ('' when it has none: written before the digest)."""
    return _ucm_tags(path)[1]


def _ucm_tags(path):
    with np.load(path, allow_pickle=False) as z:
        return tuple(str(z[k]) if k in z.files else '' for k in ('tree', 'source_sha1'))


def load_ucm(path):
    """``(labels (H, W) int64, ultrametric (M, M) float32)`` from a ``.npz`` of
    :func:`save_ucm`, validated.

    Raises:
        UCMError: naming the file and the fix when it is missing, empty (0 bytes, or no pixels /
            regions), cut short or corrupt (zip / zlib / checksum errors), has the wrong arrays,
            or its matrix is not a non-negative ultrametric (zero diagonal, symmetric,
            ``d(a, c) <= max(d(a, b), d(b, c))``: the merge heights of a tree).
    """
    fix = 'recompute it with tools/ucm/compute_ucm.py (delete the file first)'
    try:
        if os.path.getsize(path) == 0:
            raise UCMError(f'UCM file {path} is empty (0 bytes): {fix}')
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ('labels', 'ultrametric') if k not in z.files]
            if missing:
                raise UCMError(f'UCM file {path} lacks the {missing} array(s): {fix}')
            labels, dist = z['labels'], z['ultrametric']
    except UCMError:
        raise
    except FileNotFoundError:
        raise UCMError(f'UCM file {path} does not exist: {fix}') from None
    except Exception as e:  # EOFError, BadZipFile, zlib.error, ValueError of a cut/corrupt file
        raise UCMError(f'UCM file {path} is corrupt or cut short ({type(e).__name__}: {e}): '
                       f'{fix}') from None
    if not np.issubdtype(labels.dtype, np.integer) or not np.issubdtype(dist.dtype, np.floating):
        raise UCMError(f'UCM file {path} holds {labels.dtype} labels / {dist.dtype} heights, '
                       f'not integer region ids / float merge heights: {fix}')
    labels, dist = labels.astype(np.int64), dist.astype(np.float32)
    m = dist.shape[0] if dist.ndim == 2 else 0
    if labels.ndim != 2 or labels.size == 0 or m == 0:
        raise UCMError(f'UCM file {path} holds an empty region map: {fix}')
    if dist.shape != (m, m) or not np.isfinite(dist).all():
        raise UCMError(f'UCM file {path}: ultrametric must be a finite (M, M) matrix, got '
                       f'{dist.shape}: {fix}')
    if labels.min() < 0 or labels.max() >= m:
        raise UCMError(f'UCM file {path}: region ids {labels.min()}..{labels.max()} do not fit '
                       f'its {m} regions: {fix}')
    if dist.min() < 0 or not is_ultrametric(dist):
        raise UCMError(f'UCM file {path}: its {m}x{m} merge-height matrix is not an ultrametric '
                       '(non-negative, zero diagonal, symmetric, d(a,c) <= max(d(a,b), d(b,c))), '
                       f'so it is no region tree: {fix}')
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
    """One image -> its ``.npz``. Returns 1 (computed), 0 (a valid file of the current tree
    and of this very image (same ``source_sha1``) exists: resume) or ``(src, message)`` when the
    image or its edge map cannot be read (skipped, listed)."""
    src, dst, edge_path, max_regions, sed_model = job
    try:
        digest = file_sha1(src)
    except OSError:
        digest = None  # unreadable: read_image below reports it
    if digest is not None and osp.exists(dst):
        try:
            load_ucm(dst)
            if _ucm_tags(dst) == (UCM_TREE, digest):
                return 0
            # a valid tree of an older hierarchy (e.g. weakest-point heights), of another
            # picture under this path (the image changed), or without a digest: recompute
        except UCMError:
            pass  # cut short or corrupt (e.g. written before writes were atomic): recompute
    try:
        img = read_image(src)
        return _ucm_of_image(img, src, dst, edge_path, max_regions, sed_model, digest)
    except (FrameReadError, UCMError) as e:
        return (src, str(e))


def _ucm_of_image(img, src, dst, edge_path, max_regions, sed_model, digest=None):
    if edge_path is not None:
        edges = read_edge_map(edge_path)
        if edges.shape != img.shape[:2]:
            raise UCMError(f'edge map {edge_path} is {edges.shape}, image {src} is '
                           f'{img.shape[:2]}: provide edges at the image size')
    elif sed_model is not None:
        edges = structured_forest_edges(img, sed_model)
    else:
        edges = color_gradient_edges(img)
    save_ucm(dst, *ucm_from_edges(edges, max_regions), source_sha1=digest)
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
    into ``out_dir/<relative path>.npz``; images whose file exists, is valid and carries the
    current tree tag and the sha1 of the image's current bytes are skipped (resume); any other
    file (corrupt, an older hierarchy, a changed picture, no digest) is recomputed.

    Args:
        edge_root (str, optional): folder of user edge / UCM maps mirroring ``img_root``
            (``<relative path without suffix><edge_suffix>``); None: structured-forest edges
            when ``sed_model`` (a model file) is given, else colour-gradient edges.

    Returns:
        dict: ``images``, ``computed``, ``skipped`` (already done), ``failed``: ``[(image,
        message)]`` of the unreadable images or edge maps, skipped (the rest is written).
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
    results = run_jobs(_ucm_job, jobs, workers)
    failed = [r for r in results if isinstance(r, tuple)]
    computed = sum(r for r in results if not isinstance(r, tuple))
    return dict(images=len(jobs), computed=computed,
                skipped=len(jobs) - computed - len(failed), failed=failed)
