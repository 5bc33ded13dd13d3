"""Train an mmdense model (pretraining or readout), like OpenMMLab's tools/train.py.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--auto-scale-lr]
                          [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi] [--debug]

User errors (missing file, bad option or config, unreadable input) end in one line naming the
problem and the fix; ``--debug`` shows the traceback instead.

Multi-process: tools/dist_train.sh CONFIG GPUS (on a machine without GPUs it starts GPUS CPU
processes with the gloo backend).
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the given checkpoint, or, with no value, from the '
                        'latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (GPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by total batch size / auto_scale_lr.base_batch_size')
    parser.add_argument('--no-pin-memory', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_cfg.max_iters=100')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv=None):
    args = parse_args(argv)
    if not osp.exists(args.config):
        print(f'error: config {args.config} does not exist', file=sys.stderr)
        raise SystemExit(2)
    import mmdense  # noqa: F401  (environment check, registries, safe checkpoint loading)
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from mmdense.utils.launch import (apply_common_args, check_data_roots,
                                      finish_distributed, friendly_errors,
                                      setup_distributed)

    checkpoint = args.resume if args.resume not in (None, 'auto') else None
    with friendly_errors(args.config, checkpoint=checkpoint):
        cfg = Config.fromfile(args.config)
        cfg.launcher = args.launcher
        if args.cfg_options is not None:
            cfg.merge_from_dict(args.cfg_options)
        apply_common_args(cfg, args)
        if args.no_pin_memory:
            for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
                if cfg.get(key):
                    cfg[key]['pin_memory'] = False
        check_data_roots(cfg, which=('train_dataloader', 'val_dataloader'))
        setup_distributed(cfg, args.launcher)
        runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
        runner.train()
        finish_distributed()


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
