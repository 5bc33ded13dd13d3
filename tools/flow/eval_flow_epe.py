"""End-point error of the flow estimators on exact flow: the demo world's consecutive frames and
a real photograph (scikit-image's astronaut) moved by a known affine.

    python tools/flow/eval_flow_epe.py [--demo-world data/demo_world] [--methods dis_medium ...]
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--demo-world', default='data/demo_world')
    parser.add_argument('--methods', nargs='+',
                        default=['dis_ultrafast', 'dis_fast', 'dis_medium', 'farneback'])
    args = parser.parse_args(argv)
    import json

    import cv2
    import numpy as np
    import skimage.data

    from mmdense.datasets.flow_estimators import build_flow_estimator, endpoint_error
    from mmdense.datasets.transforms import read_flow

    meta = json.load(open(osp.join(args.demo_world, 'meta.json')))
    pairs = []
    for clip, n in sorted(meta['clips'].items()):
        for t in range(n - 1):
            f = lambda i: cv2.imread(osp.join(args.demo_world, 'frames', clip, f'{i:05d}.png'))  # noqa
            gt = read_flow(osp.join(args.demo_world, 'flow_fw', clip, f'{t:05d}.flo'))
            valid = cv2.imread(osp.join(args.demo_world, 'valid_fw', clip, f'{t:05d}.png'), 0) > 0
            pairs.append((f(t), f(t + 1), gt, valid))
    h, w = 384, 512
    photo = cv2.resize(skimage.data.astronaut()[..., ::-1], (w, h))
    motion = cv2.getRotationMatrix2D((w / 2, h / 2), 3.0, 1.03)
    motion[:, 2] += (6.0, -3.0)
    moved = cv2.warpAffine(photo, motion, (w, h))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    gt_photo = np.stack([motion[0, 0] * xs + motion[0, 1] * ys + motion[0, 2] - xs,
                         motion[1, 0] * xs + motion[1, 1] * ys + motion[1, 2] - ys], -1)
    inner = np.zeros((h, w), bool)
    inner[24:-24, 24:-24] = True
    zero = np.mean([endpoint_error(0 * g, g, v) for _, _, g, v in pairs])
    print(f'{"method":<14} {"demo world EPE":>15} {"photo+affine EPE":>17} {"ms/pair":>8}')
    print(f'{"zero flow":<14} {zero:>15.3f} {endpoint_error(0 * gt_photo, gt_photo, inner):>17.3f}')
    for m in args.methods:
        est = build_flow_estimator(m)
        t0 = time.perf_counter()
        epe = np.mean([endpoint_error(est(a, b), g, v) for a, b, g, v in pairs])
        ms = (time.perf_counter() - t0) / len(pairs) * 1000
        print(f'{m:<14} {epe:>15.3f} {endpoint_error(est(photo, moved), gt_photo, inner):>17.3f}'
              f' {ms:>8.1f}')


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
