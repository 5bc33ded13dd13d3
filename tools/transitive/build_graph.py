"""Build the transitive-invariance graph from a folder of videos (Wang et al. 2017, sec. 4).

    python tools/transitive/build_graph.py VIDEO_ROOT OUT_DIR [--features hog | CONFIG]
        [--checkpoint CKPT] [--track-frames 30] [--num-parents 5000] [--min-parent 100]
        [--knn 10] [--group 4] [--pairs transitive intra] [--step 10] [--workers 8]

1. mines moving-object patches (96x96) from every video, 2. tracks each with KCF for
``--track-frames`` frames (intra-instance edges), 3. clusters the mined patches with the given
features (HOG, or a pretraining CONFIG + CHECKPOINT whose encoder output is average-pooled;
the paper uses a context-prediction VGG16) into k-means parents and 4-sample child cliques
(inter-instance edges), 4. applies transitivity. Per-video mining / tracking is cached in
OUT_DIR/mined (a rerun resumes), runs in ``--workers`` processes, shows progress, and writes
OUT_DIR/graph.json (atomically) with a summary: nodes, edges of each type, pairs.
``--pairs intra`` is the "tracking only" ablation, ``--pairs inter`` "clustering only".
"""
import argparse
import json
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('video_root')
    parser.add_argument('out_dir')
    parser.add_argument('--features', default='hog', help="'hog' or a pretraining config")
    parser.add_argument('--checkpoint', default=None)
    parser.add_argument('--track-frames', type=int, default=30)
    parser.add_argument('--num-parents', type=int, default=5000)
    parser.add_argument('--min-parent', type=int, default=100)
    parser.add_argument('--knn', type=int, default=10)
    parser.add_argument('--group', type=int, default=4)
    parser.add_argument('--pairs', nargs='+', default=['transitive', 'intra'],
                        choices=['transitive', 'intra', 'inter'])
    parser.add_argument('--step', type=int, default=10, help='frames between mined candidates')
    parser.add_argument('--min-moving', type=float, default=0.02)
    parser.add_argument('--max-moving', type=float, default=0.5)
    parser.add_argument('--workers', type=int, default=0)
    args = parser.parse_args(argv)
    from mmdense.datasets.transitive import build_graph
    encoder = None
    if args.features != 'hog':
        from mmdense.evaluation import DenseEncoder
        enc = DenseEncoder(args.features, args.checkpoint)
        encoder = lambda patches: enc.features(patches).mean((2, 3)).numpy()  # noqa: E731
    t0 = time.perf_counter()
    try:
        summary = build_graph(
            args.video_root, args.out_dir, 'hog' if args.features == 'hog' else 'encoder',
            encoder, args.track_frames, args.num_parents, args.min_parent, args.knn, args.group,
            tuple(args.pairs), args.workers,
            dict(step=args.step, min_moving=args.min_moving, max_moving=args.max_moving))
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f'error: {e}')
    summary['seconds'] = round(time.perf_counter() - t0, 1)
    print(json.dumps(summary, indent=1))
    return summary


if __name__ == '__main__':
    main()
