"""Shared plumbing of ``tools/train.py`` / ``tools/test.py``: CPU distributed setup, pre-flight
checks of data paths, and one-line error messages for configuration mistakes."""
import contextlib
import os
import os.path as osp
import sys

import torch
from mmengine.logging import print_log


class ConfigProblem(SystemExit):
    """Raised (as a clean exit with status 2) for user errors we can name precisely."""

    def __init__(self, message):
        super().__init__(2)
        self.message = message


def setup_distributed(cfg, launcher):
    """Prepare ``cfg`` for ``launcher``; on a machine without CUDA, start the process group with
    the gloo backend ourselves (mmengine's ``init_dist`` always calls ``torch.cuda.set_device``)
    and wrap the model with :class:`DeviceAwareDistributedDataParallel`."""
    if launcher == 'none':
        return
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='DeviceAwareDistributedDataParallel', broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    if torch.cuda.is_available():
        return
    import torch.distributed as dist
    if launcher == 'slurm':
        _slurm_env_to_torch_env()
    elif launcher != 'pytorch':
        raise ConfigProblem(f'--launcher {launcher} on a machine without GPUs is not supported: '
                            'use tools/dist_train.sh CONFIG N (torchrun, gloo backend) or '
                            'tools/slurm_train.sh on CPU')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')


def _slurm_env_to_torch_env():
    """RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT from SLURM's variables, as
    mmengine's slurm launcher derives them (the first host of the node list is the master)."""
    import shutil
    import subprocess
    try:
        os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
        os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
        os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    except KeyError as e:
        raise ConfigProblem(f'--launcher slurm but {e.args[0]} is not set: start the job with '
                            'srun (tools/slurm_train.sh)') from None
    if 'MASTER_ADDR' not in os.environ:
        nodes = os.environ.get('SLURM_NODELIST', '127.0.0.1')
        addr = '127.0.0.1'
        if shutil.which('scontrol'):
            out = subprocess.run(['scontrol', 'show', 'hostname', nodes], capture_output=True,
                                 text=True).stdout.split()
            addr = out[0] if out else addr
        os.environ['MASTER_ADDR'] = addr
    os.environ.setdefault('MASTER_PORT', os.environ.get('PORT', '29500'))


def _dataset_roots(cfg):
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if not loader or 'dataset' not in loader:
            continue
        stack = [loader['dataset']]
        while stack:
            ds = stack.pop()
            if not isinstance(ds, dict):
                continue
            if ds.get('data_root'):
                yield key, ds['data_root']
            if isinstance(ds.get('dataset'), dict):
                stack.append(ds['dataset'])
            stack.extend(d for d in ds.get('datasets', []) if isinstance(d, dict))


def check_data_roots(cfg, which=('train_dataloader', 'val_dataloader', 'test_dataloader')):
    """Fail fast, naming the config key and the fix, when a dataset's ``data_root`` is missing."""
    for key, root in _dataset_roots(cfg):
        if key in which and '://' not in str(root) and not osp.exists(root):
            hint = ''
            if 'demo_world' in str(root):
                hint = (f' Generate it with `python tools/misc/make_demo_world.py {root}` '
                        '(seconds, CPU).')
            raise ConfigProblem(f'{key}: data_root {root!r} does not exist. Put the dataset '
                                'there (see the config\'s header for the layout), or point the '
                                f'config at it with --cfg-options {key}.dataset.data_root=PATH.'
                                + hint)


@contextlib.contextmanager
def friendly_errors(config_path):
    """Turn the errors users make in configs into one clear message (exit status 2)."""
    try:
        yield
    except ConfigProblem as e:
        print(f'error: {e.message}', file=sys.stderr)
        raise SystemExit(2)
    except KeyError as e:
        msg = str(e.args[0]) if e.args else str(e)
        if 'registry' in msg and 'is not in the' in msg:
            name = msg.split(' is not in the')[0].strip('\'"')
            print(f'error: {config_path}: unknown type {name!r} ({msg.split(". ")[0]}). '
                  'Fix the spelling, or make the module that registers it importable with '
                  "custom_imports=dict(imports=['mmdense', ...]) in the config.",
                  file=sys.stderr)
            raise SystemExit(2)
        raise


def apply_common_args(cfg, args):
    """Apply --work-dir / --resume / --amp / --auto-scale-lr the way OpenMMLab tools do."""
    if getattr(args, 'work_dir', None):
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if getattr(args, 'resume', None) == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif getattr(args, 'resume', None):
        if not osp.exists(args.resume):
            raise ConfigProblem(f'--resume {args.resume}: no such checkpoint')
        cfg.resume = True
        cfg.load_from = args.resume
    if getattr(args, 'amp', False):
        if not torch.cuda.is_available():
            print_log('--amp ignored: automatic mixed precision needs a GPU', logger='current',
                      level=30)
        else:
            wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
            if wrapper == 'OptimWrapper':
                cfg.optim_wrapper.type = 'AmpOptimWrapper'
                cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
            elif wrapper != 'AmpOptimWrapper':
                raise ConfigProblem(f'--amp cannot be combined with optim_wrapper type {wrapper}')
    if getattr(args, 'auto_scale_lr', False):
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise ConfigProblem('--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=...) in '
                                'the config (the total batch size the lr was tuned for)')
        cfg.auto_scale_lr.enable = True
    os.makedirs(cfg.work_dir, exist_ok=True)
