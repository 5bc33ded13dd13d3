"""Write deterministic, nested label-limited subsets of a readout config's training split.

    python tools/misc/make_label_subsets.py CONFIG OUT_DIR [--fractions 1 5 10 100] [--seed 0]

Writes ``OUT_DIR/train_{p}pct.txt`` (MMSeg ``ann_file`` format: one image name per line,
relative to the image folder, without suffix); point the fine-tuning config's
``train_dataloader.dataset.ann_file`` at one of them (see
``configs/readout/seg/finetune_*``).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('out_dir')
    parser.add_argument('--fractions', type=float, nargs='+', default=[1, 5, 10, 100])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', default=[])
    args = parser.parse_args(argv)
    import mmdense  # noqa: F401
    from mmengine.config import Config, DictAction  # noqa: F401
    from mmengine.registry import DATASETS, init_default_scope

    from mmdense.datasets.label_subsets import nested_subsets, seg_dataset_names
    from mmdense.utils.checkpoint import atomic_write_bytes
    cfg = Config.fromfile(args.config)
    for opt in args.cfg_options:
        key, _, val = opt.partition('=')
        cfg.merge_from_dict({key: val})
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    ds_cfg = cfg.train_dataloader.dataset.copy()
    ds_cfg.pop('ann_file', None)
    ds_cfg.pipeline = []
    dataset = DATASETS.build(ds_cfg)
    subsets = nested_subsets(seg_dataset_names(dataset), args.fractions, args.seed)
    for pct, names in subsets.items():
        tag = f'{pct:g}'.replace('.', 'p')
        path = osp.join(args.out_dir, f'train_{tag}pct.txt')
        atomic_write_bytes(''.join(n + '\n' for n in names).encode(), path)
        print(f'{len(names):6d} images -> {path}')


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
