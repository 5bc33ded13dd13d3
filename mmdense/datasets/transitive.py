"""Graph construction for transitive invariance (Wang, He, Gupta, ICCV 2017, sec. 3-4).

Nodes are object patches mined from videos; intra-instance edges join a patch to the same object
tracked ``track_frames`` later; inter-instance edges join the patches of "child" clusters (4
samples that are all in each other's top-10 neighbours inside a k-means "parent" cluster);
transitivity turns an inter edge <A, B> with intra edges <A, A'>, <B, B'> into positive pairs
<A, B'>, <A', B>, <A', B'>.

1. :func:`mine_video`: frames with moderate motion (dense DIS flow minus its median, the camera
   motion: too many moving pixels = camera motion, too few = noise), the paper's 227x227 box of
   a ~600x400 frame (sec. 4.1; scaled with the frame's short side, :func:`mined_box`) holding
   the most moving pixels, cropped and resized to 96x96;
2. :func:`track_node`: OpenCV's KCF tracker (contrib) from the mined box for ``track_frames``;
3. :func:`cluster_nodes`: k-means parents (drop those under ``min_parent``), then child cliques of
   ``group`` mutual ``knn``-nearest neighbours among other videos' patches (scikit-learn);
4. :func:`transitive_pairs`: the positive pairs, by kind.

``tools/transitive/build_graph.py`` runs 1-4 over a folder of videos (resumable per video,
parallel, progress bar) and writes ``graph.json``, which :class:`TransitivePairDataset` reads.
"""
import itertools
import json
import os
import os.path as osp

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.dataset import BaseDataset

from mmdense.registry import DATASETS, TRANSFORMS
from mmdense.utils.checkpoint import atomic_write_bytes
from .video_io import VIDEO_EXTS, FrameFolderSource, FrameReadError, FrameSource, VideoSource


def open_source(path):
    """A :class:`FrameFolderSource` for a folder of frame images, else a :class:`VideoSource`."""
    return FrameFolderSource(path) if osp.isdir(path) else VideoSource(path)


