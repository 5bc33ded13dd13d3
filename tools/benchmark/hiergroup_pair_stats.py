"""What HierGroup's sampled pixel pairs hold, for each region-tree source of the learning
benchmark (a measurement of the training signal, on the train frames; no training, no val data).

    python tools/benchmark/hiergroup_pair_stats.py [--work work_dirs/learning] [--frames 60]
        [--repeats 4] [--out tools/benchmark/results/hiergroup_pair_stats.json]

Zhang & Maire (NeurIPS 2020), eqs. 2-3: for every anchor, positives and negatives are sampled
from the regions of a UCM tree with probabilities set by the tree distance. The benchmark trains
HierGroup on these tree sources: ``main`` (UCM of colour-gradient edges), ``object-edges`` (the
diagnostic: UCM of the world's instance outlines plus the colour gradient), ``random-regions``
(the ablation: random trees matched to each UCM's region count and heights), and the
diagnostics ``class-tree`` (the tree of the world's labels, ``learning.class_tree``) and
``class-pairs`` (that tree sampled with ``learning.CLASS_PAIRS_SIGMA``). This script asks what
distinguishes their pairs.

Each source goes through its own training pipeline (``learning.pretrain_config``: ``LoadUCM``,
``RandomUCM`` for random-regions, ``CorrespondingViews``, ``PackUCMInputs``) on ``--frames``
train frames spread over the split, ``--repeats`` draws each, and through HierGroup's own pair
sampler (``HierGroup._labels`` at the 1/4-scale grid, :func:`sample_region_pairs` with the
config's regions, positives, negatives and sigma). Every sampled cell is mapped back to the
frame through its view's affine (label read at view pixel (4r, 4c), as the nearest-neighbour
downsampling does), and compared with the world's class and instance maps. Per source and per
pair kind (``pos``, ``neg``, and ``rand``: uniformly random visible cells, the chance level):

* ``dist_mean`` / ``dist_median``: anchor-to-pixel distance in cells of the frame's stride-4 grid;
* ``same_class`` / ``same_instance`` (background pairs count) / ``same_object`` (objects only);
* ``tree_dist``: mean tree distance; ``same_region``: share in the anchor's own finest region;
* ``other_view``: share read in the second view.

Cross-image negatives are random pixels of other images, the same for every source, and are not
included. The world and its trees must exist (``learning.py`` makes them; the object-edge trees
and class trees come with ``--variants diagnostic``). Writes the figures as JSON to ``--out``
(atomically).
"""
import argparse
import json
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

STRIDE = 4
KINDS = ('pos', 'neg', 'rand')


def tree_roots(work):
    """{source: (pretraining variant, UCM root)} of the benchmark folder ``work``."""
    return {'main': ('main', osp.join(work, 'world_ucm')),
            'object-edges': ('main', osp.join(work, 'world_ucm_object_edges')),
            'random-regions': ('random-regions', osp.join(work, 'world_ucm')),
            'class-tree': ('class-tree', osp.join(work, 'world_ucm_class_tree')),
            'class-pairs': ('class-pairs', osp.join(work, 'world_ucm_class_tree'))}


def _to_frame(affines, view, flat, grid_w, cell):
    """Frame (x, y) of feature-grid cells ``flat`` of views ``view`` (same shape)."""
    import numpy as np
    r, c = np.divmod(np.asarray(flat), grid_w)
    pts = np.stack([c * cell[1], r * cell[0], np.ones(r.shape)], -1)
    out = np.empty(r.shape + (2, ))
    for k, a in enumerate(affines):
        sel = np.asarray(view) == k
        out[sel] = (pts[sel] @ np.linalg.inv(a).T)[..., :2]
    return out


