"""What the learning benchmark's frozen encoders tell apart: object instances or shape classes
(a measurement on the readout frames; only a per-channel weighting is fitted).

    python tools/benchmark/instance_vs_class.py [--work work_dirs/learning] [--seed 0]
        [--iters 300] [--demo-lr] [--out tools/benchmark/results/instance_vs_class.json]

The benchmark world (``mmdense.datasets.demo_world``, version 2) makes the class the *shape*:
every object's texture is a random crop of a photo from one pool shared by every class and the
background, with a random tint. The dense objectives make the features of one scene point
agree across views or frames (FlowE, CACL, VADeR) or group the pixels of one region (HierGroup).
On this world, the features that do that can be the object's own texture, which says nothing of
its class. This script measures both abilities of every encoder the benchmark trained with
``--seed`` (``{work}/runs/{method}-{variant}-s{seed}/iter_{iters}.pth``, with the folder's
``-lr3x`` tag of ``learning.TABLE_LR_SCALES``, or none with ``--demo-lr``) and of random init of
each architecture (the same init as the table's random rows):

* **instance**: pairs of object cells of one frame, the same object (positive) or two objects
  of the same shape class (negative), so that the class tells nothing. Every (frame, exact
  distance in grid cells) stratum holds as many of each, so that neither the distance nor the
  frame tells anything;
* **class**: pairs of object cells of frames of *different clips* (so never one object), same
  shape class or not, as many of each.

Each is scored by two AUCs on the val frames' pairs: ``cosine`` (the features' cosine
similarity, no training) and ``learned`` (a weighted cosine: logistic regression on the pair's
elementwise product of unit features, one weight per channel, fitted on the train frames'
pairs). The readouts' own question, the class of a pixel, is scored by ``learning.py``; this
asks whether an encoder that does not help it has learned to tell objects apart instead.
A ``position only`` row per feature grid gives the AUC that the pairs' geometry alone reaches
(where the two cells lie, :func:`position_auc`): what is left of position in the pairs.
Compare encoders of one architecture (the ``vs random`` columns): grids differ in stride, and
each grid has its own pairs.

Features are the encoder's that the seg readouts read (``learning.build_encoder``, standardised
with the train frames' statistics by ``learning.standardise``; not whitened, as the seg heads'
input is since commit 1c9902a, so that the plain cosine keeps its meaning); a cell's label is
the frame's label at the cell's centre (nearest neighbour). The pairs are drawn once per
feature grid with ``--seed``, so every encoder of a grid is scored on the same pairs. Prints a
table and writes it as JSON to ``--out`` (atomically).
"""
import argparse
import glob
import json
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

#: pairs of each kind (same / different) per split, at most
MAX_PAIRS = 20000


def cell_labels(maps, grid):
    """Labels at the centres of a ``grid`` = (h, w) feature grid: (N, h, w) of (N, H, W)."""
    import numpy as np
    n, height, width = maps.shape
    rows = ((np.arange(grid[0]) + 0.5) * height / grid[0]).astype(int)
    cols = ((np.arange(grid[1]) + 0.5) * width / grid[1]).astype(int)
    return maps[:, rows][:, :, cols]


def instance_pairs(inst, sem, rng, max_pairs=MAX_PAIRS):
    """Pairs of object cells of one frame: the same object (1), or two objects of the same
    shape class (0), so that the class tells nothing. Every (frame, exact distance) stratum
    holds as many of each, so that neither the distance nor the frame tells anything.

    Args:
        inst (ndarray): (N, h, w) instance ids per cell, 0 = background.
        sem (ndarray): (N, h, w) class per cell.
    Returns: (a, b, same): flat cell indices into (N * h * w) and the labels.
    """
    import numpy as np
    n, h, w = inst.shape
    rr, cc = np.divmod(np.arange(h * w), w)
    pos, neg = [], []
    for i in range(n):
        ids, cls = inst[i].reshape(-1), sem[i].reshape(-1)
        cells = np.flatnonzero(ids > 0)
        a, b = np.triu_indices(len(cells), 1)
        a, b = cells[a], cells[b]
        same = ids[a] == ids[b]
        other = ~same & (cls[a] == cls[b])
        d2 = (rr[a] - rr[b]) ** 2 + (cc[a] - cc[b]) ** 2
        for d in np.intersect1d(d2[same], d2[other]):
            p = np.flatnonzero(same & (d2 == d))
            q = np.flatnonzero(other & (d2 == d))
            k = min(len(p), len(q))
            pos.append(np.stack([a[p], b[p]], 1)[rng.permutation(len(p))[:k]] + i * h * w)
            neg.append(np.stack([a[q], b[q]], 1)[rng.permutation(len(q))[:k]] + i * h * w)
    if not pos:
        empty = np.zeros(0, int)
        return empty, empty, empty
    pos, neg = np.concatenate(pos), np.concatenate(neg)
    keep = rng.permutation(len(pos))[:max_pairs]  # the same strata for both kinds
    pairs = np.concatenate([pos[keep], neg[keep]])
    return pairs[:, 0], pairs[:, 1], np.r_[np.ones(len(keep), int), np.zeros(len(keep), int)]


