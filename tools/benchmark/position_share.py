"""What the learning benchmark's frozen features are made of: the share of their variance that
the cell's position in the image explains, against the frame's and the class's shares (a
measurement on the val frames; nothing is fitted).

    python tools/benchmark/position_share.py [--work work_dirs/learning] [--seed 0]
        [--iters 300] [--demo-lr] [--out tools/benchmark/results/position_share.json]

The benchmark's record (``tools/benchmark/README.md``) named a likely cause for the dense
objectives' weak readouts on the demo world: on 64x64 crops (8x8 feature cells), a dense head
can tell a pixel's positive from its negatives by where the pixel lies in the crop, so the
features learn a position code rather than content.
This was measured on VADeR's decoder (first principal component: correlation -0.95 with the
pixel row). This script measures it for every encoder that ``learning.py`` reads out with
``--seed`` (``{work}/runs/{method}-{variant}-s{seed}[-lr3x]/iter_{iters}.pth``, the encoders of
``instance_vs_class.encoders``, random init of each architecture first).

For the features the seg readouts read (``learning.build_encoder``; (N, C, h, w) on the
world's ``readout_val`` frames), four groupings of the N x h x w cells, each scored by the
share of the variance between its groups' means (one-way ANOVA, eta squared, summed over
channels):

* ``position``: the cell's (row, column) in the feature grid (h x w groups of N cells); also
  split into ``row`` (h groups) and ``column`` (w groups), which tell a code of the row (the
  order a horizontal flip keeps) from one of the column;
* ``frame``: the frame it belongs to (N groups of h x w cells): what an image-level (global)
  feature holds;
* ``class``: the class at the cell's centre (the readouts' target; ignore cells left out);
* ``class_residual``: the same, of what position and frame leave (the features minus their
  position means and frame means, plus the overall mean): on this world the classes are not
  spread evenly over the image (the background is most of the border), so ``class`` also counts
  part of the position code. (A one-way split of the residual on the raw class labels: a lower
  bound of the class's partial share given position and frame.)

Each share is given twice: ``raw`` (of the features' total variance, so the high-variance
channels weigh most: what the features are dominated by) and ``per_channel`` (every channel
standardised first, the mean of the channels' shares). With no structure, a grouping's share
is about (groups - 1) / (cells - 1): about 1 / N for ``position``, and 1 / (h x w) for
``frame``. Neighbouring cells are correlated, so these are floors, not baselines: compare an
encoder with random init of its architecture (the first rows). The ``position`` grouping also
counts any content that sits at the same place in every frame (the scene's layout). Prints a
table and writes it as JSON to ``--out`` (atomically).
"""
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))


def between_share(x, groups, floor=None):
    """Share of the variance of ``x`` between the means of ``groups`` (eta squared).

    Args:
        x (ndarray): (M, C) features, one row per cell.
        groups (ndarray): (M, ) group id of each row (non-negative ints).
        floor (ndarray, optional): (C, ) channels whose sum of squares about their mean is not
            above it are left out (default: 1e-12 x the largest channel's).
    Returns:
        tuple[float, float]: ``(raw, per_channel)``: summed over channels (of the total
        variance), and the mean over channels of each channel's share (channels without
        variance left out).
    """
    import numpy as np
    x = np.asarray(x, np.float64)  # no copy when it is float64 already
    mean = x.mean(0)
    total = ((x - mean) ** 2).sum(0)  # (C, )
    _, inv, counts = np.unique(groups, return_inverse=True, return_counts=True)
    sums = np.zeros((len(counts), x.shape[1]))
    np.add.at(sums, inv.reshape(-1), x)
    means = sums / counts[:, None]  # (G, C)
    between = (counts[:, None] * (means - mean) ** 2).sum(0)
    if floor is None:
        floor = 1e-12 * max(float(total.max()), 1e-300)
    live = total > floor
    if not live.any():
        return 0.0, 0.0
    return (float(between[live].sum() / total[live].sum()),
            float((between[live] / total[live]).mean()))