def measure(work, variant, ucm, frames, repeats, seed=0):
    """The figures of one tree source (see the module docstring)."""
    import numpy as np
    import torch

    import learning
    from mmdense.models.algorithms.hiergroup import HierGroup
    from mmdense.models.utils.region_pairs import sample_region_pairs
    from mmdense.registry import DATASETS
    root = osp.join(work, 'world')
    if not osp.isdir(ucm):
        raise FileNotFoundError(f'{ucm} does not exist: run tools/benchmark/learning.py '
                                '--methods hiergroup (--variants diagnostic for object edges)')
    cfg = learning.pretrain_config('hiergroup', variant, seed, root, ucm, '/nonexistent', 300)
    kw = {k: cfg.model[k] for k in ('num_regions', 'num_pos', 'num_neg', 'sigma')}
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    names = learning.read_split_lines(root, 'train_frames')
    picks = np.unique(np.linspace(0, len(names) - 1, frames).round().astype(int))
    np.random.seed(seed)  # the pipeline's randomness, as in a seeded run
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)  # the pair sampler's
    acc = {k: {} for k in KINDS}
    meta = learning.load_world_meta(root)
    height, width = meta['height'], meta['width']

    def look(img, xy):
        x = np.clip(np.round(xy[..., 0]).astype(int), 0, width - 1)
        y = np.clip(np.round(xy[..., 1]).astype(int), 0, height - 1)
        return img[y, x]

    for idx in picks:
        sem = learning.read_world_map(root, 'sem', names[idx])
        inst = learning.read_world_map(root, 'inst', names[idx])
        for _ in range(repeats):
            item = ds[int(idx)]
            s = item['data_samples']
            vh, vw = item['inputs'][0].shape[-2:]
            h, w = vh // STRIDE, vw // STRIDE
            labels = [HierGroup._labels(s, v, (h, w)) for v in range(2)]
            dist = s.ucm_dist.numpy()
            anchors, pos, neg = sample_region_pairs(labels, dist, rng=rng, **kw)
            affines = [s.affine_v1.double().numpy(), s.affine_v2.double().numpy()]
            visible = [(v, f) for v in range(2) for f in np.flatnonzero(labels[v].ravel() != 255)]
            rand = np.array(visible)[rng.integers(0, len(visible), (len(anchors), kw['num_pos']))]
            cell = (vh / h, vw / w)
            a_xy = _to_frame(affines, anchors[:, 0], anchors[:, 1], w, cell)
            a_reg = np.array([labels[v].flat[f] for v, f in anchors])
            for kind, pairs in zip(KINDS, (pos, neg, rand)):
                if pairs is None:
                    continue
                p_xy = _to_frame(affines, pairs[..., 0], pairs[..., 1], w, cell)
                p_reg = np.array([[labels[v].flat[f] for v, f in row] for row in pairs])
                a_inst = look(inst, a_xy)[:, None]
                same_inst = look(inst, p_xy) == a_inst
                figs = dict(dist=np.linalg.norm(p_xy - a_xy[:, None], axis=-1) / STRIDE,
                            same_class=look(sem, p_xy) == look(sem, a_xy)[:, None],
                            same_instance=same_inst, same_object=same_inst & (a_inst > 0),
                            tree_dist=dist[a_reg[:, None], p_reg],
                            same_region=p_reg == a_reg[:, None],
                            other_view=pairs[..., 0] != 0)
                for k, v in figs.items():
                    acc[kind].setdefault(k, []).append(np.ravel(v).astype(np.float64))
    out = dict(images=len(picks) * repeats, sampler=kw,
               grid_diagonal=float(np.hypot(height / STRIDE, width / STRIDE)))
    for kind, figs in acc.items():
        cat = {k: np.concatenate(v) for k, v in figs.items()}
        out[kind] = dict(n=int(cat['dist'].size), dist_mean=float(cat['dist'].mean()),
                         dist_median=float(np.median(cat['dist'])),
                         **{k: float(v.mean()) for k, v in cat.items() if k != 'dist'})
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work', default=osp.join(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))), 'work_dirs', 'learning'), help="learning.py's --out-dir")
    parser.add_argument('--frames', type=int, default=60)
    parser.add_argument('--repeats', type=int, default=4)
    parser.add_argument('--out', default=osp.join(osp.dirname(osp.abspath(__file__)), 'results',
                                                  'hiergroup_pair_stats.json'))
    args = parser.parse_args(argv)
    from mmengine.registry import init_default_scope

    import mmdense  # noqa: F401
    from mmdense.utils.checkpoint import atomic_write_bytes
    init_default_scope('mmdense')
    res, t0 = {}, time.time()
    sources = tree_roots(args.work)
    for i, (name, (variant, ucm)) in enumerate(sources.items()):
        res[name] = measure(args.work, variant, ucm, args.frames, args.repeats)
        eta = (time.time() - t0) / (i + 1) * (len(sources) - i - 1)
        print(f'[{i + 1}/{len(sources)}] {name} done, eta {eta:.0f} s', flush=True)
    print('| source | pairs | dist mean (cells) | same class | same object | tree dist | '
          'in own region |')
    print('|---|---|---|---|---|---|---|')
    for name, r in res.items():
        for kind in KINDS:
            f = r[kind]
            print(f"| {name} | {kind} | {f['dist_mean']:.2f} | {f['same_class']:.3f} | "
                  f"{f['same_object']:.3f} | {f['tree_dist']:.3f} | {f['same_region']:.3f} |")
    atomic_write_bytes(json.dumps(res, indent=1).encode(), args.out)
    print(f'-> {args.out}')


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli
    run_cli(main)