def class_pairs(sem, clips, rng, max_pairs=MAX_PAIRS):
    """Pairs of object cells of frames of *different clips* (never one object), same shape class
    (1) or not (0), as many of each.

    Args:
        sem (ndarray): (N, h, w) class per cell, 0 = background, 255 = ignore.
        clips (list[str]): the clip of each frame.
    """
    import numpy as np
    n, h, w = sem.shape
    cls = sem.reshape(-1)
    clip = np.repeat(np.asarray(clips), h * w)
    cells = np.flatnonzero((cls > 0) & (cls != 255))
    a = rng.choice(cells, 8 * max_pairs)
    b = rng.choice(cells, 8 * max_pairs)
    ok = clip[a] != clip[b]
    a, b = a[ok], b[ok]
    same = cls[a] == cls[b]
    k = min(max_pairs, same.sum(), (~same).sum())
    pick = np.r_[np.flatnonzero(same)[:k], np.flatnonzero(~same)[:k]]
    return a[pick], b[pick], same[pick].astype(int)


def _unit_cells(feats):
    """(N * h * w, C) L2-normalised cell features of (N, C, h, w) ``feats``."""
    import numpy as np
    flat = feats.transpose(0, 2, 3, 1).reshape(-1, feats.shape[1]).astype(np.float64)
    return flat / np.linalg.norm(flat, axis=1, keepdims=True).clip(1e-6)


def _geometry(a, b, grid):
    """Where a pair's two cells lie (no features): per pair, the sum and the absolute
    difference of the two cells' row, column, distance to the grid's centre and to its border
    (in grid sizes), so that the order of the two cells does not matter."""
    import numpy as np
    h, w = grid
    out = []
    for cells in (a, b):
        r, c = np.divmod(cells % (h * w), w)
        r, c = (r + 0.5) / h, (c + 0.5) / w
        out.append(np.stack([r, c, np.hypot(r - 0.5, c - 0.5),
                             np.minimum.reduce([r, c, 1 - r, 1 - c])], 1))
    return np.concatenate([out[0] + out[1], np.abs(out[0] - out[1])], 1)


def _both_kinds(*labels):
    """Whether every label array holds both kinds of pair (a tiny world may lack one)."""
    import numpy as np
    return all(len(np.unique(y)) == 2 for y in labels)


def position_auc(train, val, grid):
    """The AUC that the pairs' geometry alone reaches (:func:`_geometry`, a gradient-boosted
    classifier fitted on the train pairs): how much position still tells of the label.

    Args:
        train, val: ``(a, b, same)`` pairs of a ``grid`` = (h, w) feature grid.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    (atr, btr, ytr), (ava, bva, yva) = train, val
    if not _both_kinds(ytr, yva):
        return None
    clf = HistGradientBoostingClassifier(random_state=0).fit(_geometry(atr, btr, grid), ytr)
    return float(roc_auc_score(yva, clf.predict_proba(_geometry(ava, bva, grid))[:, 1]))


def pair_aucs(train, val):
    """Two AUCs of telling ``same`` pairs from the others on the val pairs:

    * ``cosine``: by the features' cosine similarity (no training);
    * ``learned``: by a weighted cosine, a logistic regression on the pair's elementwise
      product of unit features (one weight per channel), fitted on the train pairs.

    Args:
        train, val: ``(features (N, C, h, w), (a, b, same))``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    (ftr, (atr, btr, ytr)), (fva, (ava, bva, yva)) = train, val
    if not _both_kinds(ytr, yva):
        return dict(cosine=None, learned=None)
    utr, uva = _unit_cells(ftr), _unit_cells(fva)
    xtr, xva = utr[atr] * utr[btr], uva[ava] * uva[bva]
    clf = LogisticRegression(max_iter=2000).fit(xtr * xtr.shape[1], ytr)
    return dict(cosine=float(roc_auc_score(yva, xva.sum(1))),
                learned=float(roc_auc_score(yva, clf.decision_function(xva * xva.shape[1]))))