def shares(feats, sem):
    """The ``position``, ``frame``, ``class`` and ``class_residual`` shares of (N, C, h, w)
    features, and the ``row`` and ``column`` shares (the position's two parts: the cell's row,
    h groups, and its column, w groups).

    Args:
        feats (ndarray): (N, C, h, w) features of N frames.
        sem (ndarray): (N, h, w) class at each cell's centre, 255 = ignore.
    Returns:
        dict: ``{grouping: {'raw': float, 'per_channel': float, 'chance': float}}``.
    """
    import numpy as np
    n, c, h, w = feats.shape
    x = feats.transpose(0, 2, 3, 1).reshape(-1, c).astype(np.float64)  # once, for every split
    cell = np.tile(np.arange(h * w), n)
    groups = dict(position=cell, frame=np.repeat(np.arange(n), h * w), row=cell // w,
                  column=cell % w)
    out = {}
    for name, g in groups.items():
        raw, per = between_share(x, g)
        out[name] = dict(raw=raw, per_channel=per, chance=(len(np.unique(g)) - 1) / (len(g) - 1))
    labels = sem.reshape(-1)
    keep = labels != 255
    chance = (len(np.unique(labels[keep])) - 1) / (keep.sum() - 1)
    raw, per = between_share(x[keep], labels[keep])
    out['class'] = dict(raw=raw, per_channel=per, chance=chance)
    # the class within what position and frame leave: x - position mean - frame mean + mean
    # (additive two-way residual), so that classes placed unevenly over the image or the
    # frames do not count
    x = x.reshape(n, h * w, c)
    resid = x - x.mean(0, keepdims=True) - x.mean(1, keepdims=True) + x.mean((0, 1))
    resid = resid.reshape(-1, c)[keep]
    kept = x.reshape(-1, c)[keep]
    floor = 1e-9 * ((kept - kept.mean(0)) ** 2).sum(0)  # nothing left of a channel: out
    raw, per = between_share(resid, labels[keep], floor)
    out['class_residual'] = dict(raw=raw, per_channel=per, chance=chance)
    return out


def measure(work, seed, iters, log=print, lr_scales=None):
    """One row per encoder of ``instance_vs_class.encoders`` (``lr_scales``: its): its
    shares."""
    import learning as lb
    from instance_vs_class import cell_labels, encoders
    root = osp.join(work, 'world')
    imgs, sem = lb.read_split(root, 'readout_val')  # sem: (N, H, W) uint8
    rows, todo, t0 = [], encoders(work, seed, iters, lr_scales), time.time()
    for k, (method, variant, arch, ckpt) in enumerate(todo):
        enc = lb.build_encoder(arch, ckpt, seed)
        feats = enc.features(imgs, batch_size=16).numpy()
        row = dict(method=method, variant=variant, arch=arch, seed=seed,
                   checkpoint=ckpt and osp.relpath(ckpt, work), grid=list(feats.shape[2:]),
                   frames=len(feats),
                   shares=shares(feats, cell_labels(sem, feats.shape[2:])))
        rows.append(row)
        eta = (time.time() - t0) / (k + 1) * (len(todo) - k - 1)
        s = row['shares']
        log(f'[{k + 1}/{len(todo)}] {method}/{variant} @{arch}: position '
            f"{s['position']['raw']:.3f}, frame {s['frame']['raw']:.3f}, class "
            f"{s['class']['raw']:.3f}, class residual {s['class_residual']['raw']:.3f} "
            f'(raw shares); eta {eta:.0f} s')
    return rows


def table(rows):
    """Markdown: every encoder's shares, raw (per channel), in percent."""
    keys = ('position', 'row', 'column', 'frame', 'class', 'class_residual')
    lines = ['| method | variant | features | position % | row % | column % | frame % | class % | '
             'class, residual % |', '|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        cells = [f"{100 * r['shares'][k]['raw']:.1f} ({100 * r['shares'][k]['per_channel']:.1f})"
                 if k in r['shares'] else '' for k in keys]  # (row, column: since 1fa17c0)
        lines.append(f"| {r['method']} | {r['variant']} | {r['arch']} | " + ' | '.join(cells)
                     + ' |')
    if rows:
        s = rows[0]['shares']
        lines.append(f"\nraw share (mean of the channels' shares); with no structure about "
                     f"{100 * s['position']['chance']:.1f} / {100 * s['frame']['chance']:.1f} / "
                     f"{100 * s['class']['chance']:.2f} % on the first row's grid")
    return '\n'.join(lines)


def main(argv=None):
    from instance_vs_class import probe_main
    probe_main(argv, __doc__, 'position_share.json', measure, table)


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli
    run_cli(main)
