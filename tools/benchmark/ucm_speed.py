"""UCM precompute speed (images/s) on this machine: colour-gradient edges + watershed hierarchy
+ 40-region cut, on real photos (scikit-image's samples) resized to ``--size``, with 0 (in
process) and ``--workers`` worker processes through the same code path as
tools/ucm/compute_ucm.py.

    python tools/benchmark/ucm_speed.py [--size 321 481] [--images 8] [--workers 2]
"""
import argparse
import os.path as osp
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--size', type=int, nargs=2, default=(321, 481))
    parser.add_argument('--images', type=int, default=8)
    parser.add_argument('--workers', type=int, default=2)
    args = parser.parse_args(argv)
    import cv2
    import skimage.data

    from mmdense.datasets.ucm import compute_ucm_cache
    photos = [skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea(),
              skimage.data.rocket()]
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.images):
            img = cv2.resize(photos[i % len(photos)][..., ::-1], tuple(args.size[::-1]))
            cv2.imwrite(osp.join(tmp, f'{i:03d}.png'), img)
        for workers in (0, args.workers):
            out = osp.join(tmp, f'ucm_{workers}')
            t0 = time.perf_counter()
            compute_ucm_cache(tmp, out, workers=workers,
                              images=[f'{i:03d}.png' for i in range(args.images)])
            res[workers] = args.images / (time.perf_counter() - t0)
    print(f'UCM precompute, {args.images} photos of {args.size[0]}x{args.size[1]}:')
    for workers, rate in res.items():
        print(f'  {workers} workers: {rate:.2f} images/s')
    return res


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