def encoders(work, seed, iters, lr_scales=None):
    """[(method, variant, arch, checkpoint or None)] of the benchmark folder ``work``: random
    init of each architecture, then every run of ``seed`` with a seg readout whose checkpoint
    of ``iters`` iterations is there (the one ``learning.py`` reads out), pretrained at
    ``lr_scales`` (``learning.py``'s; default its ``TABLE_LR_SCALES``, ``{}``: every demo lr)."""
    import learning as lb
    lr_scales = lb.TABLE_LR_SCALES if lr_scales is None else lr_scales
    out = [('random', 'main', arch, None) for arch in lb.ARCH_CONFIG]
    for (method, variant), (_, _, arch) in lb.RUNS.items():
        if arch not in lb.ARCH_CONFIG:
            continue  # Transitive's object-patch encoder has no dense readout
        run, _ = lb.pretrain_dir(work, method, variant, seed,
                                 lr_scale=lr_scales.get(method, 1.0))
        if (method, variant) == ('vader', 'moco-only'):
            ckpts = glob.glob(osp.join(lb.mocov2_dir(work, seed), 'moco_only.pth'))
        else:
            ckpts = glob.glob(osp.join(run, f'iter_{iters}.pth'))
        if ckpts:
            out.append((method, variant, arch, ckpts[-1]))
    return out


def _split(root, split):
    """(BGR frames, class maps, instance maps, clip names) of a split file of the world."""
    import numpy as np
    import learning as lb
    names = lb.read_split_lines(root, split)
    imgs, sem = lb.read_split(root, split)  # MMSeg's dataset, in the split file's order
    if len(imgs) != len(names):
        raise RuntimeError(f'{root}/splits/{split}.txt lists {len(names)} frames, the dataset '
                           f'read {len(imgs)}: regenerate the world')
    inst = [lb.read_world_map(root, 'inst', name) for name in names]
    return imgs, sem, np.stack(inst), [n.split('/')[0] for n in names]


def measure(work, seed, iters, log=print, lr_scales=None):
    """One row per encoder of :func:`encoders` (``lr_scales``: its): its instance and class
    pair AUCs."""
    import numpy as np
    import learning as lb
    root = osp.join(work, 'world')
    splits = [_split(root, s) for s in ('readout_train', 'readout_val')]
    rows, pairs, todo, t0 = [], {}, encoders(work, seed, iters, lr_scales), time.time()
    for k, (method, variant, arch, ckpt) in enumerate(todo):
        enc = lb.build_encoder(arch, ckpt, seed)
        feats = [f.numpy() for f in lb.standardise(
            *[enc.features(imgs, batch_size=16) for imgs, *_ in splits])]
        grid = feats[0].shape[2:]
        new_grid = grid not in pairs
        if new_grid:  # the same pairs for every encoder of a grid
            rng = np.random.default_rng(seed)
            pairs[grid] = [(instance_pairs(cell_labels(inst, grid), cell_labels(sem, grid),
                                           rng),
                            class_pairs(cell_labels(sem, grid), clips, rng))
                           for _, sem, inst, clips in splits]
        (inst_tr, cls_tr), (inst_va, cls_va) = pairs[grid]
        if new_grid:
            rows.append(dict(method='position only', variant='', arch=f'grid {grid[0]}x{grid[1]}',
                             seed=seed, checkpoint=None,
                             instance=dict(learned=position_auc(inst_tr, inst_va, grid),
                                           cosine=None),
                             shape_class=dict(learned=position_auc(cls_tr, cls_va, grid),
                                              cosine=None)))
        row = dict(method=method, variant=variant, arch=arch, seed=seed,
                   checkpoint=ckpt and osp.relpath(ckpt, work),
                   instance=pair_aucs((feats[0], inst_tr), (feats[1], inst_va)),
                   shape_class=pair_aucs((feats[0], cls_tr), (feats[1], cls_va)),
                   pairs=dict(instance=[len(inst_tr[2]), len(inst_va[2])],
                              shape_class=[len(cls_tr[2]), len(cls_va[2])]))
        rows.append(row)
        eta = (time.time() - t0) / (k + 1) * (len(todo) - k - 1)
        log(f"[{k + 1}/{len(todo)}] {method}/{variant} @{arch}: instance "
            f"{_fmt(row['instance']['learned'])}, class {_fmt(row['shape_class']['learned'])} "
            f'(learned-metric AUCs); eta {eta:.0f} s')
    return rows


