"""Render UCM region trees as boundary-strength pictures (darker = stronger boundary).

    python tools/ucm/visualize_ucm.py UCM.npz [UCM.npz ...] --out DIR [--image IMG]
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('files', nargs='+')
    parser.add_argument('--out', required=True)
    parser.add_argument('--image', default=None, help='overlay on this image (one file only)')
    args = parser.parse_args(argv)
    import cv2
    import numpy as np

    from mmdense.datasets.ucm import load_ucm, ucm_boundaries
    os.makedirs(args.out, exist_ok=True)
    for path in args.files:
        labels, dist = load_ucm(path)  # UCMError: one line via run_cli
        pic = (255 * (1 - ucm_boundaries(labels, dist))).astype(np.uint8)
        if args.image:
            img = cv2.imread(args.image)
            pic = np.minimum(img, pic[..., None])
        dst = osp.join(args.out, osp.splitext(osp.basename(path))[0] + '_ucm.png')
        cv2.imwrite(dst, pic)
        print(f'{path}: {dist.shape[0]} regions -> {dst}')


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
