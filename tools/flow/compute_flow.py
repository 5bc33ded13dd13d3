"""Precompute forward / backward optical flow for every frame pair of a video dataset.

    python tools/flow/compute_flow.py DATA_ROOT OUT_DIR --interval-seconds 0.5 \
        [--method dis_medium|dis_fast|dis_ultrafast|farneback|raft:/path/weights.pth] \
        [--format flo|png] [--workers 8] [--step 1] [--shots-file shots.json] [--force]

Resumable (rerun to complete an interrupted cache), parallel, with a progress bar. The cache is
read by ``LoadFlow(flow_root=OUT_DIR)`` with its default template; ``OUT_DIR/flow_index.json``
lists the pairs it holds, and ``FramePairDataset(flow_cache=OUT_DIR)`` draws only those (so a
``--step N`` cache trains). See :mod:`mmdense.datasets.flow_cache`. The paper configs need no
cache: they run a frozen RAFT in the train step (``model.flow_net``).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('data_root')
    parser.add_argument('out_dir')
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument('--interval-frames', type=int)
    group.add_argument('--interval-seconds', type=float)
    parser.add_argument('--fps', type=float, default=0.0, help='frame rate of frame folders')
    parser.add_argument('--sources', help='text file listing the sources to process')
    parser.add_argument('--shots-file')
    parser.add_argument('--group-pattern', help='regex splitting frame folders into sequences')
    parser.add_argument('--index-file', help='json cache of video headers')
    parser.add_argument('--method', default='dis_medium')
    parser.add_argument('--format', choices=['flo', 'png'], default='flo')
    parser.add_argument('--step', type=int, default=1, help='keep every STEP-th start frame')
    parser.add_argument('--workers', type=int, default=0)
    parser.add_argument('--force', action='store_true', help='recompute existing files')
    args = parser.parse_args(argv)
    from mmdense.datasets.flow_cache import compute_flow_cache
    from mmdense.utils.launch import report_failed
    summary = compute_flow_cache(
        args.data_root, args.out_dir, interval_frames=args.interval_frames,
        interval_seconds=args.interval_seconds, fps=args.fps, sources=args.sources,
        shots_file=args.shots_file, group_pattern=args.group_pattern,
        index_file=args.index_file, method=args.method, fmt=args.format, step=args.step,
        workers=args.workers, force=args.force)
    print(f"{summary['pairs']} pairs: {summary['computed']} computed, "
          f"{summary['skipped']} already cached, in {summary['out_dir']}")
    print(f"{summary['indexed']} pairs listed in {summary['out_dir']}/flow_index.json "
          "(train with FramePairDataset(flow_cache=OUT_DIR) to draw only those)")
    report_failed(summary.get('failed', []), 'input',
                  'their pairs are left out of the cache')
    return summary


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
