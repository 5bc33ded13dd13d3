"""Pictures of dense features: PCA to RGB and query-pixel similarity maps, written as PNG.

    python projects/dense_eval/tools/feature_pictures.py CONFIG CKPT IMAGE [IMAGE ...] \
        --out DIR [--query Y X] [--size 320]

For each image: ``<name>_pca.png`` (the 3 leading principal components of its features, one
basis shared by all images) and, with ``--query`` (pixel of the first image), ``<name>_sim.png``
(cosine similarity to that pixel's feature, JET colours, over the image).
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
    parser.add_argument('images', nargs='+')
    parser.add_argument('--out', required=True)
    parser.add_argument('--query', type=int, nargs=2, default=None, metavar=('Y', 'X'))
    parser.add_argument('--size', type=int, default=320, help='short side fed to the encoder')
    args = parser.parse_args(argv)

    import cv2
    import torch

    import mmdense  # noqa: F401
    from dense_eval import DenseEncoder, pca_rgb, similarity_map
    from dense_eval.pictures import colorize, overlay
    encoder = DenseEncoder(args.config, None if args.checkpoint == 'none' else args.checkpoint)
    os.makedirs(args.out, exist_ok=True)
    basis, query = None, None
    for path in args.images:
        img = cv2.imread(path)
        if img is None:
            sys.exit(f'error: cannot read image {path}')
        s = args.size / min(img.shape[:2])
        size = (max(8, round(img.shape[1] * s / 8) * 8), max(8, round(img.shape[0] * s / 8) * 8))
        img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
        feat = encoder.features([img])[0]
        pca, basis = pca_rgb(feat, basis)
        name = osp.splitext(osp.basename(path))[0]
        pic = cv2.resize(pca[..., ::-1], size, interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(osp.join(args.out, f'{name}_pca.png'), pic)
        if args.query is not None:
            if query is None:
                fy = min(feat.shape[1] - 1, args.query[0] * feat.shape[1] // size[1])
                fx = min(feat.shape[2] - 1, args.query[1] * feat.shape[2] // size[0])
                query = feat[:, fy, fx].clone()
            sim = similarity_map(feat, query)
            cv2.imwrite(osp.join(args.out, f'{name}_sim.png'), overlay(img, colorize(sim)))
        print(f'{path} -> {args.out}/{name}_*.png', flush=True)
    return torch.Size(feat.shape)


if __name__ == '__main__':
    main()
