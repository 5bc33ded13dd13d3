"""Do two results files of the learning benchmark agree? (a reproduction check)

    python tools/benchmark/compare_results.py REFERENCE NEW [--rtol 1e-6] [--out FILE]

Both files are ``learning.py`` results (a list of ``{"method", "variant", "seed", "readout",
"metric", "value"}``). Every record of NEW is looked up in REFERENCE by its key (all fields but
``value``) and counted as ``identical`` (the same float), ``close`` (within ``--rtol`` relative),
``different``, ``missing``, or ``new_metric`` (REFERENCE has the run and readout, but not this
metric of it: a figure added after that run was written, e.g. ``bbox_mAP_agnostic``; listed, not
a failure).

Typical use: rerun part of the table at the current commit into a fresh folder, e.g.
``learning.py --seeds 0 --out-dir work_dirs/learning-repro --results
work_dirs/learning-repro/learning.json``, and compare it with the committed table.

Prints the counts and every record that is neither identical nor close; writes them as JSON to
``--out`` (atomically) when given. Exits with status 1 when a record differs or is missing.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

KEY = ('method', 'variant', 'seed', 'readout', 'metric')


def _load(path):
    try:
        with open(path) as f:
            records = json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit(f'{path}: not a readable results file of learning.py ({e})')
    if not isinstance(records, list) or not all(
            isinstance(r, dict) and set(KEY) | {'value'} <= set(r) for r in records):
        raise SystemExit(f'{path}: expected a list of {{{", ".join(KEY)}, value}} records, '
                         'as tools/benchmark/learning.py writes')
    return records


def compare(reference, new, rtol=1e-6):
    """{'identical', 'close', 'different', 'missing', 'new_metric'} counts and the rows that
    are neither identical nor close."""
    ref = {tuple(r[k] for k in KEY): r['value'] for r in reference}
    runs = {tuple(r[k] for k in KEY[:-1]) for r in reference}  # (method, ..., readout)
    counts = dict(identical=0, close=0, different=0, missing=0, new_metric=0)
    rows = []
    for r in new:
        key = tuple(r[k] for k in KEY)
        if key not in ref:
            kind = 'new_metric' if key[:-1] in runs else 'missing'
        elif ref[key] == r['value']:
            kind = 'identical'
        elif abs(ref[key] - r['value']) <= rtol * max(abs(ref[key]), abs(r['value'])):
            kind = 'close'
        else:
            kind = 'different'
        counts[kind] += 1
        if kind in ('different', 'missing', 'new_metric'):
            rows.append(dict(zip(KEY, key), kind=kind, value=r['value'], reference=ref.get(key)))
    return counts, rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('reference')
    parser.add_argument('new')
    parser.add_argument('--rtol', type=float, default=1e-6)
    parser.add_argument('--out')
    args = parser.parse_args(argv)
    counts, rows = compare(_load(args.reference), _load(args.new), args.rtol)
    print(f'{sum(counts.values())} records of {args.new} against {args.reference}: ' +
          ', '.join(f'{v} {k}' for k, v in counts.items()) + f' (rtol {args.rtol:g})')
    for r in rows:
        print(f"  {r['kind']}: {r['method']}/{r['variant']} seed {r['seed']} {r['readout']} "
              f"{r['metric']}: {r['value']} (reference {r['reference']})")
    if args.out:
        from mmdense.utils.checkpoint import atomic_write_bytes
        atomic_write_bytes(json.dumps(dict(reference=args.reference, new=args.new,
                                           rtol=args.rtol, counts=counts, rows=rows),
                                      indent=1).encode(), args.out)
    return 1 if counts['different'] or counts['missing'] else 0


if __name__ == '__main__':
    sys.exit(main())
