"""Evaluate a checkpoint with the config's test loop, like OpenMMLab's tools/test.py.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE] [--cfg-options ...]
                         [--launcher none|pytorch|slurm|mpi] [--debug]
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument('--out', help='dump the metrics to this json/pkl file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv=None):
    args = parse_args(argv)
    for path in (args.config, args.checkpoint):
        if not osp.exists(path):
            print(f'error: {path} does not exist', file=sys.stderr)
            raise SystemExit(2)
    import mmdense  # noqa: F401
    from mmengine.dist import is_main_process
    from mmengine.fileio import dump
    from mmengine.runner import Runner

    from mmdense.utils.launch import (apply_common_args, check_data_roots,
                                      finish_distributed, friendly_errors,
                                      setup_distributed)

    with friendly_errors(args.config, checkpoint=args.checkpoint):
        cfg = Config.fromfile(args.config)
        cfg.launcher = args.launcher
        if args.cfg_options is not None:
            cfg.merge_from_dict(args.cfg_options)
        apply_common_args(cfg, args)  # work dir (test has no --resume / --amp)
        cfg.load_from = args.checkpoint
        if cfg.get('test_dataloader') is None:
            print(f'error: {args.config} has no test_dataloader / test_evaluator to run',
                  file=sys.stderr)
            raise SystemExit(2)
        check_data_roots(cfg, which=('test_dataloader', ))
        setup_distributed(cfg, args.launcher)
        runner = Runner.from_cfg(cfg)
        metrics = runner.test()
        if args.out and is_main_process():  # the evaluator broadcasts its metrics to all
            dump(metrics, args.out)
        finish_distributed()
        return metrics


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
