"""Segment retrieval with frozen dense features (hierarchical grouping, Table 2).

    python projects/dense_eval/tools/segment_retrieval.py CONFIG CKPT DATA_ROOT \
        [--dataset-type DemoWorldSegDataset] [--train-split splits/train.txt] \
        [--val-split splits/val.txt] [--k 15]

Every image is cut into k-means segments (K=15) of its embedding; val segments retrieve their
nearest train segment (cosine of average-pooled descriptors) and take its majority label.
Prints per-class IoU and mIoU on val. CKPT=none: random-init encoder.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path[:0] = [ROOT, osp.dirname(osp.dirname(osp.abspath(__file__)))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('data_root')
    parser.add_argument('--dataset-type', default='DemoWorldSegDataset')
    parser.add_argument('--train-split', default='splits/train.txt')
    parser.add_argument('--val-split', default='splits/val.txt')
    parser.add_argument('--k', type=int, default=15)
    args = parser.parse_args(argv)

    import mmdense  # noqa: F401
    from dense_eval import DenseEncoder, segment_retrieval
    from mmdense.evaluation.probe_runner import read_seg_split
    encoder = DenseEncoder(args.config, None if args.checkpoint == 'none' else args.checkpoint)
    tr_img, tr_lab, n_cls = read_seg_split(args.dataset_type, args.data_root, args.train_split)
    va_img, va_lab, _ = read_seg_split(args.dataset_type, args.data_root, args.val_split)
    res = segment_retrieval(encoder.features(tr_img), tr_lab, encoder.features(va_img), va_lab,
                            n_cls, k=args.k)
    print('per-class IoU: ' + ' '.join(f'{v:.3f}' for v in res['iou']))
    print(f'segment retrieval mIoU: {100 * res["miou"]:.2f}')
    return res


if __name__ == '__main__':
    main()