def moving_mask(frame_a, frame_b, scale=0.25, thr=1.0, dis=None):
    """Pixels (at ``scale``) that move relative to the camera: |flow - median(flow)| > thr px.
    ``dis``: a reusable ``cv2.DISOpticalFlow`` (medium preset when None)."""
    small = [cv2.cvtColor(cv2.resize(f, None, fx=scale, fy=scale,
                                     interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
             for f in (frame_a, frame_b)]
    dis = dis or cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flow = dis.calc(small[0], small[1], None)
    residual = flow - np.median(flow.reshape(-1, 2), axis=0)
    return np.linalg.norm(residual, axis=-1) > thr


def best_box(mask, side):
    """(x, y, side, side) in ``mask`` pixels of the square window holding the most True pixels
    (integral image), and that count. ``side`` is clipped to the mask's short side. Among
    windows holding equally many, the one centred closest to those pixels' centroid wins (the
    object sits in the middle of its box)."""
    h, w = mask.shape
    s = int(min(max(1, round(side)), h, w))
    ii = cv2.integral(mask.astype(np.uint8))
    counts = ii[s:, s:] - ii[:-s, s:] - ii[s:, :-s] + ii[:-s, :-s]
    best = int(counts.max())
    ys, xs = np.nonzero(counts == best)
    inside = np.argwhere(mask[ys[0]:ys[0] + s, xs[0]:xs[0] + s])
    if len(ys) > 1 and len(inside):
        cy, cx = inside.mean(0) + (ys[0], xs[0]) + 0.5
        i = int(np.argmin((ys + s / 2 - cy)**2 + (xs + s / 2 - cx)**2))
    else:
        i = 0
    return (int(xs[i]), int(ys[i]), s, s), best


#: side of the mined box in frame pixels at a short side of :data:`MINED_BOX_REF`: "a 227x227
#: bounding box (from ~600x400 images)" (sec. 4.1)
MINED_BOX = 227
#: the short side of the paper's ~600x400 frames, at which the mined box is :data:`MINED_BOX`
MINED_BOX_REF = 400


def mined_box(mask, scale, frame_hw, box=MINED_BOX, ref=MINED_BOX_REF):
    """The mined object box (sec. 4.1) in frame pixels: a square placed where the moving-pixel
    ``mask`` (computed at ``scale`` of the frame) holds the most moving pixels.

    Its side is the paper's ``box`` (227) scaled with the frame: ``box * short_side / ref``, so
    that it covers the same part of the frame as 227 of the paper's ~600x400 frames (a 400x600
    frame: 227; a 96x128 frame: 54). ``ref=None``: ``box`` frame pixels whatever the frame. The
    side is at most the frame's short side. The window is searched on the mask at
    ``side * scale`` and its centre mapped back to the frame, so the box is exactly ``side``
    frame pixels and lies inside the frame.

    Returns:
        tuple: ``(x, y, side, side)`` ints in frame pixels, and the moving-pixel count (mask).
    """
    fh, fw = frame_hw
    side = box * min(fh, fw) / ref if ref else box
    side = int(min(max(1, round(side)), fh, fw))
    (x, y, s, _), count = best_box(mask, side * scale)
    cx, cy = (x + s / 2) / scale, (y + s / 2) / scale
    x0 = int(np.clip(round(cx - side / 2), 0, fw - side))
    y0 = int(np.clip(round(cy - side / 2), 0, fh - side))
    return (x0, y0, side, side), count


def object_box(mask, objects, grow=1.25):
    """A diagnostic in place of :func:`mined_box`, with the objects known: the square around the
    object that holds the most moving pixels, ``grow`` x the longer side of its visible box,
    centred on that box (the object readout's crop). Not the paper, whose mining knows no
    objects: it measures what the mining's box placement costs.

    Args:
        mask (np.ndarray): (h, w) bool moving pixels, at any scale of the frame (resized to
            ``objects``).
        objects (np.ndarray): (H, W) int instance ids of the frame, at its resolution (0:
            background).

    Returns:
        tuple: ``(x, y, side, side)`` in frame pixels (possibly reaching over the border; the
        crop moves it inside), and the object's moving-pixel count; ``(None, 0)`` when no
        object moves.
    """
    if objects.ndim != 2:
        raise ValueError(f'objects must be an (H, W) map of instance ids, not {objects.shape}')
    if mask.shape != objects.shape:
        mask = cv2.resize(mask.astype(np.uint8), objects.shape[::-1],
                          interpolation=cv2.INTER_NEAREST) > 0
    ids, counts = np.unique(objects[mask & (objects > 0)], return_counts=True)
    if not len(ids):
        return None, 0
    k = ids[np.argmax(counts)]
    ys, xs = np.nonzero(objects == k)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    side = int(min(round(grow * max(x1 - x0, y1 - y0)), *objects.shape))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (int(round(cx - side / 2)), int(round(cy - side / 2)), side, side), int(counts.max())


def inside_frame(box, frame_hw):
    """``box`` (x, y, w, h) moved, not resized, to lie inside a frame of ``frame_hw`` (clipped
    only where it is larger than the frame): a tracker's box that runs over the border keeps its
    size, so its patch is not stretched."""
    fh, fw = frame_hw
    x, y, w, h = (int(round(v)) for v in box)
    w, h = max(1, min(w, fw)), max(1, min(h, fh))
    return int(np.clip(x, 0, fw - w)), int(np.clip(y, 0, fh - h)), w, h


def crop_patch(frame, box, size=96):
    """The ``size`` x ``size`` patch of ``box`` (x, y, w, h; moved inside the frame first,
    :func:`inside_frame`), or None when it is empty."""
    x, y, w, h = inside_frame(box, frame.shape[:2])
    crop = frame[y:y + h, x:x + w]
    if crop.size == 0:
        return None
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def _write_patch(img, out_dir, node_id):
    """Write a patch as ``out_dir/<node_id>.png`` atomically; returns the path."""
    path = osp.join(out_dir, node_id + '.png')
    ok, buf = cv2.imencode('.png', img)
    if not ok:
        raise OSError(f'cannot encode patch {path}')
    atomic_write_bytes(buf.tobytes(), path)
    return path


def mine_video(video, out_dir, step=10, min_moving=0.02, max_moving=0.5, box=MINED_BOX,
               patch=96, scale=0.25, thr=1.0, box_ref=MINED_BOX_REF, objects=None):
    """Mine moving-object patches of one video: one candidate every ``step`` frames, kept when
    the fraction of moving pixels is in ``[min_moving, max_moving]``; the square with the most
    moving pixels (:func:`mined_box`: the paper's 227 of a 400 px short side, ``box`` at
    ``box_ref``, scaled with the frame) is cropped and resized to ``patch`` x ``patch``.
    ``video``: a video path, a folder of frames or an opened :class:`FrameSource`.
    ``objects`` (a diagnostic, not the paper): a folder of per-clip folders of instance-id maps
    (``<objects>/<video name>/<frame:05d>.png``, e.g. the demo world's ``inst``); the box is
    then :func:`object_box`'s, around the object with the most moving pixels.

    Returns:
        list[dict]: nodes ``{id, video, frame, box (x, y, w, h) in frame pixels, path}``.
    """
    src = video if isinstance(video, FrameSource) else open_source(video)
    name = osp.splitext(osp.basename(src.path))[0]
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    nodes = []
    os.makedirs(out_dir, exist_ok=True)
    for t in range(0, len(src) - 1, step):
        a, b = src.read(t), src.read(t + 1)
        mask = moving_mask(a, b, scale, thr, dis)
        frac = float(mask.mean())
        if not min_moving <= frac <= max_moving:
            continue
        if objects is None:
            xywh, _ = mined_box(mask, scale, a.shape[:2], box, box_ref)
        else:
            inst = _instance_map(objects, name, t)
            if inst.shape != a.shape[:2]:
                raise ValueError(f'{osp.join(objects, name)}: instance map of frame {t} is '
                                 f'{inst.shape}, the frame {a.shape[:2]}; objects= needs maps '
                                 'at the frames\' resolution')
            xywh, _ = object_box(mask, inst)
            if xywh is None:
                continue
            xywh = inside_frame(xywh, a.shape[:2])  # the box the patch shows, and KCF starts at
        img = crop_patch(a, xywh, patch)
        if img is None:
            continue
        node_id = f'{name}_{t:06d}'
        nodes.append(dict(id=node_id, video=src.path, frame=t, box=[float(v) for v in xywh],
                          path=_write_patch(img, out_dir, node_id)))
    return nodes


def _instance_map(objects, name, t):
    path = osp.join(objects, name, f'{t:05d}.png')
    inst = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if inst is None:
        raise FileNotFoundError(f'{path}: no instance map for frame {t} of {name}; objects= '
                                "must be a folder of per-clip instance maps (the demo world's "
                                'inst/)')
    return inst


def track_node(node, out_dir, track_frames=30, patch=96, src=None, scale=1.0):
    """Track ``node``'s box with KCF for ``track_frames`` frames; returns the new node (the patch
    at the end of the track, ``kind='track'``) or None when the tracker loses the object or the
    video ends. ``src``: the node's opened :class:`FrameSource` (opened here when None).
    ``scale`` < 1 runs the tracker on frames resized by it (KCF's cost grows with the box
    area) and maps the box back; the end patch is cropped from the full-resolution frame."""
    src = src or open_source(node['video'])
    end = node['frame'] + track_frames
    if end >= len(src):
        return None

    def view(frame):
        if scale == 1:
            return frame
        return cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    tracker = cv2.TrackerKCF_create()
    tracker.init(view(src.read(node['frame'])),
                 tuple(int(round(v * scale)) for v in node['box']))
    box = None
    for t in range(node['frame'] + 1, end + 1):
        frame = src.read(t)
        ok, box = tracker.update(view(frame))
        if not ok:
            return None
    # KCF keeps the start box's size but clips its box at the frame border: the end box is
    # the start's size, moved inside the frame
    box = inside_frame((box[0] / scale, box[1] / scale) + tuple(node['box'][2:]),
                       frame.shape[:2])
    img = crop_patch(frame, box, patch)
    if img is None:
        return None
    node_id = f'{node["id"]}_track{track_frames}'
    return dict(id=node_id, video=node['video'], frame=end, box=[float(v) for v in box],
                path=_write_patch(img, out_dir, node_id), track_of=node['id'])


def hog_features(patches):
    """HOG descriptors (the "HOG features for clustering" ablation) of 96x96 patches: their
    paths, or the BGR patches themselves. Returns (N, 4356) float32."""
    hog = cv2.HOGDescriptor((96, 96), (16, 16), (8, 8), (8, 8), 9)
    return np.stack([hog.compute(cv2.cvtColor(cv2.imread(p) if isinstance(p, str) else p,
                                              cv2.COLOR_BGR2GRAY)).ravel()
                     for p in patches]).astype(np.float32)


def mutual_cliques(neighbours, group=4):
    """Groups of ``group`` indices that are all in each other's neighbour lists.

    Args:
        neighbours (list[set[int]]): top-k neighbour sets (excluding self).
    """
    out = []
    for i, nbr in enumerate(neighbours):
        cand = sorted(j for j in nbr if j > i and i in neighbours[j])
        for rest in itertools.combinations(cand, group - 1):
            if all(b in neighbours[a] and a in neighbours[b]
                   for a, b in itertools.combinations(rest, 2)):
                out.append((i, ) + rest)
    return out


def cluster_nodes(features, num_parents=5000, min_parent=100, knn=10, group=4, seed=0,
                  videos=None):
    """Two-stage clustering (sec. 4.2): k-means "parent" clusters (those under ``min_parent``
    dropped), then inside each parent the "child" cliques of ``group`` samples that are all in
    each other's ``knn`` nearest neighbours (cosine).

    ``videos`` (N,) (optional): the video of each sample. A sample's neighbours are then taken
    among other videos' samples only, so a child clique joins ``group`` different videos. The
    edges it makes are "inter-instance" edges: without this, the near-duplicate candidates of
    one video (the same instance a few frames apart) are each other's nearest neighbours and
    fill the cliques (see ``configs/transitive/README.md``, "Where we differ").

    Returns:
        tuple: ``parents`` (N,) int (-1: in a dropped small cluster) and ``children`` (list of
        index tuples of size ``group``).
    """
    from sklearn.cluster import KMeans
    from sklearn.neighbors import NearestNeighbors
    x = features / (np.linalg.norm(features, axis=1, keepdims=True) + 1e-12)
    k = min(num_parents, len(x))
    raw = KMeans(n_clusters=k, n_init=1, random_state=seed).fit_predict(x)
    vid = None if videos is None else np.unique(np.asarray(videos), return_inverse=True)[1]
    parents = np.full(len(x), -1, np.int64)
    children = []
    for c in np.unique(raw):
        members = np.flatnonzero(raw == c)
        if len(members) < max(min_parent, group):
            continue
        parents[members] = c
        # enough neighbours that ``knn`` of them are from other videos (the rest are dropped)
        same = 1 if vid is None else int(np.bincount(vid[members]).max())
        n_nb = min(knn + same, len(members))
        _, idx = NearestNeighbors(n_neighbors=n_nb).fit(x[members]).kneighbors(x[members])
        neighbours = []
        for r, row in enumerate(idx):
            nbr = [int(j) for j in row if j != r and (
                vid is None or vid[members[j]] != vid[members[r]])]
            neighbours.append(set(nbr[:knn]))
        children += [tuple(int(members[j]) for j in grp)
                     for grp in mutual_cliques(neighbours, group)]
    return parents, children


def transitive_pairs(inter_edges, intra_edges, kinds=('transitive', 'intra')):
    """Positive pairs of the graph (sec. 3). For every inter edge <A, B> and intra edges
    <A, A'>, <B, B'>: ``'transitive'`` pairs <A, B'>, <A', B>, <A', B'>; ``'intra'``: the intra
    edges themselves; ``'inter'``: the inter edges themselves (the "clustering only" ablation).

    Returns:
        list[tuple]: ``(a, b, kind)``, each unordered pair once.
    """
    tracks = {}
    for a, b in intra_edges:
        tracks.setdefault(a, set()).add(b)
        tracks.setdefault(b, set()).add(a)
    seen, out = set(), []

    def emit(a, b, kind):
        key = (min(a, b), max(a, b))
        if a != b and key not in seen:
            seen.add(key)
            out.append((a, b, kind))
    if 'transitive' in kinds:
        for a, b in inter_edges:
            for a2 in tracks.get(a, ()):
                emit(a2, b, 'transitive')
                for b2 in tracks.get(b, ()):
                    emit(a2, b2, 'transitive')
            for b2 in tracks.get(b, ()):
                emit(a, b2, 'transitive')
    if 'intra' in kinds:
        for a, b in intra_edges:
            emit(a, b, 'intra')
    if 'inter' in kinds:
        for a, b in inter_edges:
            emit(a, b, 'inter')
    return out


def write_graph(path, nodes, parents, intra_edges, inter_edges, pairs):
    """``graph.json``: nodes (id, path, parent), edges by type, pairs; written atomically."""
    graph = dict(
        nodes=[dict(id=n['id'], path=n['path'], parent=int(p)) for n, p in zip(nodes, parents)],
        edges=dict(intra=[list(e) for e in intra_edges], inter=[list(e) for e in inter_edges]),
        pairs=[dict(a=a, b=b, kind=k) for a, b, k in pairs])
    atomic_write_bytes(json.dumps(graph).encode(), path)
    return graph


def graph_summary(graph):
    kinds = {}
    for p in graph['pairs']:
        kinds[p['kind']] = kinds.get(p['kind'], 0) + 1
    parents = {n['parent'] for n in graph['nodes'] if n['parent'] >= 0}
    return dict(nodes=len(graph['nodes']), parents=len(parents),
                intra_edges=len(graph['edges']['intra']),
                inter_edges=len(graph['edges']['inter']), pairs=kinds)


def _video_job(job):
    """Mine + track one video; cached in ``<out>/mined/<video>.json`` (resume)."""
    video, out_dir, mine_kw, track_frames = job
    name = osp.splitext(osp.basename(video))[0]
    cache = osp.join(out_dir, 'mined', name + '.json')
    # the box rule is always part of the cache key: caches mined before the box scaled with
    # the frame (no ``box_ref``) are mined again
    mine_kw = dict(dict(box_ref=MINED_BOX_REF), **mine_kw)
    params = dict(mine_kw, track_frames=track_frames)
    if osp.exists(cache):
        try:
            with open(cache) as f:
                res = json.load(f)
        except ValueError:  # a cache that cannot be read is redone
            res = {}
        if res.get('params') == params:  # mined with other settings (e.g. box): redo
            return res
    patches = osp.join(out_dir, 'patches', name)
    try:
        src = open_source(video)  # one capture for mining and every track of this video
        kw = dict(mine_kw)
        track_scale = kw.pop('track_scale', 1.0)
        nodes = mine_video(src, patches, **kw)
        tracked, intra = [], []
        if track_frames:
            for node in nodes:
                t = track_node(node, patches, track_frames, kw.get('patch', 96), src,
                               track_scale)
                if t is not None:
                    tracked.append(t)
                    intra.append((node['id'], t['id']))
    except FrameReadError as e:  # skipped and listed; not cached, so a rerun retries it
        return dict(nodes=[], intra=[], failed=[video, str(e)])
    res = dict(nodes=nodes + tracked, intra=intra, params=params)
    atomic_write_bytes(json.dumps(res).encode(), cache)
    return res


def build_graph(video_root, out_dir, features='encoder', encoder=None, track_frames=30,
                num_parents=5000, min_parent=100, knn=10, group=4,
                kinds=('transitive', 'intra'), workers=0, mine_kw=None, cross_video=True):
    """Steps 1-4 over every video under ``video_root``; writes ``out_dir/graph.json``.

    Args:
        video_root (str | list[str]): a folder searched for videos, or a list of sources, each
            a video file or a folder of frame images (e.g. the demo world's clips).
        features (str): ``'encoder'`` (the paper: ``encoder`` maps a list of BGR 96x96 patches
            to (N, C) features, the 4608-d pool5 of the context-prediction VGG16 in
            ``tools/transitive/build_graph.py``) or ``'hog'`` (the HOG ablation).
        cross_video (bool): inter-instance edges only between patches of different videos
            (:func:`cluster_nodes`' ``videos``); needs patches from at least ``group`` videos.
            False: any two patches (for a demo on a few videos).

    Returns:
        dict: the graph summary, with the clustering ``features`` and their ``feature_dim``.
    """
    from mmdense.utils.jobs import run_jobs
    if features not in ('encoder', 'hog'):
        raise ValueError(f"features must be 'encoder' or 'hog', not {features!r}")
    if features == 'encoder' and encoder is None:
        raise ValueError("features='encoder' needs an encoder (patches -> (N, C) features), "
                         "e.g. the context-prediction VGG16's pool5; or use features='hog'")
    if isinstance(video_root, (list, tuple)):
        videos = [osp.normpath(v) for v in video_root]
        names = [osp.splitext(osp.basename(v))[0] for v in videos]
        if len(set(names)) < len(names):  # the per-source cache and node ids use the name
            raise ValueError('sources with the same base name: rename them')
    else:
        videos = sorted(osp.join(d, f) for d, _, fs in os.walk(video_root) for f in fs
                        if f.lower().endswith(VIDEO_EXTS))
    if not videos:
        raise FileNotFoundError(f'no videos ({", ".join(VIDEO_EXTS)}) under {video_root}')
    jobs = [(v, out_dir, dict(mine_kw or {}), track_frames) for v in videos]
    results = run_jobs(_video_job, jobs, workers)
    nodes = sorted((n for r in results for n in r['nodes']), key=lambda n: n['id'])
    intra = sorted(tuple(e) for r in results for e in r['intra'])
    if len(nodes) < group:
        raise ValueError(f'only {len(nodes)} patches mined from {len(videos)} videos: relax the '
                         'motion thresholds (min_moving / max_moving) or add videos')
    index = {n['id']: i for i, n in enumerate(nodes)}
    mined = [i for i, n in enumerate(nodes) if 'track_of' not in n]
    mined_videos = [nodes[i]['video'] for i in mined]
    if cross_video and len(set(mined_videos)) < group:
        raise ValueError(
            f'patches were mined from {len(set(mined_videos))} video(s), and inter-instance '
            f'edges join {group} different videos: add videos, or allow edges inside one video '
            '(build_graph.py --same-video-edges)')
    paths = [nodes[i]['path'] for i in mined]
    if features == 'hog':
        feats = hog_features(paths)
    else:
        feats = np.asarray(encoder([cv2.imread(p) for p in paths]), np.float32)
    sub_parents, children = cluster_nodes(feats, num_parents, min_parent, knn, group,
                                          videos=mined_videos if cross_video else None)
    parents = np.full(len(nodes), -1, np.int64)
    parents[mined] = sub_parents
    for a, b in intra:  # a tracked patch belongs to its start patch's parent cluster
        parents[index[b]] = parents[index[a]]
    inter = sorted({(nodes[mined[i]]['id'], nodes[mined[j]]['id'])
                    for grp in children for i, j in itertools.combinations(grp, 2)})
    pairs = transitive_pairs(inter, intra, kinds)
    graph = write_graph(osp.join(out_dir, 'graph.json'), nodes, parents, intra, inter, pairs)
    return dict(graph_summary(graph), features=features, feature_dim=int(feats.shape[1]),
                failed=[r['failed'] for r in results if 'failed' in r])


@DATASETS.register_module()
class TransitivePairDataset(BaseDataset):
    """Positive pairs of a transitive-invariance graph (``tools/transitive/build_graph.py``).

    Item i: ``img`` (patch A), ``img2`` (patch B), ``parent`` (A's parent cluster, -1 unknown),
    ``kind`` (transitive / intra / inter), ``img_path``; the pipeline turns them into two views
    (e.g. ``FramePairToViews`` + ``PackInputs(meta_keys=('parent', 'kind', 'img_path'))``).

    Args:
        graph_file (str): the ``graph.json``.
        kinds (tuple[str], optional): pair kinds to use (None: all), e.g. ``('intra', )`` for
            "tracking only".
    """

    def __init__(self, graph_file, pipeline=(), kinds=None, data_root='', test_mode=False,
                 lazy_init=False, max_refetch=0):
        self.graph_file = graph_file
        self.kinds = tuple(kinds) if kinds else None
        super().__init__(ann_file=graph_file, data_root=data_root, pipeline=list(pipeline),
                         test_mode=test_mode, lazy_init=lazy_init, serialize_data=False,
                         max_refetch=max_refetch)

    def load_data_list(self):
        try:
            with open(self.ann_file) as f:
                graph = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            raise FileNotFoundError(f'cannot read the graph {self.ann_file} ({e}): build it with '
                                    'tools/transitive/build_graph.py') from e
        nodes = {n['id']: n for n in graph['nodes']}
        out = []
        for p in graph['pairs']:
            if self.kinds and p['kind'] not in self.kinds:
                continue
            a, b = nodes[p['a']], nodes[p['b']]
            out.append(dict(img_path=a['path'], img2_path=b['path'], parent=a['parent'],
                            kind=p['kind']))
        if not out:
            raise ValueError(f'{self.ann_file} holds no pairs of kinds {self.kinds}')
        return out

    def prepare_data(self, idx):
        info = dict(self.get_data_info(idx))
        for key, path_key in (('img', 'img_path'), ('img2', 'img2_path')):
            img = cv2.imread(info[path_key], cv2.IMREAD_COLOR)
            if img is None:
                raise FileNotFoundError(f'cannot read patch {info[path_key]} (graph '
                                        f'{self.ann_file}): rebuild the graph')
            info[key] = img
        info['img_shape'] = info['ori_shape'] = info['img'].shape[:2]
        return self.pipeline(info)


#: (dy, dx) of the second patch relative to the first, in units of one grid step; the index is
#: the 8-way context-prediction label (Doersch et al.'s 1..8, row-major, minus one)
CONTEXT_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


@TRANSFORMS.register_module()
class ContextPatchPair(BaseTransform):
    """A patch pair for context prediction (Doersch, Gupta, Efros, ICCV 2015), the task whose
    VGG16 gives transitive invariance its clustering features (Wang et al. 2017, sec. 2, 4.2).

    The image is resized to a random total of ``target_pixels`` pixels (aspect kept; enlarged
    when a pair would not fit), a first ``patch_size`` patch is drawn, and the second sits at one
    of its 8 neighbouring grid cells (label = index in :data:`CONTEXT_OFFSETS`), the cells
    ``patch_size + gap`` apart, each patch jittered by up to ``jitter`` pixels on its own.
    Per patch, against trivial low-level cues: with ``downsample_prob`` it is shrunk to a random
    size of ``min_downsample_pixels`` .. ``patch_size**2`` pixels and enlarged back
    (pixelation), and with ``color_drop`` two random channels are replaced by
    ``drop_fill`` (the per-channel data mean, BGR) plus +-1 noise ("colour dropping": chromatic
    aberration cannot tell the position).

    Defaults: 96x96 patches (the transitive paper's clustering patches, pool5 3x3x512 = 4608-d),
    gap 48, jitter 7, 150K-450K pixels, pixelation for 1/3 of patches down to 100 pixels, colour
    dropping: Doersch et al.'s settings (the transitive paper states only the 96x96 size).

    Required keys: ``img`` (H, W, 3) uint8. Modified: ``img`` = [patch 1, patch 2] (each
    ``patch_size`` x ``patch_size`` x 3), ``img_shape``. Added: ``gt_label`` (int, 0..7; it
    replaces any class label, so ImageNet's labels never reach the model), ``context_boxes``
    (2, 4) x1, y1, x2, y2 of the patches in the resized image, ``context_scale`` (resize
    factor of the image).
    """

    def __init__(self, patch_size=96, gap=48, jitter=7, target_pixels=(150000, 450000),
                 downsample_prob=1 / 3, min_downsample_pixels=100, color_drop=True,
                 drop_fill=(103.53, 116.28, 123.675)):
        if 2 * jitter > gap:
            raise ValueError(f'jitter {jitter} would let patches {gap} px apart touch')
        self.patch_size = int(patch_size)
        self.gap = int(gap)
        self.jitter = int(jitter)
        self.target_pixels = tuple(target_pixels) if target_pixels else None
        self.downsample_prob = downsample_prob
        self.min_downsample_pixels = min_downsample_pixels
        self.color_drop = color_drop
        self.drop_fill = np.asarray(drop_fill, np.float32)

    def _resize(self, img):
        h, w = img.shape[:2]
        s = 1.0
        if self.target_pixels:
            s = float(np.sqrt(np.random.uniform(*self.target_pixels) / (h * w)))
        need = 2 * self.patch_size + self.gap + 2 * self.jitter
        s = max(s, need / min(h, w))
        size = (max(need, int(round(w * s))), max(need, int(round(h * s))))
        if size != (w, h):
            interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
            img = cv2.resize(img, size, interpolation=interp)
        return img, s

    def _augment(self, patch):
        p = self.patch_size
        if self.downsample_prob and np.random.rand() < self.downsample_prob:
            side = int(np.sqrt(np.random.uniform(self.min_downsample_pixels, (p - 1)**2)))
            small = cv2.resize(patch, (side, side), interpolation=cv2.INTER_AREA)
            patch = cv2.resize(small, (p, p), interpolation=cv2.INTER_LINEAR)
        if self.color_drop:
            keep = np.random.randint(3)
            patch = patch.copy()
            for c in range(3):
                if c != keep:
                    noise = np.random.randint(-1, 2, size=patch.shape[:2])
                    patch[..., c] = np.clip(np.round(self.drop_fill[c]) + noise, 0, 255)
        return patch

    def transform(self, results):
        img, scale = self._resize(results['img'])
        h, w = img.shape[:2]
        p, j, step = self.patch_size, self.jitter, self.patch_size + self.gap
        label = int(np.random.randint(8))
        dy, dx = CONTEXT_OFFSETS[label]
        # the first patch's unjittered corner: both jittered patches inside the image
        y0 = np.random.randint(j + max(0, -dy) * step, h - p - j - max(0, dy) * step + 1)
        x0 = np.random.randint(j + max(0, -dx) * step, w - p - j - max(0, dx) * step + 1)
        boxes, patches = [], []
        for oy, ox in ((0, 0), (dy, dx)):
            y = y0 + oy * step + np.random.randint(-j, j + 1)
            x = x0 + ox * step + np.random.randint(-j, j + 1)
            boxes.append((x, y, x + p, y + p))
            patches.append(self._augment(img[y:y + p, x:x + p]))
        results['img'] = patches
        results['img_shape'] = (p, p)
        results['gt_label'] = label
        results['context_boxes'] = np.asarray(boxes, np.int64)
        results['context_scale'] = scale
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(patch_size={self.patch_size}, gap={self.gap}, '
                f'jitter={self.jitter}, target_pixels={self.target_pixels}, '
                f'downsample_prob={self.downsample_prob}, color_drop={self.color_drop})')
