"""What a transitive-invariance graph of the demo world shows, measured against the world's
instance and class maps (issue 17: Transitive's rows stay at random init's level).

    .venv/bin/python tools/benchmark/transitive_graph_content.py GRAPH_DIR WORLD --label since \
        [--encoder NAME=CONFIG,CHECKPOINT ...] [--results tools/benchmark/results/X.json] \
        [--mine [--box PX]]

GRAPH_DIR is a ``build_world_graph`` folder (``graph.json`` and ``mined/``), WORLD the demo world
it was mined from. For the mined patches: the foreground share of the box, the objects with at
least half their visible pixels inside, the share of patches with exactly one; for the tracks:
how many end boxes hold at least half of the start patch's main object (the instance with the
most pixels in the box); for the inter-instance edges: how many join one clip; for every pair
kind: how often two patches of different clips show main objects of one shape class, against
two patches drawn at random. Then the mined patches are clustered again, as the benchmark does
(``cluster_nodes`` with :data:`learning_transitive.CLUSTER`, patches of different clips), with
HOG (the benchmark's feature) and each ``--encoder``'s pooled last stage (``random``: random
init), and the same class agreement is measured on the edges that gives. Last, with each of those
features, the nearest neighbour of every mined patch among other clips' patches (standardised
features): how often it shows a main object of the same class, on the mined patches and on
object-centred crops of the same main objects (the object readout's crop of the object's visible
pixels, ``learning_transitive.square_crop``): what the box's placement costs the features; and
the clustering's inter edges on those centred crops (``reclustered_object_centred``). And
what the mining's moving-pixel mask holds: its share of the frame, of objects, its components.
Figures are appended to ``--results`` under ``--label`` (atomically).

``--mine`` mines GRAPH_DIR first from WORLD's train clips (``build_world_graph``, main
variant; reused when it was mined with the same settings), with the benchmark's box or, with
``--box PX``, a square of PX frame pixels (a diagnostic: is the box's size the limit?).
"""
import argparse
import glob
import itertools
import json
import os.path as osp
import sys

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, osp.dirname(osp.dirname(HERE)))


def _maps(world, node):
    import cv2
    clip = osp.basename(osp.normpath(node['video']))
    name = f"{node['frame']:05d}.png"
    inst = cv2.imread(osp.join(world, 'inst', clip, name), cv2.IMREAD_UNCHANGED)
    sem = cv2.imread(osp.join(world, 'sem', clip, name), cv2.IMREAD_UNCHANGED)
    if inst is None or sem is None:
        raise FileNotFoundError(f'{world}: no instance / class map of {clip}/{name}; is WORLD '
                                'the demo world the graph was mined from?')
    return clip, inst, sem


def content(world, node):
    """What ``node``'s box shows: clip, foreground share, objects at least half inside, its main
    object (instance id, 0: none) and that object's class."""
    clip, inst, sem = _maps(world, node)
    x, y, w, h = (int(round(v)) for v in node['box'])
    box, box_sem = inst[y:y + h, x:x + w], sem[y:y + h, x:x + w]
    ids, counts = np.unique(box[box > 0], return_counts=True)
    whole = sum(c >= 0.5 * (inst == k).sum() for k, c in zip(ids, counts))
    main = int(ids[np.argmax(counts)]) if len(ids) else 0
    cls = int(np.bincount(box_sem[box == main]).argmax()) if main else 0
    return dict(clip=clip, fg=float((box > 0).mean()), whole=int(whole), main=main, cls=cls)


def kept(world, start, end, main):
    """Share of the start's main object's visible pixels that lie in the end node's box."""
    if not main:
        return 0.0
    _, inst, _ = _maps(world, end)
    x, y, w, h = (int(round(v)) for v in end['box'])
    return float((inst[y:y + h, x:x + w] == main).sum() / max(1, (inst == main).sum()))