def _fmt(auc):
    return 'n/a' if auc is None else f'{auc:.3f}'


def table(rows):
    """Markdown: every encoder's AUCs, and the learned ones' gains over random init."""
    base = {r['arch']: r for r in rows if r['method'] == 'random'}
    lines = ['| method | variant | features | instance AUC, learned (cosine) | vs random | '
             'class AUC, learned (cosine) | vs random |', '|---|---|---|---|---|---|---|']
    for r in rows:
        b = base.get(r['arch'], r)
        cells = []
        for key in ('instance', 'shape_class'):
            ours, ref = r[key]['learned'], b[key]['learned']
            gain = '' if r is b or ours is None or ref is None else f'{ours - ref:+.3f}'
            cells += [f"{_fmt(ours)} ({_fmt(r[key]['cosine'])})", gain]
        lines.append(f"| {r['method']} | {r['variant']} | {r['arch']} | " + ' | '.join(cells) +
                     ' |')
    return '\n'.join(lines)


def probe_main(argv, doc, out_name, measure, table, **extra):
    """The command line of a measurement on the benchmark's seed encoders (this script's and
    ``position_share.py``'s): ``--work``, ``--seed``, ``--iters``, ``--demo-lr``, ``--out``;
    runs ``measure(work, seed, iters, lr_scales=...)``, prints ``table(rows)`` and writes
    ``{work, seed, iters, lr_scales, **extra, rows}`` to ``--out`` (default
    ``results/{out_name}``) atomically."""
    here = osp.dirname(osp.abspath(__file__))
    repo = osp.dirname(osp.dirname(here))
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work', default=osp.join(repo, 'work_dirs/learning'),
                        help='a learning.py --out-dir with its world and runs')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--iters', type=int, default=None,
                        help='the runs\' pretraining iterations (default: learning.py\'s)')
    parser.add_argument('--demo-lr', action='store_true',
                        help="the runs learning.py --demo-lr made (every method at its demo "
                        "config's lr); default: the table's TABLE_LR_SCALES")
    parser.add_argument('--out', default=osp.join(here, 'results', out_name))
    args = parser.parse_args(argv)
    if not osp.isdir(osp.join(args.work, 'world')):
        raise FileNotFoundError(f'{args.work}/world does not exist: run tools/benchmark/'
                                f'learning.py --out-dir {args.work} first')
    import mmdense  # noqa: F401
    from mmengine.registry import init_default_scope
    init_default_scope('mmdense')
    import learning
    if args.iters is None:
        args.iters = learning.PRETRAIN_ITERS
    lr_scales = {} if args.demo_lr else learning.TABLE_LR_SCALES
    rows = measure(args.work, args.seed, args.iters, lr_scales=lr_scales)
    print(table(rows))
    from mmdense.utils.checkpoint import atomic_write_bytes
    atomic_write_bytes(json.dumps(dict(work=args.work, seed=args.seed, iters=args.iters,
                                       lr_scales=lr_scales, **extra, rows=rows),
                                  indent=1).encode(), args.out)


def main(argv=None):
    probe_main(argv, __doc__, 'instance_vs_class.json', measure, table, max_pairs=MAX_PAIRS)


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli
    run_cli(main)
