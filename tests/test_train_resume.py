"""Real mmengine runs of the demo config through tools/train.py (and tools/dist_train.sh)."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import torch

from helpers import (DEMO_CONFIG, REPO, failure_report, fake_srun_dir, free_port,
                     logged_losses, process_alive, run_tool, small_options, train)


def _state(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def test_resume_continues_exactly(demo_world, tmp_path):
    full, resumed = tmp_path / 'full', tmp_path / 'resumed'
    r = train(DEMO_CONFIG, full, small_options(demo_world, full, 6, 3))
    assert r.returncode == 0, r.stderr[-3000:]
    ref = logged_losses(full)
    assert sorted(ref) == [1, 2, 3, 4, 5, 6]

    # a second run picks up the iteration-3 checkpoint of the first and continues to 6
    os.makedirs(resumed)
    shutil.copy(full / 'iter_3.pth', resumed / 'iter_3.pth')
    r = train(DEMO_CONFIG, resumed, small_options(demo_world, resumed, 6, 3),
              extra=['--resume', str(resumed / 'iter_3.pth')])
    assert r.returncode == 0, r.stderr[-3000:]
    got = logged_losses(resumed)
    assert sorted(got) == [4, 5, 6]
    for it in (4, 5, 6):
        assert abs(got[it] - ref[it]) < 1e-5, (it, got[it], ref[it])

    # model (online + momentum encoder), queue + pointer, optimizer and scheduler all match
    a, b = _state(full / 'iter_6.pth'), _state(resumed / 'iter_6.pth')
    assert a['meta']['iter'] == b['meta']['iter'] == 6
    assert {'queue', 'queue_ptr'} <= set(a['state_dict'])
    assert any(k.startswith('encoder_k.') for k in a['state_dict'])
    for k, v in a['state_dict'].items():
        torch.testing.assert_close(v, b['state_dict'][k], rtol=1e-5, atol=1e-6, msg=k)
    assert int(a['state_dict']['queue_ptr']) == (6 * 4) % 64
    for k, v in a['optimizer']['state'].items():
        torch.testing.assert_close(v['momentum_buffer'], b['optimizer']['state'][k][
            'momentum_buffer'], rtol=1e-5, atol=1e-6)
    assert a['param_schedulers'] == b['param_schedulers']


def test_resume_auto_picks_latest(demo_world, tmp_path):
    wd = tmp_path / 'w'
    r = train(DEMO_CONFIG, wd, small_options(demo_world, wd, 2, 2))
    assert r.returncode == 0, r.stderr[-3000:]
    assert (wd / 'last_checkpoint').read_text().strip().endswith('iter_2.pth')
    r = train(DEMO_CONFIG, wd, small_options(demo_world, wd, 4, 2), extra=['--resume'])
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'resumed' in (r.stdout + r.stderr).lower()
    assert sorted(logged_losses(wd)) == [1, 2, 3, 4]
    assert _state(wd / 'iter_4.pth')['meta']['iter'] == 4
    # checkpoints are written atomically: no temporary files remain
    assert not [f for f in os.listdir(wd) if f.endswith('.tmp')]


def test_dist_train_two_cpu_processes(demo_world, tmp_path, repo):
    wd = tmp_path / 'dist'
    r = run_tool(['bash', 'tools/dist_train.sh', DEMO_CONFIG, '2', '--work-dir', str(wd),
                  '--cfg-options', *small_options(demo_world, wd, 3, 3)],
                 env=dict(PYTHON=sys.executable, PORT=str(free_port())))
    assert r.returncode == 0, failure_report(r)
    log = r.stdout + r.stderr
    # mmengine reports the world size as 'GPU number' even for CPU processes
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    assert 'DeviceAwareDistributedDataParallel' in log
    ckpt = _state(wd / 'iter_3.pth')
    # keys of both processes were gathered into the queue: 3 iters x 4 per process x 2
    assert int(ckpt['state_dict']['queue_ptr']) == 3 * 4 * 2
    assert osp.exists(wd / 'last_checkpoint')


def test_slurm_train_script_with_two_tasks(demo_world, tmp_path):
    bin_dir = fake_srun_dir(tmp_path)
    wd = tmp_path / 'slurm'
    r = run_tool(['bash', 'tools/slurm_train.sh', 'cpu', 'demo', DEMO_CONFIG, str(wd),
                  '--cfg-options', *small_options(demo_world, wd, 2, 2)],
                 env=dict(PYTHON=sys.executable, GPUS='2', GPUS_PER_NODE='2',
                          PORT=str(free_port()),
                          PATH=f'{bin_dir}:{os.environ["PATH"]}'))
    assert r.returncode == 0, failure_report(r)
    assert 'Distributed launcher: slurm' in r.stdout + r.stderr
    assert int(_state(wd / 'iter_2.pth')['state_dict']['queue_ptr']) == 2 * 4 * 2


_WORKER_SCRIPT = '''
import atexit
import faulthandler
import os
import sys

import torch
from mmengine.config import Config

from mmdense.utils.launch import finish_distributed, run_cli, setup_distributed


class Pids(torch.utils.data.Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        return os.getpid()


class Runner:
    """Like mmengine's runner: in a reference cycle (its loops point back at it)."""

    def __init__(self, loader):
        self.loader, self.me = loader, self

    def __del__(self):
        with open(sys.argv[1], 'w') as f:
            f.write('released')


