"""Build the transitive-invariance graph from a folder of videos (Wang et al. 2017, sec. 4).

    python tools/transitive/build_graph.py VIDEO_ROOT OUT_DIR [--features CONFIG | hog]
        [--checkpoint CKPT] [--box 227] [--box-ref 400] [--track-frames 30]
        [--num-parents 5000] [--min-parent 100] [--knn 10] [--group 4]
        [--pairs transitive intra] [--step 10] [--same-video-edges] [--workers 8]

1. mines moving-object patches from every video (the paper's 227x227 box of a ~600x400 frame,
scaled with the frame's short side: ``--box`` at a ``--box-ref`` short side; resized to 96x96),
2. tracks each with KCF for ``--track-frames`` frames (intra-instance edges), 3. clusters the
mined patches (k-means parents, child cliques of 4 patches from 4 different videos:
inter-instance edges; ``--same-video-edges`` lets a clique hold patches of one video, for a
demo on fewer than 4 videos) with the paper's features, the pool5 of the context-prediction VGG16
(``--features``: its config, default ``configs/transitive/context-prediction_vgg16_1xb256-
1000k_in1k.py``; ``--checkpoint``: its trained weights, default
``checkpoints/context_prediction_vgg16.pth``), 512 x 3 x 3 = 4608-d per 96x96 patch, or HOG
(``--features hog``, the paper's ablation), 4. applies transitivity. Per-video mining / tracking
is cached in OUT_DIR/mined (a rerun with the same settings resumes), runs in ``--workers``
processes, shows progress, and writes OUT_DIR/graph.json (atomically) with a summary: nodes,
edges of each type, pairs, feature size. ``--pairs intra`` is the "tracking only" ablation,
``--pairs inter`` "clustering only".
"""
import argparse
import json
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

#: the network whose pool5 features cluster the patches (sec. 4.2), and where its weights go
CONTEXT_CONFIG = 'configs/transitive/context-prediction_vgg16_1xb256-1000k_in1k.py'
CONTEXT_CHECKPOINT = 'checkpoints/context_prediction_vgg16.pth'


def pool5_encoder(config, checkpoint, batch_size=32):
    """``patches (list of BGR 96x96) -> (N, C*h*w)``: the flattened last backbone output of
    ``config`` with ``checkpoint``'s weights; for the context-prediction VGG16 that is pool5,
    512 x 3 x 3 = 4608-d (not pooled: sec. 4.2 clusters the 4608-d vectors)."""
    if not checkpoint or not osp.isfile(checkpoint):
        raise FileNotFoundError(
            f'the clustering features need the trained context-prediction checkpoint, and '
            f'{checkpoint!r} does not exist: train {config} with tools/train.py and copy its '
            f'last checkpoint to {CONTEXT_CHECKPOINT} (or pass --checkpoint PATH), or cluster '
            'with --features hog (the paper\'s HOG ablation)')
    if not osp.isfile(config):
        raise FileNotFoundError(f'feature config {config} does not exist: pass --features '
                                f'{CONTEXT_CONFIG} (or hog)')
    from mmdense.evaluation import DenseEncoder
    enc = DenseEncoder(config, checkpoint, use_neck=False)
    return lambda patches: enc.features(patches, batch_size).flatten(1).numpy()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('video_root')
    parser.add_argument('out_dir')
    parser.add_argument('--features', default=CONTEXT_CONFIG,
                        help="config of the network whose pool5 clusters the patches (the "
                        "paper's context-prediction VGG16), or 'hog' (ablation)")
    parser.add_argument('--checkpoint', default=CONTEXT_CHECKPOINT,
                        help='weights of the --features network')
    parser.add_argument('--box', type=int, default=227,
                        help='side of the mined box in pixels of a frame whose short side is '
                        '--box-ref (paper: 227 of ~600x400 frames); scaled with the frame')
    parser.add_argument('--box-ref', type=int, default=400,
                        help='the short side at which the mined box is --box pixels; 0: --box '
                        'pixels in every frame')
    parser.add_argument('--same-video-edges', action='store_true',
                        help='let inter-instance edges join patches of one video (default: '
                        'only different videos; needs patches from --group videos)')
    parser.add_argument('--track-scale', type=float, default=1.0,
                        help='run KCF on frames resized by this (< 1: faster; the end patch '
                        'is still cropped at full resolution)')
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
    from mmdense.utils.launch import report_failed
    t0 = time.perf_counter()
    try:
        encoder = None
        if args.features != 'hog':
            encoder = pool5_encoder(args.features, args.checkpoint)
        summary = build_graph(
            args.video_root, args.out_dir, 'hog' if args.features == 'hog' else 'encoder',
            encoder, args.track_frames, args.num_parents, args.min_parent, args.knn, args.group,
            tuple(args.pairs), args.workers,
            dict(step=args.step, min_moving=args.min_moving, max_moving=args.max_moving,
                 box=args.box, box_ref=args.box_ref or None, track_scale=args.track_scale),
            cross_video=not args.same_video_edges)
    except (FileNotFoundError, ValueError, KeyError) as e:
        sys.exit(f'error: {e}')
    summary['seconds'] = round(time.perf_counter() - t0, 1)
    print(json.dumps(summary, indent=1))
    report_failed(summary.get('failed', []), 'video',
                  "no patches mined from them; the other videos' mining is cached")
    return summary


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
