"""Write demo-world clips in the DAVIS-2017 layout (frames + palette instance PNGs), so the mask
propagation runs on data whose masks are known exactly.

    python projects/dense_eval/tools/export_demo_davis.py data/demo_world data/demo_davis
"""
import argparse
import os
import os.path as osp

import cv2
import numpy as np
from PIL import Image

PALETTE = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0, 0, 0, 128, 128, 0, 128, 0, 128, 128]


def export(demo_root, out_root, split='val', resolution='480p'):
    clips_file = osp.join(demo_root, 'splits', f'{split}_clips.txt')
    if not osp.exists(clips_file):
        raise FileNotFoundError(f'{clips_file} does not exist: generate the demo world with '
                                'tools/misc/make_demo_world.py')
    seqs = [line.strip().split('/')[-1] for line in open(clips_file) if line.strip()]
    for seq in seqs:
        img_dir = osp.join(out_root, 'JPEGImages', resolution, seq)
        ann_dir = osp.join(out_root, 'Annotations', resolution, seq)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(ann_dir, exist_ok=True)
        for f in sorted(os.listdir(osp.join(demo_root, 'frames', seq))):
            name = osp.splitext(f)[0]
            img = cv2.imread(osp.join(demo_root, 'frames', seq, f))
            cv2.imwrite(osp.join(img_dir, name + '.jpg'), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
            inst = cv2.imread(osp.join(demo_root, 'inst', seq, f), cv2.IMREAD_UNCHANGED)
            pal = Image.fromarray(inst.astype(np.uint8), mode='P')
            pal.putpalette(PALETTE + [0] * (768 - len(PALETTE)))
            pal.save(osp.join(ann_dir, name + '.png'))
    os.makedirs(osp.join(out_root, 'ImageSets', '2017'), exist_ok=True)
    with open(osp.join(out_root, 'ImageSets', '2017', f'{split}.txt'), 'w') as f:
        f.write(''.join(s + '\n' for s in seqs))
    return seqs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('demo_root')
    parser.add_argument('out_root')
    parser.add_argument('--split', default='val')
    args = parser.parse_args(argv)
    seqs = export(args.demo_root, args.out_root, args.split)
    print(f'{len(seqs)} sequences -> {args.out_root}')


if __name__ == '__main__':
    main()