def finalized():
    with open(sys.argv[1] + '.atexit', 'w') as f:
        f.write('the interpreter ran its exit handlers')


def main(argv):
    atexit.register(finalized)
    setup_distributed(Config(dict()), 'pytorch')
    loader = torch.utils.data.DataLoader(Pids(), batch_size=2, num_workers=1,
                                         persistent_workers=True)
    worker = int(next(iter(loader))[0])
    # stdout and stderr are files: these lines without a newline are still buffered
    print('worker', worker, 'of', os.getpid(), faulthandler.is_enabled(), end='')
    print('last words', end='', file=sys.stderr)
    finish_distributed()
    return Runner(loader)


run_cli(main)
'''


def test_a_distributed_worker_leaves_with_its_output_and_without_live_children(tmp_path):
    """A worker of tools/train.py or tools/test.py leaves without the interpreter's finalization
    (launch.leave_distributed_worker, against an abort seen in gloo's C++ teardown): its atexit
    handlers do not run, and a native abort would print its stacks (faulthandler). Before it
    goes, what its tool returned is released, reference cycles included (as the runner's DDP
    wrapper and the process group it holds are, while the interpreter is whole); what it printed
    last on stdout and stderr is not lost; it ends with status 0, and its dataloader's worker
    process has ended with it."""
    script = tmp_path / 'worker.py'
    script.write_text(_WORKER_SCRIPT)
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1', RANK='0', LOCAL_RANK='0',
               WORLD_SIZE='1', MASTER_ADDR='127.0.0.1', MASTER_PORT=str(free_port()))
    env.pop('PYTHONUNBUFFERED', None)  # buffered, as a user's stdout is
    out, err, released = tmp_path / 'stdout.txt', tmp_path / 'stderr.txt', tmp_path / 'del.txt'
    with open(out, 'w') as fo, open(err, 'w') as fe:  # files: a child left cannot hold us up
        r = subprocess.run([sys.executable, str(script), str(released)], cwd=REPO, env=env,
                           stdout=fo, stderr=fe, timeout=300)
    assert r.returncode == 0, err.read_text()[-3000:]
    words = out.read_text().split()
    assert len(words) == 5 and words[0] == 'worker' and words[2] == 'of', words
    assert int(words[1]) != int(words[3])
    assert words[4] == 'True', 'a native abort would print no stack (faulthandler is off)'
    assert 'last words' in err.read_text()
    assert not osp.exists(f'{released}.atexit'), 'the worker went through finalization'
    assert released.exists(), 'what the tool returned was not released before the exit'
    assert not process_alive(int(words[1])), 'the dataloader worker outlived its process'
