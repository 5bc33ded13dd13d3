"""Render flow files as colour-wheel PNGs (Middlebury colour coding: hue = direction,
saturation = magnitude), optionally next to the frame.

    python tools/flow/visualize_flow.py FLOW.flo [FLOW2.png ...] --out-dir vis/ [--max-mag 20]
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('flows', nargs='+')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--max-mag', type=float, default=None,
                        help='magnitude shown fully saturated (default: per-file maximum)')
    args = parser.parse_args(argv)
    import cv2

    from mmdense.datasets.transforms import read_flow
    from mmdense.visualization import flow_to_color
    os.makedirs(args.out_dir, exist_ok=True)
    for path in args.flows:
        out = osp.join(args.out_dir, osp.splitext(osp.basename(path))[0] + '.png')
        cv2.imwrite(out, flow_to_color(read_flow(path), args.max_mag)[..., ::-1])
        print(out)


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
