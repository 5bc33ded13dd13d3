"""Checkpoints are atomic and tidy: ``last_checkpoint`` through a temp file + rename, files with
the umask's mode, stale temporary files removed at start-up, and a training process killed with
SIGKILL at a random point resumes to the same loss curve."""
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from mmengine.hooks import checkpoint_hook

from helpers import DEMO_CONFIG, REPO, logged_losses, small_options, train
from mmdense.utils.checkpoint import atomic_write_bytes, clean_stale_temp_files


def test_last_checkpoint_is_replaced_atomically(tmp_path):
    """mmengine's CheckpointHook writes last_checkpoint with ``open(path, 'w')``: a reader (or a
    crash) in the middle saw an empty file. Now the old content stays until the new is complete."""
    path = tmp_path / 'last_checkpoint'
    path.write_text('/w/iter_2.pth')
    with checkpoint_hook.open(str(path), 'w') as f:
        f.write('/w/iter_4.pth')
        assert path.read_text() == '/w/iter_2.pth'
    assert path.read_text() == '/w/iter_4.pth'
    with pytest.raises(RuntimeError):
        with checkpoint_hook.open(str(path), 'w') as f:
            f.write('/w/iter_6')
            raise RuntimeError('killed mid-write')
    assert path.read_text() == '/w/iter_4.pth'
    assert sorted(os.listdir(tmp_path)) == ['last_checkpoint']


@pytest.mark.parametrize('umask', [0o022, 0o002, 0o077])
def test_files_get_the_mode_of_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        atomic_write_bytes(b'x', tmp_path / 'ckpt.pth')
        plain = tmp_path / 'plain'
        plain.write_bytes(b'x')
    finally:
        os.umask(old)
    mode = os.stat(tmp_path / 'ckpt.pth').st_mode & 0o777
    assert mode == 0o666 & ~umask == os.stat(plain).st_mode & 0o777


def test_stale_temp_files_are_recognised(tmp_path):
    for name in ('.iter_4.pth.a1b2c3d4.tmp', '.last_checkpoint.zz_99xyz.tmp', 'iter_4.pth',
                 'notes.tmp', '.hidden'):
        (tmp_path / name).write_bytes(b'')
    assert clean_stale_temp_files(str(tmp_path)) == ['.iter_4.pth.a1b2c3d4.tmp',
                                                     '.last_checkpoint.zz_99xyz.tmp']
    assert sorted(os.listdir(tmp_path)) == ['.hidden', 'iter_4.pth', 'notes.tmp']


def test_sigkill_at_random_points_then_resume_gives_the_same_losses(demo_world, tmp_path):
    n = 8
    ref = tmp_path / 'ref'
    r = train(DEMO_CONFIG, ref, small_options(demo_world, ref, n, 1))
    assert r.returncode == 0, r.stderr[-3000:]
    expected = logged_losses(ref)
    assert sorted(expected) == list(range(1, n + 1))

    wd = tmp_path / 'killed'
    rng = random.Random(0)
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    for round_, after in enumerate((2, 5)):
        cmd = [sys.executable, 'tools/train.py', DEMO_CONFIG, '--work-dir', str(wd),
               *(['--resume'] if round_ else []),
               '--cfg-options', *small_options(demo_world, wd, n, 1)]
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while not (wd / f'iter_{after}.pth').exists() and proc.poll() is None:
            assert time.time() < deadline
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.4))  # somewhere in the next iterations / writes
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # what a kill in the middle of a write leaves behind (made sure of, whatever the timing)
    (wd / f'.iter_{n}.pth.k1ll3d00.tmp').write_bytes(b'partial')
    (wd / '.last_checkpoint.k1ll3d01.tmp').write_bytes(b'/no/such/iter')

    r = train(DEMO_CONFIG, wd, small_options(demo_world, wd, n, 1), extra=['--resume'])
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'temporary file(s) a killed run left' in r.stdout + r.stderr
    got = logged_losses(wd)  # every run's log; a repeated iteration logs the same value
    assert sorted(got) == list(range(1, n + 1))
    for it in got:
        assert got[it] == expected[it], (it, got[it], expected[it])
    assert not [f for f in os.listdir(wd) if f.endswith('.tmp')]
    assert (wd / 'last_checkpoint').read_text().strip().endswith(f'iter_{n}.pth')
