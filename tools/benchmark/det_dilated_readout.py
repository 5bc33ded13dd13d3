"""Does reading a dilated encoder with its own geometry favour a learned encoder? (issue 17; a
benchmark, not a test)

    .venv/bin/python tools/benchmark/det_dilated_readout.py [--seeds 0 1 2]
        [--learning-dir work_dirs/learning] [--out-dir work_dirs/det_dilated]
        [--results tools/benchmark/results/det_dilated_readout.json]

The learning benchmark reads every encoder out for detection as a plain ResNet-18 (standard
strides), so that all its detection rows share one random-init row. The supervised, FlowE and
CACL encoders train dilated (:func:`learning_det.dilated_geometry`, read from their configs:
strides 1, 2, 1, 1, dilations 1, 1, 2, 4, output stride 8). Here, for each seed, two encoders
are read out by the same Faster R-CNN FPN readout (``learning_det.det_readout``: 600
iterations, the run's seed) both ways:

* ``random``: the readout's ResNet-18 at random init (MMDet's initialisation drawn with the seed,
  BN statistics of 256 world frames, computed with the geometry it is read with);
* ``supervised``: the learning benchmark's supervised row of that seed (``learning.py``'s
  checkpoint in ``--learning-dir``; pretrained there when missing).

Geometries (``--geometries``): ``standard`` is the table's readout (the baseline); ``dilated``
reads the encoder with that geometry (``learning_det.dilate``: anchors and RoIs at strides 4,
8, 8, 8, the FPN's extra level at 16; MMDet sizes anchors by stride, so they shrink as
well: 16, 32, 32, 32, 64 px against 16-256 px); ``dilated-standard-anchors`` reads it dilated
with the standard readout's anchor sizes, so only the feature strides change. Prints, for the
bbox mAP and the class-agnostic bbox mAP (in %), mean +- std (over seeds, ``np.std`` as the
learning table) per encoder and geometry, each geometry minus standard for each encoder (the same
seeds, paired), and the supervised row's lead over random init under each geometry. Every number
goes to ``--results`` (a list of ``{"encoder", "geometry", "seed", "det_iters",
"pretrain_iters", "metric", "value"}``), written atomically after every readout; finished
readouts keep their metrics in their folders (named with their iterations) and are not run
again.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import learning  # noqa: E402
import learning_det  # noqa: E402

REPO = learning.REPO
RESULTS = osp.join(REPO, 'tools/benchmark/results/det_dilated_readout.json')
ENCODERS = ('random', 'supervised')
#: geometry -> (dilated, anchor_sizes) of ``learning_det.det_readout``
GEOMETRIES = {'standard': (False, 'stride'), 'dilated': (True, 'stride'),
              'dilated-standard-anchors': (True, 'standard')}
RUN_KEY = ('encoder', 'geometry', 'seed', 'det_iters', 'pretrain_iters')


def readout(encoder, geometry, seed, root, learning_dir, out_dir, iters,
            pretrain_iters=learning.PRETRAIN_ITERS):
    """Records of one readout (run, or read back from its folder)."""
    ckpt = None
    if encoder == 'supervised':
        ckpt = learning.pretrain('supervised', 'main', seed, root, None, learning_dir,
                                 pretrain_iters)
    # the iterations name the folder: a run of another length never reads these metrics back
    work = osp.join(out_dir, f'{encoder}-s{seed}-{geometry}-{iters}it')
    if encoder == 'supervised':
        work += f'-pre{pretrain_iters}it'
    dilated, anchor_sizes = GEOMETRIES[geometry]
    metrics = learning_det.det_readout(root, ckpt, seed, work, iters, log=learning.log,
                                       dilated=dilated, anchor_sizes=anchor_sizes)
    run = dict(zip(RUN_KEY, (encoder, geometry, seed, iters, pretrain_iters)))
    return [dict(run, metric=name, value=value)
            for name, value in learning_det.det_scores(metrics)]


def _values(records, encoder, geometry, metric):
    """{seed: value}"""
    return {r['seed']: r['value'] for r in records if (r['encoder'], r['geometry'],
                                                       r['metric']) == (encoder, geometry, metric)}


def _seeds(by_seed, fmt='.1f'):
    return ', '.join(format(by_seed[s], fmt) for s in sorted(by_seed))


def _ms(vals, sign=''):
    """'mean ± std' (``learning._ms``: the learning table's convention)."""
    vals = list(vals)
    if not vals:
        return 'n/a'
    mean, std = learning._ms(vals)
    return f'{mean:{sign}.1f} ± {std:.1f}'


def report(records):
    """Markdown: scores per encoder and geometry, each geometry minus standard (paired by seed),
    and supervised minus random init per geometry (``records`` of one setting: the same
    iterations)."""
    geos = [g for g in GEOMETRIES if any(r['geometry'] == g for r in records)]
    others = [g for g in geos if g != 'standard']
    lines = []
    for metric in ('bbox_mAP', 'bbox_mAP_agnostic'):
        head = '| encoder | ' + ' | '.join(f'{g} (seeds)' for g in geos)
        head += ''.join(f' | {g} - standard (seeds)' for g in others) + ' |'
        lines += [f'### {metric} (%)', '', head, '|---' * (1 + len(geos) + len(others)) + '|']
        vals = {(e, g): _values(records, e, g, metric) for e in ENCODERS for g in geos}
        for enc in ENCODERS:
            row = [f'{_ms(vals[enc, g].values())} ({_seeds(vals[enc, g])})' for g in geos]
            base = vals[enc, 'standard'] if 'standard' in geos else {}
            for g in others:
                diff = {s: v - base[s] for s, v in vals[enc, g].items() if s in base}
                row.append(f'{_ms(diff.values(), "+")} ({_seeds(diff, "+.1f")})')
            lines.append(f'| {enc} | ' + ' | '.join(row) + ' |')
        lines.append('')
        for g in geos:
            sup, rnd = vals['supervised', g], vals['random', g]
            gap = {s: sup[s] - rnd[s] for s in sup if s in rnd}
            if gap:
                lines.append(f'supervised - random init, {g}: {_ms(gap.values(), "+")} '
                             f'(seeds {_seeds(gap, "+.1f")})')
        lines.append('')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--seeds', nargs='+', type=int, default=list(learning.SEEDS))
    parser.add_argument('--geometries', nargs='+', default=list(GEOMETRIES), choices=GEOMETRIES)
    parser.add_argument('--learning-dir', default=osp.join(REPO, 'work_dirs/learning'),
                        help="learning.py's --out-dir: its world and supervised checkpoints")
    parser.add_argument('--out-dir', default=osp.join(REPO, 'work_dirs/det_dilated'))
    parser.add_argument('--results', default=RESULTS)
    parser.add_argument('--det-iters', type=int, default=learning_det.DET_ITERS)
    parser.add_argument('--pretrain-iters', type=int, default=learning.PRETRAIN_ITERS,
                        help="the supervised row's iterations, when it is pretrained here")
    parser.add_argument('--smoke', action='store_true',
                        help="learning.py's tiny world, 2 iterations of everything (tests)")
    args = parser.parse_args(argv)
    if args.smoke:
        if osp.abspath(args.results) == RESULTS or \
                osp.abspath(args.out_dir) == parser.get_default('out_dir'):
            parser.error('--smoke needs its own --results and --out-dir (its 2-iteration '
                         'figures must not land next to the real ones)')
        args.det_iters = args.pretrain_iters = 2
    args.learning_dir, args.out_dir, args.results = (
        osp.abspath(p) for p in (args.learning_dir, args.out_dir, args.results))
    import mmdense  # noqa: F401
    from mmengine.registry import init_default_scope
    init_default_scope('mmdense')
    world = learning.SMOKE_WORLD if args.smoke else learning.WORLD
    root, _ = learning.make_world(args.learning_dir, world, with_ucm=False)
    todo = [(e, g, s, args.det_iters, args.pretrain_iters)
            for s in args.seeds for e in ENCODERS for g in args.geometries]

    def is_done(records, item):
        return any(tuple(r[k] for k in RUN_KEY) == item for r in records)

    def describe(item, recs):
        enc, geo, seed, _, _ = item
        scores = ', '.join(f"{r['metric']} {r['value']:.1f}" for r in recs)
        return f'{enc} seed {seed} {geo}: {scores}'

    records = learning.run_pending(
        todo, args.results, is_done,
        lambda t: readout(*t[:3], root, args.learning_dir, args.out_dir, *t[3:]), describe)
    # every geometry of these seeds and iterations (the baseline too, when run earlier)
    setting = {(s, args.det_iters, args.pretrain_iters) for s in args.seeds}
    print(report([r for r in records
                  if (r['seed'], r['det_iters'], r['pretrain_iters']) in setting]))
    return records


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli
    run_cli(main)
