"""Video instance-mask propagation with frozen dense features (DAVIS-2017 protocol).

    python projects/dense_eval/tools/propagate_masks.py CONFIG CKPT DAVIS_ROOT \
        [--split val] [--size 480] [--topk 10] [--radius 12] [--n-context 20] \
        [--temperature 0.07] [--out DIR]

CKPT=none uses a random-init encoder. Prints J (region IoU), F (boundary F-measure) and J&F per
sequence and their means (frames 1 .. n-2, the official definitions); with ``--out`` writes the
predicted palette PNGs in the DAVIS layout.
"""
import argparse
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path[:0] = [ROOT, osp.dirname(osp.dirname(osp.abspath(__file__)))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('davis_root')
    parser.add_argument('--split', default='val')
    parser.add_argument('--resolution', default='480p',
                        help='DAVIS folder (480p / Full-Resolution)')
    parser.add_argument('--size', type=int, default=480, help='short side fed to the encoder')
    parser.add_argument('--topk', type=int, default=10)
    parser.add_argument('--radius', type=float, default=12)
    parser.add_argument('--n-context', type=int, default=20)
    parser.add_argument('--temperature', type=float, default=0.07)
    parser.add_argument('--out', default=None)
    args = parser.parse_args(argv)

    import cv2
    import numpy as np
    from PIL import Image

    import mmdense  # noqa: F401
    from dense_eval import DenseEncoder, propagate_labels, read_davis_sequence
    from dense_eval.davis import evaluate_sequence
    split_file = osp.join(args.davis_root, 'ImageSets', '2017', f'{args.split}.txt')
    if not osp.exists(split_file):
        sys.exit(f'error: {split_file} does not exist: expected the DAVIS-2017 layout')
    seqs = [s.strip() for s in open(split_file) if s.strip()]
    ckpt = None if args.checkpoint == 'none' else args.checkpoint
    encoder = DenseEncoder(args.config, ckpt)
    rows = []
    for seq in seqs:
        frames, labels, names = read_davis_sequence(args.davis_root, seq, args.resolution)
        h, w = frames[0].shape[:2]
        s = args.size / min(h, w)
        size = (max(8, int(round(w * s / 8)) * 8), max(8, int(round(h * s / 8)) * 8))
        feats = encoder.features([cv2.resize(f, size, interpolation=cv2.INTER_LINEAR)
                                  for f in frames])
        objects = sorted(int(i) for i in np.unique(labels[0]) if i not in (0, 255))
        first = np.where(labels[0] == 255, 0, labels[0])
        pred = propagate_labels(feats, first, int(first.max()) + 1, args.n_context, args.topk,
                                args.radius, args.temperature, out_size=(h, w)).numpy()
        gts = [lab if lab is not None else np.zeros((h, w), np.uint8) for lab in labels]
        j, f = evaluate_sequence(gts, pred, objects)
        rows.append((seq, j, f))
        print(f'{seq:<24} J {j:.3f}  F {f:.3f}  J&F {(j + f) / 2:.3f}', flush=True)
        if args.out:
            d = osp.join(args.out, seq)
            os.makedirs(d, exist_ok=True)
            for name, p in zip(names, pred):
                im = Image.fromarray(p.astype(np.uint8), mode='P')
                im.putpalette(Image.open(osp.join(args.davis_root, 'Annotations',
                                                  args.resolution, seq,
                                                  names[0] + '.png')).getpalette())
                im.save(osp.join(d, name + '.png'))
    j = float(np.mean([r[1] for r in rows]))
    f = float(np.mean([r[2] for r in rows]))
    print(f'mean over {len(rows)} sequences: J {j:.3f}  F {f:.3f}  J&F {(j + f) / 2:.3f}')
    return dict(J=j, F=f, rows=rows)


if __name__ == '__main__':
    main()
