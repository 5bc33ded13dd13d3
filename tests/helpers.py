"""Helpers shared by the tests that run the real tools."""
import os
import os.path as osp
import re
import socket
import subprocess
import sys
import uuid

from mmdense.utils.logs import read_scalars

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(REPO, 'configs/baselines/mocov2_resnet18_1xb8-300iters_demo-world.py')


def small_options(data_root, work_dir, max_iters, ckpt_interval, batch=4, queue=64):
    """--cfg-options that shrink the demo config to a few fast CPU iterations."""
    return [
        f'train_dataloader.dataset.data_root={data_root}',
        f'train_dataloader.batch_size={batch}',
        'train_dataloader.dataset.pipeline.0.transforms.0.scale=64',
        f'model.queue_len={queue}',
        f'train_cfg.max_iters={max_iters}',
        f'default_hooks.checkpoint.interval={ckpt_interval}',
        'default_hooks.logger.interval=1',
        'log_processor.window_size=1',
        f'experiment_name=t{uuid.uuid4().hex[:8]}',
    ]


def pipeline_transforms(pipeline):
    """Every transform dict of a pipeline config, with those nested under ``transforms``
    (``RandomApply``, ``FramePairToViews``), ``geometric`` and ``appearance``
    (``CorrespondingViews``), depth first."""
    for t in pipeline:
        yield t
        for key in ('transforms', 'geometric', 'appearance'):
            if isinstance(t.get(key), (list, tuple)):
                yield from pipeline_transforms(t[key])


def benchmark_pretrain_config(method, variant, root, **kwargs):
    """The learning benchmark's pretraining config of ``(method, variant)``, seed 0, 300
    iterations (``learning.pretrain_config``; ``kwargs`` go to it), made for a stand-in world
    in the folder ``root``: the ``meta.json`` of the benchmark world's 96x128 frames, which is
    all of the world the config reads (written once)."""
    import json
    sys.path.insert(0, osp.join(REPO, 'tools', 'benchmark'))
    import learning
    meta = osp.join(root, 'meta.json')
    if not osp.exists(meta):
        with open(meta, 'w') as f:
            json.dump(dict(params=dict(height=96, width=128)), f)
    return learning.pretrain_config(method, variant, 0, root, 'ucm', osp.join(root, 'w'), 300,
                                    **kwargs)


def run_tool(args, cwd=REPO, env=None, timeout=600):
    """Run a command, return CompletedProcess (text)."""
    full_env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1', **(env or {}))
    return subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout)


def free_port():
    """A TCP port on 127.0.0.1 that no process listens on now, from the OS (bind to port 0).

    Distributed tests take their rendezvous port from here rather than from a fixed range: a
    port derived from the pid can meet another job's server on a shared host. Then one job's
    first process fails to listen (EADDRINUSE), its other process joins the foreign process
    group, and that group's own second process waits for a peer that never comes."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def process_alive(pid):
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by its new parent, does not)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


_ERROR_LINE = re.compile(r'Error|error:|Exception|Traceback|terminate called|what\(\)|Abort|'
                         r'Killed|Signal|^\s+File "|^(Current thread|Thread) 0x')
# (the last two: the stack of every thread that faulthandler prints when a process aborts)


def failure_report(r, tail=2000):
    """What a failed tool run printed, for an assertion message: every line of stdout + stderr
    that looks like an error (so the cause survives when several processes interleave), the
    stacks a native abort prints (distributed processes enable faulthandler), then
    the tail of stderr."""
    lines = (r.stdout + '\n' + r.stderr).splitlines()
    errors = [ln for ln in lines if _ERROR_LINE.search(ln)][-80:]
    return '\n'.join(['rc=%s; error lines:' % r.returncode, *errors,
                      '--- stderr tail:', r.stderr[-tail:]])


def train(config, work_dir, options, extra=()):
    return run_tool([sys.executable, 'tools/train.py', config, '--work-dir', str(work_dir),
                     *extra, '--cfg-options', *options])


def logged_losses(work_dir, all_terms=False):
    """{iter: loss} from the LocalVisBackend scalars of every run in ``work_dir``; with
    ``all_terms``, {iter: {loss name: value}} of every logged ``loss*`` term."""
    out = {}
    for run in sorted(os.listdir(work_dir)):
        path = osp.join(work_dir, run, 'vis_data', 'scalars.json')
        if osp.exists(path):
            for rec in read_scalars(path):  # a run killed mid-write leaves a cut last line
                if all_terms:
                    out[rec['iter']] = {k: v for k, v in rec.items() if k.startswith('loss')}
                elif 'loss' in rec:
                    out[rec['iter']] = rec['loss']
    return out


def tiny_flowe(**kw):
    """A small FlowE (dilated ResNet-18, 16-d dense projector / predictor), initialised;
    ``kw`` overrides its config."""
    from mmengine.registry import init_default_scope

    from mmdense.registry import MODELS
    init_default_scope('mmdense')
    cfg = dict(
        type='FlowE', base_momentum=0.1,
        backbone=dict(type='ResNet', depth=18, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)),
        neck=dict(type='DenseNonLinearNeck', in_channels=512, hid_channels=32, out_channels=16),
        predictor=dict(type='DenseNonLinearNeck', in_channels=16, hid_channels=32,
                       out_channels=16),
        data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], to_rgb=True))
    cfg.update(kw)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


FAKE_SRUN = r'''#!/usr/bin/env bash
# stand-in for SLURM's srun on one node: start --ntasks copies of the command with the
# SLURM_* variables srun sets, wait for all, fail if any fails
n=1
while [ $# -gt 0 ]; do
  case "$1" in
    --ntasks=*) n=${1#--ntasks=}; shift ;;
    -p) shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
pids=()
for ((i = 0; i < n; i++)); do
  SLURM_PROCID=$i SLURM_LOCALID=$i SLURM_NTASKS=$n SLURM_NODELIST=localhost "$@" &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait $p || rc=1; done
exit $rc
'''


def fake_srun_dir(tmp_path):
    """A folder holding the ``srun`` stand-in, to put first on PATH."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / 'srun').write_text(FAKE_SRUN)
    (bin_dir / 'srun').chmod(0o755)
    return bin_dir
