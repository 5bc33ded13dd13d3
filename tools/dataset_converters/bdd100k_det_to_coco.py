"""Convert official BDD100K detection labels to COCO json (the paper's 8 instance classes).

    python tools/dataset_converters/bdd100k_det_to_coco.py \
        data/bdd100k/labels/det_20/det_train.json \
        data/bdd100k/annotations/det_train_8cls_coco.json \
        [--img-dir data/bdd100k/images/100k/train]

Reads either official format (``det_20/det_<split>.json`` or the 2018
``bdd100k_labels_images_<split>.json``); see :mod:`mmdense.datasets.bdd100k_det` for the class
mapping. The output is written atomically and read by
``configs/_base_/readout/datasets/bdd100k_det.py`` (MMDet's ``CocoDataset``).
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('label_file', help='official BDD100K detection label json')
    parser.add_argument('out_file', help='COCO json to write')
    parser.add_argument('--img-dir', default=None,
                        help='image folder of the split: check every image exists and read its '
                             'size (default: assume 1280x720 for all, as in BDD100K)')
    args = parser.parse_args(argv)
    from mmdense.datasets.bdd100k_det import BDD100KLabelError, bdd100k_to_coco
    from mmdense.utils.checkpoint import atomic_write_bytes
    try:
        coco, stats = bdd100k_to_coco(args.label_file, args.img_dir)
    except BDD100KLabelError as e:
        sys.exit(f'error: {e}')
    atomic_write_bytes(json.dumps(coco).encode(), args.out_file)
    boxes = ', '.join(f'{c} {n}' for c, n in stats['boxes'].items())
    print(f'{stats["images"]} images, {sum(stats["boxes"].values())} boxes ({boxes}); '
          f'{stats["ignored"]} ignore regions, {stats["dropped"]} non-instance labels dropped, '
          f'{stats["degenerate"]} empty boxes skipped -> {args.out_file}')


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
