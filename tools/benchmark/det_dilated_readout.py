"""Does reading a dilated encoder with its own geometry favour a learned encoder? (issue 17; a
benchmark, not a test)

    .venv/bin/python tools/benchmark/det_dilated_readout.py [--seeds 0 1 2]
        [--learning-dir work_dirs/learning] [--out-dir work_dirs/det_dilated]
        [--results tools/benchmark/results/det_dilated_readout.json]

The learning benchmark reads every encoder out for detection as a plain ResNet-18 (standard
strides), so that all its detection rows share one random-init row. The supervised, FlowE and
CACL encoders train dilated (:data:`learning_det.DILATED`: strides 1, 2, 1, 1, dilations 1, 1, 2,
4, output stride 8). Here, for each seed, two encoders are read out by the same Faster R-CNN FPN
readout (``learning_det.det_readout``: 600 iterations, the run's seed) both ways:

* ``random``: the readout's ResNet-18 at random init (MMDet's initialisation drawn with the seed,
  BN statistics of 256 world frames, computed with the geometry it is read with);
* ``supervised``: the learning benchmark's supervised row of that seed (``learning.py``'s
  checkpoint in ``--learning-dir``; pretrained there when missing).

Geometry ``standard`` is the table's readout (the baseline); ``dilated`` reads the encoder with
:data:`learning_det.DILATED` (anchors and RoIs at strides 4, 8, 8, 8, the FPN's extra level at
16). Prints, for the bbox mAP and the class-agnostic bbox mAP (in %), mean +- std per encoder and
geometry, dilated minus standard for each encoder (the same seeds, paired), and the supervised
row's lead over random init under each geometry. Every number goes to ``--results`` (a list of
``{"encoder", "geometry", "seed", "metric", "value"}``), written atomically after every readout;
finished readouts keep their metrics in their folders and are not run again.
"""
import argparse
import os.path as osp
import sys
import time

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import learning  # noqa: E402
import learning_det  # noqa: E402

REPO = learning.REPO
RESULTS = osp.join(REPO, 'tools/benchmark/results/det_dilated_readout.json')
ENCODERS = ('random', 'supervised')
GEOMETRIES = ('standard', 'dilated')
#: learning_det's metric keys -> this file's metric names (values in %)
METRICS = {'coco/bbox_mAP': 'bbox_mAP', 'coco/bbox_mAP_50': 'bbox_mAP_50',
           'coco_agnostic/bbox_mAP': 'bbox_mAP_agnostic',
           'coco_agnostic/bbox_mAP_50': 'bbox_mAP_agnostic_50'}


def readout(encoder, geometry, seed, root, learning_dir, out_dir, iters,
            pretrain_iters=learning.PRETRAIN_ITERS):
    """Records of one readout (run, or read back from its folder)."""
    ckpt = None
    if encoder == 'supervised':
        ckpt = learning.pretrain('supervised', 'main', seed, root, None, learning_dir,
                                 pretrain_iters)
    work = osp.join(out_dir, f'{encoder}-s{seed}-{geometry}')
    metrics = learning_det.det_readout(root, ckpt, seed, work, iters, log=learning.log,
                                       dilated=geometry == 'dilated')
    return [dict(encoder=encoder, geometry=geometry, seed=seed, metric=name,
                 value=round(100 * metrics[key], 2))
            for key, name in METRICS.items() if key in metrics]


def _values(records, encoder, geometry, metric):
    """{seed: value}"""
    return {r['seed']: r['value'] for r in records if (r['encoder'], r['geometry'],
                                                       r['metric']) == (encoder, geometry, metric)}


def _seeds(by_seed, fmt='.1f'):
    return ', '.join(format(by_seed[s], fmt) for s in sorted(by_seed))


def _ms(vals, sign=''):
    vals = list(vals)
    if not vals:
        return 'n/a'
    return f'{np.mean(vals):{sign}.1f} ± {np.std(vals, ddof=1) if len(vals) > 1 else 0.:.1f}'


def report(records):
    """Markdown: scores per encoder and geometry, dilated minus standard (paired by seed), and
    supervised minus random init per geometry."""
    lines = []
    for metric in ('bbox_mAP', 'bbox_mAP_agnostic'):
        lines += [f'### {metric} (%)', '',
                  '| encoder | standard (seeds) | dilated (seeds) | dilated - standard (seeds) |',
                  '|---|---|---|---|']
        lead = {}
        for enc in ENCODERS:
            std = _values(records, enc, 'standard', metric)
            dil = _values(records, enc, 'dilated', metric)
            both = sorted(set(std) & set(dil))
            diff = [dil[s] - std[s] for s in both]
            lines.append(f'| {enc} | {_ms(std.values())} ({_seeds(std)}) | '
                         f'{_ms(dil.values())} ({_seeds(dil)}) | '
                         f'{_ms(diff, "+")} ({_seeds(dict(zip(both, diff)), "+.1f")}) |')
            lead[enc] = (std, dil)
        for geo, i in (('standard', 0), ('dilated', 1)):
            sup, rnd = lead['supervised'][i], lead['random'][i]
            both = sorted(set(sup) & set(rnd))
            if both:
                gap = [sup[s] - rnd[s] for s in both]
                lines.append(f'\nsupervised - random init, {geo}: {_ms(gap, "+")} '
                             f'(seeds {_seeds(dict(zip(both, gap)), "+.1f")})')
        lines.append('')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--seeds', nargs='+', type=int, default=list(learning.SEEDS))
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
        args.det_iters = args.pretrain_iters = 2
    args.learning_dir, args.out_dir, args.results = (
        osp.abspath(p) for p in (args.learning_dir, args.out_dir, args.results))
    import mmdense  # noqa: F401
    from mmengine.registry import init_default_scope
    init_default_scope('mmdense')
    world = learning.SMOKE_WORLD if args.smoke else learning.WORLD
    root, _ = learning.make_world(args.learning_dir, world, with_ucm=False)
    records = learning.load_results(args.results)
    todo = [(e, g, s) for s in args.seeds for e in ENCODERS for g in GEOMETRIES]
    pending = [t for t in todo if not any((r['encoder'], r['geometry'], r['seed']) == t
                                          for r in records)]
    learning.log(f'{len(todo)} readouts, {len(todo) - len(pending)} already in {args.results}')
    t0 = time.time()
    for i, (enc, geo, seed) in enumerate(pending):
        recs = readout(enc, geo, seed, root, args.learning_dir, args.out_dir, args.det_iters,
                       args.pretrain_iters)
        records = learning.load_results(args.results) + recs
        learning.save_results(args.results, records)
        eta = (time.time() - t0) / (i + 1) * (len(pending) - i - 1)
        scores = ', '.join(f"{r['metric']} {r['value']:.1f}" for r in recs)
        learning.log(f'[{i + 1}/{len(pending)}] {enc} seed {seed} {geo}: {scores}; '
                     f'eta {time.strftime("%H:%M:%S", time.gmtime(eta))}')
    print(report(records))
    return records


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli
    run_cli(main)
