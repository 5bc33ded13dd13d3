"""Transitive-invariance graph construction speed on the offline sample videos: patches mined
(and tracked) per second, and the whole graph build time (mining, KCF tracking, HOG features,
clustering, transitivity), in one run.

    .venv/bin/python tools/benchmark/transitive_graph.py [--step 5] [--track-frames 15] \
        [--workers 2] [--track-scale 1.0]
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--step', type=int, default=5)
    parser.add_argument('--track-frames', type=int, default=15)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--track-scale', type=float, default=1.0,
                        help='track on frames resized by this factor (the 227x227 patch is still '
                             'cut from the full frame)')
    args = parser.parse_args(argv)
    from mmdense.datasets import sample_video_path
    from mmdense.datasets.transitive import build_graph
    with tempfile.TemporaryDirectory() as tmp:
        root = osp.join(tmp, 'videos')
        os.makedirs(root)
        for name in ('bikes', 'carphone'):
            os.symlink(sample_video_path(name), osp.join(root, name + '.mp4'))
        t0 = time.perf_counter()
        summary = build_graph(root, osp.join(tmp, 'graph'), features='hog',
                              track_frames=args.track_frames, num_parents=3, min_parent=4,
                              knn=6, workers=args.workers,
                              mine_kw=dict(step=args.step, track_scale=args.track_scale),
                              cross_video=False)  # two videos: cliques of 4 share them
        sec = time.perf_counter() - t0
    print(f"graph of the sample videos: {summary['nodes']} patches "
          f"({summary['intra_edges']} tracked), {summary['inter_edges']} inter edges, "
          f"pairs {summary['pairs']}")
    print(f"build time {sec:.1f} s, {summary['nodes'] / sec:.2f} patches/s "
          f'({args.workers} workers)')
    return summary


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
