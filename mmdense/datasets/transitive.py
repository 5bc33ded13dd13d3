"""Graph construction for transitive invariance (Wang, He, Gupta, ICCV 2017, sec. 3-4).

Nodes are object patches mined from videos; intra-instance edges join a patch to the same object
tracked ``track_frames`` later; inter-instance edges join the patches of "child" clusters (4
samples that are all in each other's top-10 neighbours inside a k-means "parent" cluster);
transitivity turns an inter edge <A, B> with intra edges <A, A'>, <B, B'> into positive pairs
<A, B'>, <A', B>, <A', B'>.

1. :func:`mine_video`: frames with moderate motion (dense DIS flow minus its median, the camera
   motion: too many moving pixels = camera motion, too few = noise), the box holding the most
   moving pixels (``box_frac`` of the frame, the paper's 227 of ~600 px), cropped and resized to
   96x96;
2. :func:`track_node`: OpenCV's KCF tracker (contrib) from the mined box for ``track_frames``;
3. :func:`cluster_nodes`: k-means parents (drop those under ``min_parent``), then child cliques of
   ``group`` mutual ``knn``-nearest neighbours (scikit-learn);
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
from mmengine.dataset import BaseDataset

from mmdense.registry import DATASETS
from mmdense.utils.checkpoint import atomic_write_bytes
from .video_io import VIDEO_EXTS, VideoSource


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


def best_box(mask, box_frac=0.38):
    """(x, y, w, h) in ``mask`` pixels of the square window (side ``box_frac`` x the short side)
    holding the most True pixels (integral image), and that count."""
    h, w = mask.shape
    s = max(1, int(round(box_frac * min(h, w))))
    ii = cv2.integral(mask.astype(np.uint8))
    counts = ii[s:, s:] - ii[:-s, s:] - ii[s:, :-s] + ii[:-s, :-s]
    y, x = np.unravel_index(int(counts.argmax()), counts.shape)
    return (int(x), int(y), s, s), int(counts.max())


def crop_patch(frame, box, size=96):
    x, y, w, h = (int(round(v)) for v in box)
    x, y = max(0, x), max(0, y)
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


def mine_video(video, out_dir, step=10, min_moving=0.02, max_moving=0.5, box_frac=0.38,
               patch=96, scale=0.25, thr=1.0):
    """Mine moving-object patches of one video: one candidate every ``step`` frames, kept when
    the fraction of moving pixels is in ``[min_moving, max_moving]``. ``video``: a path or an
    opened :class:`VideoSource`.

    Returns:
        list[dict]: nodes ``{id, video, frame, box (x, y, w, h) in frame pixels, path}``.
    """
    src = video if isinstance(video, VideoSource) else VideoSource(video)
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
        (x, y, w, h), _ = best_box(mask, box_frac)
        box = (x / scale, y / scale, w / scale, h / scale)
        img = crop_patch(a, box, patch)
        if img is None:
            continue
        node_id = f'{name}_{t:06d}'
        nodes.append(dict(id=node_id, video=src.path, frame=t, box=[float(v) for v in box],
                          path=_write_patch(img, out_dir, node_id)))
    return nodes


def track_node(node, out_dir, track_frames=30, patch=96, src=None):
    """Track ``node``'s box with KCF for ``track_frames`` frames; returns the new node (the patch
    at the end of the track, ``kind='track'``) or None when the tracker loses the object or the
    video ends. ``src``: the node's opened :class:`VideoSource` (opened here when None)."""
    src = src or VideoSource(node['video'])
    end = node['frame'] + track_frames
    if end >= len(src):
        return None
    tracker = cv2.TrackerKCF_create()
    tracker.init(src.read(node['frame']), tuple(int(round(v)) for v in node['box']))
    box = None
    for t in range(node['frame'] + 1, end + 1):
        frame = src.read(t)
        ok, box = tracker.update(frame)
        if not ok:
            return None
    img = crop_patch(frame, box, patch)
    if img is None:
        return None
    node_id = f'{node["id"]}_track{track_frames}'
    return dict(id=node_id, video=node['video'], frame=end, box=[float(v) for v in box],
                path=_write_patch(img, out_dir, node_id), track_of=node['id'])


