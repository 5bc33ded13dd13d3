"""Write the random-init baseline of a frozen readout as a checkpoint, with BN statistics.

    python tools/readout/random_init_checkpoint.py READOUT_CONFIG OUT.pth [--seed 0]
        [--num-images 256] [--cfg-options KEY=VALUE ...]
    tools/readout/readout.sh READOUT_CONFIG OUT.pth 1      # then read it out like any checkpoint

The readout's ResNet, initialised by MMDet / MMSeg with ``--seed``, as a whole 4-stage encoder
(``backbone.*``), with BN running statistics averaged over ``--num-images`` evenly spaced images
of the config's training set (through its val pipeline and data preprocessor; BN in train mode,
no gradient step; images of one size per batch, no padding). Use it for the random-init row of
a frozen readout (MMDet or MMSeg): every pretrained encoder carries BN statistics of its
training data, while ``PRETRAIN_CKPT=none`` keeps BN's defaults (mean 0, var 1), so the two
rows would differ in more than the weights. (The dense probe and the learning benchmark's
segmentation readouts standardise their features and keep the plain random init.)
(:func:`mmdense.evaluation.random_init.random_init_checkpoint`.)
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.config import Config, DictAction  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='readout config (MMDet / MMSeg, ReadoutResNet backbone)')
    parser.add_argument('out', help='checkpoint to write')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-images', type=int, default=256,
                        help='training images for the BN statistics')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE')
    args = parser.parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'readout config {args.config} does not exist')
    import mmdense  # noqa: F401
    from mmdense.evaluation.random_init import random_init_checkpoint
    from mmdense.utils.launch import check_data_roots
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if cfg.model.get('backbone', {}).get('type') != 'ReadoutResNet':
        raise KeyError(f'{args.config}: model.backbone is not ReadoutResNet; the random-init '
                       'checkpoint is for the ResNet readout configs')
    check_data_roots(cfg, which=('train_dataloader', ))
    random_init_checkpoint(cfg, args.out, seed=args.seed, num_images=args.num_images,
                           batch_size=args.batch_size)


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
