"""Plumbing the learning benchmark's modules share (``learning.py``, ``learning_det.py``,
``learning_transitive.py``): one training run of ``tools/train.py`` in a child process, and
the rows mmengine logs to ``vis_data/scalars.json``."""
import glob
import os
import os.path as osp
import signal
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: every benchmark training run keeps a checkpoint at least this often (iterations), so that an
#: interrupted one resumes from it (:func:`train_in_child`)
CHECKPOINT_EVERY = 1000
#: what the code of the current run is made of: the :func:`code_version` of every training run
#: it trained or reused since :func:`used_versions` was last cleared
_USED = set()
#: the paths whose state is the benchmark's code: not its results, nor any markdown file (the
#: READMEs, ``tools/benchmark/README.md``'s record of the benchmark's figures)
CODE_PATHS = ('mmdense', 'tools', 'configs', 'projects', 'setup.py', ':!tools/benchmark/results',
              ':!*.md')


def code_version():
    """The code of this checkout: its commit (short hash), with ``+dirty`` when tracked files
    under :data:`CODE_PATHS` differ from it; ``'unknown'`` outside a git checkout."""
    try:
        git = ['git', '-C', REPO]
        commit = subprocess.run(git + ['rev-parse', '--short=7', 'HEAD'], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(git + ['status', '--porcelain', '--untracked-files=no', '--',
                                      *CODE_PATHS],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'
    return commit + ('+dirty' if dirty else '')


def used_versions(clear=False):
    """The code versions of the training runs trained or reused (their folder's stamp, see
    :func:`stamp_version`) since the last ``clear``; ``clear`` empties the record first."""
    if clear:
        _USED.clear()
    return set(_USED)


def _stamp_file(work_dir, config_name):
    return osp.join(work_dir, config_name + '.versions')


def stamp_version(work_dir, config_name, version=None):
    """Add ``version`` (default: :func:`code_version`) to the code versions that trained the run
    in ``work_dir`` (``<config_name>.versions``, one per line: a resumed run may list two), and
    record it as used."""
    version = version or code_version()
    path = _stamp_file(work_dir, config_name)
    have = read_stamp(work_dir, config_name) or []
    if version not in have:
        from mmdense.utils.checkpoint import atomic_write_bytes
        atomic_write_bytes(('\n'.join(have + [version]) + '\n').encode(), path)
    _USED.add(version)


def read_stamp(work_dir, config_name):
    """The code versions stamped in ``work_dir`` for ``config_name`` (None: no stamp)."""
    path = _stamp_file(work_dir, config_name)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


class TrainingFailed(RuntimeError):
    """The training child exited non-zero or left no checkpoint (:func:`train_in_child`): the
    run itself failed (e.g. its loss turned NaN), as against a refused folder or config."""


def train_in_child(cfg, work_dir, what, config_name='config.py', log_name='train.log',
                   expect=None, hint=''):
    """Dump ``cfg`` to ``work_dir/config_name`` and train it with ``tools/train.py`` in a child
    process (``--resume`` when ``work_dir`` holds a ``last_checkpoint``: an interrupted run
    continues), its output appended to ``work_dir/log_name``.

    Args:
        cfg (Config): the run's config.
        work_dir (str): the run's folder; an unfinished run there (``last_checkpoint``) is
            resumed when its config is this one, and refused otherwise.
        what (str): the run, for the error message (e.g. ``'pretraining flowe/main seed 0'``).
        expect (str, optional): a file the run must leave (its last checkpoint).
        hint (str): added to the error message.

    Raises:
        TrainingFailed: naming the log, when the child exits non-zero or ``expect`` is missing.
        RuntimeError: naming the folder, when it holds an unfinished run of another config.
    """
    work_dir = osp.abspath(work_dir)  # the child runs in the repository root
    os.makedirs(work_dir, exist_ok=True)
    cfg_file = osp.join(work_dir, config_name)
    resume = osp.exists(osp.join(work_dir, 'last_checkpoint'))
    if resume and osp.isfile(cfg_file):
        # resume only the same run: another config (e.g. other --iters) in this folder would
        # otherwise continue from the old run's checkpoint
        differ = _differing_keys(cfg_file, cfg, work_dir)
        if differ:
            raise RuntimeError(
                f'{work_dir} holds an unfinished run with another config ({cfg_file}: '
                f'{", ".join(differ)} differ); {what} would resume from it. Remove the folder, '
                'or use another --out-dir.')
    cfg.dump(cfg_file)
    stamp_version(work_dir, config_name)
    cmd = [sys.executable, osp.join(REPO, 'tools/train.py'), cfg_file, '--work-dir', work_dir]
    if resume:
        cmd.append('--resume')
    log_file = osp.join(work_dir, log_name)
    returncode = run_logged(cmd, log_file)
    if returncode or (expect and not osp.exists(expect)):
        raise TrainingFailed(f'{what} failed (exit {returncode}{hint}): see {log_file}')


def reuse_finished(cfg, work_dir, done, what, config_name='config.py'):
    """Whether the run in ``work_dir`` is finished (its ``done`` file, a checkpoint or metrics,
    exists) and is to be reused as the run of ``cfg``. A finished run is reused only if it was
    trained from ``cfg``: the config that :func:`train_in_child` dumped to
    ``work_dir/config_name`` (and the Runner rewrote) must be this one, as for a resume. A
    folder of another run (other iterations, another readout recipe) would otherwise give its
    numbers as this run's. The code that trained it may differ with the same config: its
    versions (:func:`stamp_version`; ``'not recorded'`` for a run from before the stamps) are
    recorded as used (:func:`used_versions`), so the results say which code made them.

    Returns:
        bool: True to reuse ``done``; False when it does not exist (train the run).

    Raises:
        RuntimeError: naming the folder and the differing keys, when ``done`` exists and the
            configs differ or the folder has no ``config_name``.
    """
    if not osp.isfile(done):
        return False
    work_dir = osp.abspath(work_dir)
    cfg_file = osp.join(work_dir, config_name)
    if not osp.isfile(cfg_file):
        raise RuntimeError(f'{work_dir} holds a finished run but no {config_name}, so it cannot '
                           f'be told to be {what}; remove the folder, or use another --out-dir')
    differ = _differing_keys(cfg_file, cfg, work_dir)
    if differ:
        raise RuntimeError(f'{work_dir} holds a finished run with another config ({cfg_file}: '
                           f'{", ".join(differ)} differ) than {what}; remove the folder, or use '
                           'another --out-dir')
    # the config can be the same while the code that trained it was not: say which code it was
    record_used(work_dir, config_name)
    return True


def record_used(work_dir, config_name):
    """Record the code versions stamped in ``work_dir`` for ``config_name`` as used by the
    current run (``'not recorded'`` when it has no stamp); see :func:`used_versions`."""
    _USED.update(read_stamp(work_dir, config_name) or ['not recorded'])


def _differing_keys(cfg_file, cfg, work_dir):
    """The top-level keys in which the run config in ``cfg_file`` differs from ``cfg``, [] when
    it is the same run. ``cfg_file`` is this module's dump of the run's config, which
    ``tools/train.py`` then overwrites (the Runner dumps its config to the same name in the work
    folder) with what it set: ``launcher`` and ``work_dir``, and after a ``--resume``,
    ``resume=True, load_from=None``. So the file holds one of these three configs; any other key
    that differs is another run. Both sides go through the config text, so that tuples, lists
    and numbers compare as written."""
    from mmengine.config import Config
    stored = Config.fromfile(cfg_file).to_dict()
    asked = Config.fromstring(cfg.pretty_text, '.py')
    dumped = [asked.to_dict()]                                # the child died before the Runner
    asked.merge_from_dict(dict(launcher='none', work_dir=work_dir))
    dumped.append(asked.to_dict())                            # as the first run left it
    asked.merge_from_dict(dict(resume=True, load_from=None))
    dumped.append(asked.to_dict())                            # as a resumed run left it
    if stored in dumped:
        return []
    return sorted(k for k in set(stored) | set(dumped[0]) if stored.get(k) != dumped[1].get(k)
                  and stored.get(k) != dumped[2].get(k))


def _prctl():
    """libc's ``prctl`` (Linux), looked up here, in the parent: a child between fork and exec
    must not load libraries (another thread may hold the loader's lock). None elsewhere."""
    try:
        import ctypes
        fn = ctypes.CDLL(None, use_errno=True).prctl
        fn.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                       ctypes.c_ulong]
        fn.restype = ctypes.c_int
        return fn
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent):
    """``preexec_fn`` for a child of process ``parent``: on Linux, the kernel sends the child
    SIGKILL when the thread that started it exits, so when the benchmark dies, however it dies
    (Ctrl-C, ``kill``, ``kill -9``). Call :func:`run_logged` from the main thread: a child started
    from another thread dies when that thread ends. SIGKILL, because a signal the child ignores
    or blocks would not stop it; the trainer loses nothing, its checkpoints are written
    atomically. Where ``prctl`` is missing or refused (not Linux, a seccomp filter) the child
    may outlive its parent."""
    def arm():
        if _PRCTL is None or _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
    return arm


def run_logged(cmd, log_file):
    """Run ``cmd`` in the repository root, its output appended to ``log_file``, and return its
    exit status. The child does not outlive this process: without that, a benchmark killed
    mid-run left its training child writing to the run's folder, and the rerun started a second
    trainer on the same checkpoints."""
    with open(log_file, 'a') as f:
        return subprocess.run(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT,
                              preexec_fn=_die_with_parent(os.getpid())).returncode


def scalar_rows(work_dir):
    """Every row (dict) of the ``*/vis_data/scalars.json`` files of ``work_dir``'s runs, in
    order (an mmengine run logs into ``work_dir/<timestamp>/``; a resumed run adds a folder)."""
    from mmdense.utils.logs import read_scalars
    for fname in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        yield from read_scalars(fname)