def hog_features(paths):
    """HOG descriptors (the "HOG features for clustering" ablation) of 96x96 patches."""
    hog = cv2.HOGDescriptor((96, 96), (16, 16), (8, 8), (8, 8), 9)
    return np.stack([hog.compute(cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2GRAY)).ravel()
                     for p in paths]).astype(np.float32)


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


def cluster_nodes(features, num_parents=5000, min_parent=100, knn=10, group=4, seed=0):
    """Two-stage clustering (sec. 4.2).

    Returns:
        tuple: ``parents`` (N,) int (-1: in a dropped small cluster) and ``children`` (list of
        index tuples of size ``group``).
    """
    from sklearn.cluster import KMeans
    from sklearn.neighbors import NearestNeighbors
    x = features / (np.linalg.norm(features, axis=1, keepdims=True) + 1e-12)
    k = min(num_parents, len(x))
    raw = KMeans(n_clusters=k, n_init=1, random_state=seed).fit_predict(x)
    parents = np.full(len(x), -1, np.int64)
    children = []
    for c in np.unique(raw):
        members = np.flatnonzero(raw == c)
        if len(members) < max(min_parent, group):
            continue
        parents[members] = c
        n_nb = min(knn + 1, len(members))
        _, idx = NearestNeighbors(n_neighbors=n_nb).fit(x[members]).kneighbors(x[members])
        neighbours = [set(int(j) for j in row if j != r) for r, row in enumerate(idx)]
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
    if osp.exists(cache):
        with open(cache) as f:
            return json.load(f)
    patches = osp.join(out_dir, 'patches', name)
    src = VideoSource(video)  # one capture for mining and every track of this video
    nodes = mine_video(src, patches, **mine_kw)
    tracked, intra = [], []
    if track_frames:
        for node in nodes:
            t = track_node(node, patches, track_frames, mine_kw.get('patch', 96), src)
            if t is not None:
                tracked.append(t)
                intra.append((node['id'], t['id']))
    res = dict(nodes=nodes + tracked, intra=intra)
    atomic_write_bytes(json.dumps(res).encode(), cache)
    return res


def build_graph(video_root, out_dir, features='hog', encoder=None, track_frames=30,
                num_parents=5000, min_parent=100, knn=10, group=4,
                kinds=('transitive', 'intra'), workers=0, mine_kw=None):
    """Steps 1-4 over every video under ``video_root``; writes ``out_dir/graph.json``.

    Args:
        features (str): ``'hog'`` or ``'encoder'`` (then ``encoder`` maps a list of BGR patches
            to (N, C) features, e.g. a pooled :class:`~mmdense.evaluation.DenseEncoder`).

    Returns:
        dict: the graph summary.
    """
    from mmdense.utils.jobs import run_jobs
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
    paths = [nodes[i]['path'] for i in mined]
    if features == 'hog':
        feats = hog_features(paths)
    else:
        feats = np.asarray(encoder([cv2.imread(p) for p in paths]), np.float32)
    sub_parents, children = cluster_nodes(feats, num_parents, min_parent, knn, group)
    parents = np.full(len(nodes), -1, np.int64)
    parents[mined] = sub_parents
    for a, b in intra:  # a tracked patch belongs to its start patch's parent cluster
        parents[index[b]] = parents[index[a]]
    inter = sorted({(nodes[mined[i]]['id'], nodes[mined[j]]['id'])
                    for grp in children for i, j in itertools.combinations(grp, 2)})
    pairs = transitive_pairs(inter, intra, kinds)
    graph = write_graph(osp.join(out_dir, 'graph.json'), nodes, parents, intra, inter, pairs)
    return graph_summary(graph)


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
