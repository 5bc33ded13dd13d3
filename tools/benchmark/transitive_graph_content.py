"""What a transitive-invariance graph of the demo world shows, measured against the world's
instance and class maps (issue 17: Transitive's rows stay at random init's level).

    .venv/bin/python tools/benchmark/transitive_graph_content.py GRAPH_DIR WORLD --label since \
        [--encoder NAME=CONFIG,CHECKPOINT ...] [--results tools/benchmark/results/X.json]

GRAPH_DIR is a ``build_world_graph`` folder (``graph.json`` and ``mined/``), WORLD the demo world
it was mined from. For the mined patches: the foreground share of the box, the objects with at
least half their visible pixels inside, the share of patches with exactly one; for the tracks:
how many end boxes hold at least half of the start patch's main object (the instance with the
most pixels in the box); for the inter-instance edges: how many join one clip; for every pair
kind: how often two patches of different clips show main objects of one shape class, against
two patches drawn at random. Then the mined patches are clustered again, as the benchmark does
(``cluster_nodes`` with :data:`learning_transitive.CLUSTER`, patches of different clips), with
HOG (the benchmark's feature) and each ``--encoder``'s pooled last stage (``random``: random
init), and the same class agreement is measured on the edges that gives. Figures are appended to
``--results`` under ``--label`` (atomically).
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
    c = {k: content(world, n) for k, n in nodes.items()}
    starts = sorted(k for k, n in nodes.items() if 'track_of' not in n)
    cls = np.array([c[k]['cls'] for k in starts])
    chance = float(sum(np.mean(cls == v)**2 for v in np.unique(cls)))
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
    out['reclustered'] = recluster(world, nodes, starts, cls, encoders, lt)
    log(json.dumps(out, indent=1))
    return out


def recluster(world, nodes, starts, cls, encoders, lt):
    """Class agreement of the inter edges that ``cluster_nodes`` makes from each feature."""
    import cv2
    from mmdense.datasets.transitive import cluster_nodes, hog_features
    paths = [nodes[k]['path'] for k in starts]
    feats = {'hog': hog_features(paths)}
    if encoders:
        import torch
        from mmdense.evaluation import DenseEncoder
        patches = [cv2.resize(cv2.imread(p), (lt.PATCH, lt.PATCH), interpolation=cv2.INTER_AREA)
                   for p in paths]
        for name, spec in encoders:
            torch.manual_seed(0)
            enc = DenseEncoder(lt.make_config(), None, use_neck=False) if spec == 'random' \
                else DenseEncoder(*spec.split(','), use_neck=False)
            feats[name] = enc.features(patches, 32).mean((2, 3)).numpy()
    num_parents = lt.num_parent_clusters(lt._train_sources(world))  # as build_world_graph
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
    args = parser.parse_args(argv)
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