def measure(graph_dir, world, encoders=(), log=print):
    import learning_transitive as lt
    with open(osp.join(graph_dir, 'graph.json')) as f:
        graph = json.load(f)
    nodes = {}
    for path in sorted(glob.glob(osp.join(graph_dir, 'mined', '*.json'))):
        with open(path) as f:
            nodes.update((n['id'], n) for n in json.load(f)['nodes'])
    if set(nodes) != {n['id'] for n in graph['nodes']}:
        raise ValueError(f'{graph_dir}: mined/ and graph.json list different patches')
    # the settings it was mined with (build_world_graph); the benchmark's for an older graph
    settings = dict(mine=lt.MINE, num_parents=None)
    if osp.isfile(osp.join(graph_dir, 'graph_settings.json')):
        with open(osp.join(graph_dir, 'graph_settings.json')) as f:
            settings.update(json.load(f))
    c = {k: content(world, n) for k, n in nodes.items()}
    starts = sorted(k for k, n in nodes.items() if 'track_of' not in n)
    cls = np.array([c[k]['cls'] for k in starts])
    chance = chance_agreement(cls)
    intra, inter = graph['edges']['intra'], graph['edges']['inter']
    out = dict(
        patches=len(starts), box_sides=sorted({int(nodes[k]['box'][2]) for k in starts}),
        foreground=float(np.mean([c[k]['fg'] for k in starts])),
        objects_half_inside=float(np.mean([c[k]['whole'] for k in starts])),
        one_object=float(np.mean([c[k]['whole'] == 1 for k in starts])),
        tracks=len(intra),
        tracks_end_on_start_object=float(np.mean(
            [kept(world, nodes[a], nodes[b], c[a]['main']) >= 0.5 for a, b in intra]))
        if intra else None,
        inter_edges=len(inter),
        inter_edges_inside_a_clip=float(np.mean([c[a]['clip'] == c[b]['clip']
                                                 for a, b in inter])) if inter else None,
        same_class_by_chance=chance, pairs={})
    for kind in sorted({p['kind'] for p in graph['pairs']}):
        pairs = [(p['a'], p['b']) for p in graph['pairs'] if p['kind'] == kind]
        cross = [(a, b) for a, b in pairs if c[a]['clip'] != c[b]['clip']]
        out['pairs'][kind] = dict(
            n=len(pairs), across_clips=len(cross),
            same_class=float(np.mean([c[a]['cls'] == c[b]['cls'] for a, b in cross]))
            if cross else None)
    out['moving_mask'] = motion_content(world, [nodes[k] for k in starts], settings['mine'])
    import cv2
    encoders = [(name, _encoder(spec, lt)) for name, spec in encoders]
    mined = [cv2.imread(nodes[k]['path']) for k in starts]
    feats = features(mined, encoders, lt)
    out['reclustered'] = recluster(world, nodes, starts, cls, feats, lt,
                                   settings['num_parents'])
    # the nearest neighbours, on the patches that show an object, and on centred crops of it
    has = [i for i, k in enumerate(starts) if c[k]['main']]
    centred = [centred_crop(world, nodes[starts[i]], c[starts[i]]['main']) for i in has]
    clips = np.array([c[starts[i]]['clip'] for i in has])
    centred_feats = features(centred, encoders, lt)
    out['nearest_neighbour'] = dict(
        patches=len(has), same_class_by_chance=chance_agreement(cls[has]),
        mined={k: nearest_same_class(v[has], cls[has], clips) for k, v in feats.items()},
        object_centred={k: nearest_same_class(v, cls[has], clips)
                        for k, v in centred_feats.items()})
    # and the graph's clustering, had the mining cut those centred crops
    out['reclustered_object_centred'] = recluster(
        world, nodes, [starts[i] for i in has], cls[has], centred_feats, lt,
        settings['num_parents'])
    log(json.dumps(out, indent=1))
    return out


def motion_content(world, starts, mine):
    """What the mining's moving-pixel mask (``moving_mask`` at the graph's mining ``scale``
    and ``thr``, frame t against t + 1) holds on the mined frames: its share of the frame, the
    share of its pixels on objects (precision), the share of object pixels in it (recall) and
    its 8-connected components, each a mean over the frames."""
    import cv2
    from mmdense.datasets.transitive import moving_mask
    from mmdense.datasets.video_io import read_image
    rows = []
    for n in starts:
        a, b = (read_image(osp.join(n['video'], f"{n['frame'] + i:05d}.png")) for i in (0, 1))
        mask = moving_mask(a, b, mine.get('scale', 0.25), mine.get('thr', 1.0))
        fg = cv2.resize((_maps(world, n)[1] > 0).astype(np.uint8), mask.shape[::-1],
                        interpolation=cv2.INTER_NEAREST) > 0
        rows.append((mask.mean(), (mask & fg).sum() / max(1, mask.sum()),
                     (mask & fg).sum() / max(1, fg.sum()),
                     cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)[0] - 1))
    share, precision, recall, components = np.mean(rows, 0).tolist() if rows else [None] * 4
    return dict(share=share, on_objects=precision, of_objects=recall, components=components)


def chance_agreement(cls):
    """How often two items drawn at random (with replacement) share their class."""
    return float(sum(np.mean(cls == v)**2 for v in np.unique(cls)))


