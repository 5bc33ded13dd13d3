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
    DISTRIBUTED_WORKER[0] = True
    _enable_faulthandler()
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


def finish_distributed():
    """End a successful distributed run on every process together: a barrier, then
    ``destroy_process_group``, so no process exits while the others still hold gloo connections
    to it. Called only on the success path: a failed process never reaches it, and the launcher
    (torchrun, ``srun --kill-on-bad-exit``) ends the others. The process then leaves through
    :func:`leave_distributed_worker` (from :func:`run_cli`)."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


DISTRIBUTED_WORKER = [False]  # set by setup_distributed: this process was started by a launcher


def _enable_faulthandler():
    """A native abort (SIGABRT, SIGSEGV) of this process prints every thread's Python stack on
    stderr, so a crash in c10d / gloo says where the Python side was."""
    import faulthandler
    try:
        faulthandler.enable(all_threads=True)
    except (AttributeError, OSError, ValueError):  # stderr is no real file (io.StringIO)
        pass


def leave_distributed_worker():
    """End a distributed worker whose tool has returned, without the interpreter's finalization.

    Why: on CI, rank 1 of a two-process gloo run (the resumed half of a test whose first run
    had passed) died with SIGABRT, ``terminate called without an active exception``, and no
    Python error (a C++ ``std::thread`` destroyed while still joinable; interpreter
    finalization, where c10d / gloo objects that are still referenced get destroyed, is the
    usual place). It did not recur in 45 local launches before this exit path, idle or under
    load, nor in 24 after it, so the place of the abort is inferred, not seen:
    :func:`setup_distributed` now enables :mod:`faulthandler`, which prints every thread's
    Python stack if it happens again.

    How, with nothing lost: first collect the tool's objects (the runner, its DDP wrapper and
    the process group it holds, the dataloaders, whose worker processes shut down) while the
    interpreter is whole; end any child process still running (as multiprocessing's exit
    handler would); flush stdout / stderr and close every logging handler (the log file); then
    ``os._exit(0)``, which skips atexit handlers (none is registered on this path by mmengine,
    the OpenMMLab packages or mmdense; torch's dataloader one is what the collection did).
    Checkpoints, logs, scalars and results were written (checkpoints atomically) and the
    visualizer closed (``LoggerHook.after_run``) before the tool returned. Only for processes
    that :func:`setup_distributed` set up (``--launcher`` other than ``none``, one process
    included): runs without a launcher, and tools called as functions, exit the usual way."""
    import gc
    import logging
    import multiprocessing
    gc.collect()
    for child in multiprocessing.active_children():  # what a normal exit would end
        child.terminate()
        child.join(5)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    logging.shutdown()
    os._exit(0)


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


#: set by :func:`run_cli` when the command line has ``--debug``: errors keep their traceback
DEBUG = [False]

#: exception types that are user errors (bad path, bad option, bad config, bad input file) when
#: raised by a tool: printed as one line (their messages name the file and the fix)
USER_ERRORS = (OSError, ValueError, KeyError, SyntaxError, ImportError)


def one_line(error):
    """The message of ``error`` on one line (KeyError's quotes dropped)."""
    msg = str(error.args[0] if isinstance(error, KeyError) and error.args else error)
    if 'Original Traceback' in msg:  # re-raised from a dataloader worker: its last line
        lines = [line for line in msg.splitlines() if line.strip()]
        msg = lines[-1].split(': ', 1)[-1] if lines else msg
    text = ' '.join(msg.split())
    return text or type(error).__name__


def _unknown_type(error, config_path):
    """The one-line message for an unknown registry type, or None when ``error`` is not one."""
    from mmdense.registry import LAST_MISS, unknown_type_message
    text = str(error.args[0]) if error.args else str(error)
    miss = LAST_MISS[0]
    if isinstance(error, KeyError) and 'is not in the' in text and 'registry' in text:
        name = text.split(' is not in the')[0].strip('\'"')
        if miss is not None and miss[0] == name:
            head = unknown_type_message(*miss)
        else:
            head = f'unknown type {name!r} ({text.split(". ")[0]})'
    elif isinstance(error, TypeError) and 'None is not a callable' in text and miss is not None:
        head = unknown_type_message(*miss)  # e.g. DefaultOptimWrapperConstructor's probe
    elif isinstance(error, KeyError) and text.startswith('unknown type'):
        head = text.split('. Fix the spelling')[0]
    else:
        return None
    return (f'{config_path}: {head}. Fix the spelling, or make the module that registers it '
            "importable with custom_imports=dict(imports=['mmdense', ...]) in the config.")


@contextlib.contextmanager
def friendly_errors(config_path, checkpoint=None):
    """Turn the errors users make (config, paths, checkpoints, input files) into one clear
    message (exit status 2); with ``--debug`` (:func:`run_cli`) they keep their traceback."""
    import pickle
    if DEBUG[0]:
        yield
        return
    try:
        yield
    except ConfigProblem as e:
        print(f'error: {e.message}', file=sys.stderr)
        raise SystemExit(2)
    except pickle.UnpicklingError as e:
        from mmdense.utils.checkpoint import describe_load_error
        print(f'error: {describe_load_error(checkpoint or "the checkpoint", e)}',
              file=sys.stderr)
        raise SystemExit(2)
    except (KeyError, TypeError) as e:
        msg = _unknown_type(e, config_path)
        if msg is None:
            raise
        print(f'error: {msg}', file=sys.stderr)
        raise SystemExit(2)


def run_cli(main, argv=None):
    """Run a tool's ``main(argv)``: user errors (:data:`USER_ERRORS`, :class:`ConfigProblem`,
    unreadable media, unknown registry types) end in one line ``error: ...`` naming the problem
    and the fix, exit status 2, no traceback -- unless the command line has ``--debug``. A
    distributed worker whose ``main`` returned leaves through :func:`leave_distributed_worker`
    (exit status 0)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    DEBUG[0] = '--debug' in argv
    argv = [a for a in argv if a != '--debug']
    if DEBUG[0]:
        result = main(argv)
    else:
        result = _run_friendly(main, argv)
    if DISTRIBUTED_WORKER[0]:
        result = None  # nothing of main's stays referenced
        leave_distributed_worker()
    return result


def _run_friendly(main, argv):
    try:
        return main(argv)
    except ConfigProblem as e:
        print(f'error: {e.message}', file=sys.stderr)
        raise SystemExit(2)
    except Exception as e:
        from mmdense.datasets.video_io import FrameReadError  # a RuntimeError
        msg = _unknown_type(e, 'config') if isinstance(e, (KeyError, TypeError)) else None
        if msg is None and not isinstance(e, USER_ERRORS + (FrameReadError, )):
            raise
        print(f'error: {msg or one_line(e)} (rerun with --debug for the traceback)',
              file=sys.stderr)
        raise SystemExit(2)


def report_failed(failed, what, consequence):
    """End a long job (flow, UCM, mining) that skipped unreadable inputs: list each on stderr
    with its message, say what is missing from the output and how to complete it, and exit with
    status 1. Nothing happens when ``failed`` (a list of ``(input, message)``) is empty.

    The job has already written everything else, so a rerun after the fix redoes only these."""
    if failed:
        print(f'{len(failed)} unreadable {what}(s) skipped ({consequence}; fix or remove them '
              'and rerun to complete the output):', file=sys.stderr)
        for item, msg in failed:
            print(f'  {item}: {msg}', file=sys.stderr)
        raise SystemExit(1)


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
