"""Score a checkpoint's frozen backbone with the dense linear probe on an MMSeg dataset.

    python tools/analysis_tools/dense_probe.py CONFIG [CHECKPOINT] [--data-root data/demo_world]
        [--compare-random] [--out probe.json]

CONFIG is the pretraining config (its ``model.backbone`` and data preprocessor are used);
without CHECKPOINT the backbone keeps its (random) initialisation. The probe fits a linear
per-pixel classifier on the train split and reports MMSeg mIoU on the val split (see
:mod:`mmdense.evaluation.dense_probe`). With ``--compare-random`` it also scores the same
architecture at random init, in the same run, and prints both.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?')
    parser.add_argument('--data-root', default='data/demo_world')
    parser.add_argument('--dataset', default='DemoWorldSegDataset',
                        help='an MMSeg dataset type with train/val split files')
    parser.add_argument('--train-split', default='splits/train.txt')
    parser.add_argument('--val-split', default='splits/val.txt')
    parser.add_argument('--out-index', type=int, default=-1)
    parser.add_argument('--compare-random', action='store_true')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='write the metrics as json')
    args = parser.parse_args(argv)

    import mmdense  # noqa: F401
    from mmdense.evaluation.probe_runner import run_dense_probe
    results = run_dense_probe(args.config, args.checkpoint, args.data_root, args.dataset,
                              args.train_split, args.val_split, args.out_index,
                              args.compare_random, args.seed)
    for name, res in results.items():
        print(f'dense linear probe [{name}]: mIoU {res["mIoU"]:.2f}  aAcc {res["aAcc"]:.2f}')
    if args.out:
        # a class absent from both the labels and the predictions has no IoU (NaN): null
        clean = {name: dict(res, IoU=[None if v != v else v for v in res['IoU']])
                 for name, res in results.items()}
        with open(args.out, 'w') as f:
            json.dump(clean, f, indent=1)
    return results


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