def _encoder(spec, lt):
    """A frozen :class:`DenseEncoder`: ``random`` (the benchmark tower at random init, seed 0)
    or ``CONFIG,CHECKPOINT``."""
    import torch
    from mmdense.evaluation import DenseEncoder
    torch.manual_seed(0)
    return DenseEncoder(lt.make_config(), None, use_neck=False) if spec == 'random' \
        else DenseEncoder(*spec.split(','), use_neck=False)


def features(patches, encoders, lt):
    """Each feature of 96x96 BGR ``patches``: ``hog`` (the benchmark's clustering feature) and
    every encoder's pooled last stage on the patches resized to the tower's input."""
    import cv2
    from mmdense.datasets.transitive import hog_features
    feats = {'hog': hog_features(patches)}
    small = [cv2.resize(p, (lt.PATCH, lt.PATCH), interpolation=cv2.INTER_AREA) for p in patches]
    for name, enc in encoders:
        feats[name] = enc.features(small, 32).mean((2, 3)).numpy()
    return feats


def centred_crop(world, node, main, size=96):
    """The object readout's crop (``learning_transitive.square_crop``) of instance ``main`` in
    ``node``'s frame: its visible pixels' box grown by ``CROP_EXPAND``, at ``size`` px."""
    import learning_transitive as lt
    from mmdense.datasets.video_io import read_image
    _, inst, _ = _maps(world, node)
    ys, xs = np.nonzero(inst == main)
    bbox = (xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min())
    frame = read_image(osp.join(node['video'], f"{node['frame']:05d}.png"))
    return lt.square_crop(frame, bbox, size)


def nearest_same_class(x, cls, clips):
    """Share of items whose nearest neighbour (Euclidean, standardised features) among the
    items of other clips has the same class."""
    if len(np.unique(clips)) < 2:
        raise ValueError(f'nearest neighbours across clips need items of 2 clips or more, '
                         f'not {len(np.unique(clips))}: mine more clips')
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    sq = (x**2).sum(1)
    dist = sq[:, None] + sq[None] - 2 * x @ x.T
    dist[clips[:, None] == clips[None]] = np.inf
    return float(np.mean(cls[dist.argmin(1)] == cls))


def recluster(world, nodes, starts, cls, feats, lt, num_parents=None):
    """Class agreement of the inter edges that ``cluster_nodes`` makes from each feature, with
    the graph's ``num_parents`` (as ``build_world_graph``'s, for a graph without settings)."""
    from mmdense.datasets.transitive import cluster_nodes
    num_parents = num_parents or lt.num_parent_clusters(lt._train_sources(world))
    videos = [nodes[k]['video'] for k in starts]
    out = {}
    for name, x in feats.items():
        _, children = cluster_nodes(x, num_parents, lt.CLUSTER['min_parent'], lt.CLUSTER['knn'],
                                    lt.CLUSTER['group'], videos=videos)
        edges = {e for g in children for e in itertools.combinations(g, 2)}
        out[name] = dict(inter_edges=len(edges), same_class=float(
            np.mean([cls[i] == cls[j] for i, j in edges])) if edges else None)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('graph_dir')
    parser.add_argument('world')
    parser.add_argument('--label', required=True, help='the key of these figures in --results')
    parser.add_argument('--encoder', action='append', default=[],
                        help="NAME=CONFIG,CHECKPOINT or NAME=random: cluster with its features too")
    parser.add_argument('--results', default=None)
    parser.add_argument('--mine', action='store_true',
                        help="mine GRAPH_DIR first from WORLD's train clips (reused when mined "
                        'with the same settings)')
    parser.add_argument('--box', type=int, default=None,
                        help='with --mine: a mined box of this many frame pixels instead of the '
                        "benchmark's (the paper's 227 of a 400 px short side)")
    args = parser.parse_args(argv)
    if args.box is not None and not args.mine:
        parser.error('--box sets the mined box of --mine: add --mine')
    if args.mine:
        import learning_transitive as lt
        mine = None if args.box is None else dict(lt.MINE, box=args.box, box_ref=0)
        lt.build_world_graph(args.world, args.graph_dir, 'main', mine=mine)
    encoders = [tuple(e.split('=', 1)) for e in args.encoder]
    out = measure(args.graph_dir, args.world, encoders)
    if args.results:
        from mmdense.utils.checkpoint import atomic_write_bytes
        res = {}
        if osp.isfile(args.results):
            with open(args.results) as f:
                res = json.load(f)
        res[args.label] = dict(out, graph_dir=args.graph_dir)
        atomic_write_bytes(json.dumps(res, indent=1).encode(), args.results)
    return out


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
