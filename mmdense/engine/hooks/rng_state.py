"""Exact resume: the random number generators travel with the checkpoint.

mmengine restores model, optimizer, schedulers and the iteration, and an iteration-based loop
replays the data it skips, but it does not restore the random number generators. Every algorithm
that draws in its forward (CACL's pixel shuffle, VADeR's pixel sampling, HierGroup's pair
sampling, MoCo's batch shuffle) then continues on another random stream after ``--resume``.

:class:`RNGStateHook` (added to every mmengine runner once :mod:`mmdense` is imported, see
:func:`install`) stores, in every checkpoint, the state of torch's CPU generator, the current CUDA
device's generator (when there is one), numpy's and Python's ``random`` -- one set per process of
a distributed run, gathered just before the checkpoint is written -- and puts them back when a run
resumes:

* iteration-based loops: right after the loop has replayed the skipped batches and before it draws
  the first new one, so the data pipeline (in the main process, ``num_workers=0``) and the model
  both continue exactly where the checkpoint left them. Dataloader workers are seeded by
  mmengine's ``worker_init_fn`` from ``(seed, rank, worker id)`` and replay the skipped batches,
  so their generators are where they were too;
* epoch-based loops: at the start of the first resumed epoch (workers start afresh every epoch
  unless ``persistent_workers=True``; with persistent workers their generators restart from the
  seed).

Validation inside training runs on a saved copy of the generators, so whether or not a run
validated before a checkpoint does not change the training stream.
"""
import random

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log

from mmdense.registry import HOOKS

from ...utils.checkpoint import clean_stale_temp_files


def get_rng_state():
    """This process's generator states, as plain types a ``weights_only`` load accepts."""
    np_state = np.random.get_state()
    py_version, py_internal, py_gauss = random.getstate()
    state = dict(
        torch=torch.get_rng_state(),
        numpy=dict(keys=np_state[1].copy(), pos=int(np_state[2]), has_gauss=int(np_state[3]),
                   gauss=float(np_state[4])),
        python=dict(version=py_version, internal=list(py_internal), gauss=py_gauss))
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state):
    """Inverse of :func:`get_rng_state`."""
    torch.set_rng_state(state['torch'].cpu())
    n = state['numpy']
    np.random.set_state(('MT19937', np.asarray(n['keys'], np.uint32), n['pos'], n['has_gauss'],
                         n['gauss']))
    p = state['python']
    random.setstate((p['version'], tuple(p['internal']), p['gauss']))
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state['cuda'].cpu())


class _RestoreBeforeNext:
    """Wraps a loop's data iterator: after ``skip`` ``next`` calls (the loop replaying the data
    already trained on), put the generators back, then draw on as before."""

    def __init__(self, iterator, skip, state):
        self._iterator = iterator
        self._skip = skip
        self._state = state

    def __iter__(self):
        return self

    def __next__(self):
        if self._state is not None:
            if self._skip == 0:
                set_rng_state(self._state)
                self._state = None
            else:
                self._skip -= 1
        return next(self._iterator)

    def __getattr__(self, name):
        return getattr(self._iterator, name)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the random generators in checkpoints and restore them on resume (module doc).

    Also removes, at start-up, the temporary files a process killed while writing a checkpoint
    left in the work dir (:func:`mmdense.utils.checkpoint.clean_stale_temp_files`).
    """

    # after every LOW hook of an iteration, just before CheckpointHook (VERY_LOW = 90)
    priority = 85

    def __init__(self):
        self._gathered = None  # ((epoch, iter), [state of rank 0, rank 1, ...])
        self._loaded = None  # the rng_state entry of the checkpoint just loaded
        self._before_val = None
        self._epoch_state = None

    # ----------------------------------------------------------------- start-up
    def before_run(self, runner):
        if get_rank() == 0:
            removed = clean_stale_temp_files(runner.work_dir)
            if removed:
                print_log(f'removed {len(removed)} temporary file(s) a killed run left in '
                          f'{runner.work_dir}: {", ".join(removed)}', logger='current')

    # ------------------------------------------------------------------ saving
    @staticmethod
    def _checkpoint_due(runner, by_epoch):
        """Whether a CheckpointHook writes a checkpoint at the end of this iteration / epoch
        (its own test); True when there is no CheckpointHook to ask."""
        found = False
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook):
                continue
            found = True
            if hook.by_epoch != by_epoch:
                continue
            if by_epoch:
                due = hook.every_n_epochs(runner, hook.interval, hook.save_begin) or (
                    hook.save_last and hook.is_last_train_epoch(runner))
            else:
                due = hook.every_n_train_iters(runner, hook.interval, hook.save_begin) or (
                    hook.save_last and hook.is_last_train_iter(runner))
            if due:
                return True
        return not found

    def _gather(self, runner, by_epoch):
        # all ranks take part; only rank 0 writes the checkpoint
        if get_world_size() > 1 and self._checkpoint_due(runner, by_epoch):
            self._gathered = ((runner.epoch, runner.iter), all_gather_object(get_rng_state()))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._gather(runner, by_epoch=False)

    def after_train_epoch(self, runner):
        self._gather(runner, by_epoch=True)

    def before_save_checkpoint(self, runner, checkpoint):
        world_size = get_world_size()
        if self._before_val is not None:  # a checkpoint written during validation (save_best)
            states = [self._before_val]
        elif world_size == 1:
            states = [get_rng_state()]
        elif self._gathered is not None and self._gathered[0] == (runner.epoch, runner.iter):
            states = self._gathered[1]
        else:  # saved outside the CheckpointHook schedule: only this process's state is known
            states = [get_rng_state()]
        checkpoint['rng_state'] = dict(world_size=world_size, states=states)

    # ---------------------------------------------------------------- restoring
    def after_load_checkpoint(self, runner, checkpoint):
        meta = checkpoint.get('meta', {})
        self._loaded = (checkpoint.get('rng_state'), meta.get('epoch'), meta.get('iter'))

    def before_train(self, runner):
        if self._loaded is None:
            return
        saved, epoch, it = self._loaded
        self._loaded = None
        # only a resume (not load_from of pretrained weights) continues the random stream
        if not (getattr(runner, '_resume', False) and (epoch, it) == (runner.epoch, runner.iter)
                and (runner.epoch or runner.iter)):
            return
        if not saved:
            print_log('the checkpoint holds no random generator state (written before mmdense '
                      'saved it): the resumed run draws other random numbers than an '
                      'uninterrupted one', logger='current', level=30)
            return
        states, rank, world_size = saved['states'], get_rank(), get_world_size()
        if len(states) != world_size:
            print_log(f'the checkpoint holds the random state of {len(states)} process(es), '
                      f'this run has {world_size}: the random streams differ from an '
                      'uninterrupted run', logger='current', level=30)
        state = states[min(rank, len(states) - 1)]
        loop = runner.train_loop
        if hasattr(loop, 'dataloader_iterator') and runner.iter > 0:
            loop.dataloader_iterator = _RestoreBeforeNext(loop.dataloader_iterator,
                                                          runner.iter, state)
        else:
            self._epoch_state = state

    def before_train_epoch(self, runner):
        if self._epoch_state is not None:
            set_rng_state(self._epoch_state)
            self._epoch_state = None

    # ---------------------------------------------- validation leaves the stream alone
    def before_val(self, runner):
        self._before_val = get_rng_state()

    def after_val(self, runner):
        if self._before_val is not None:
            set_rng_state(self._before_val)
            self._before_val = None


def install():
    """Give every mmengine ``Runner`` an :class:`RNGStateHook` (unless its config already has
    one). Idempotent."""
    from mmengine.runner import Runner
    if getattr(Runner.register_hooks, '_mmdense_rng', False):
        return
    original = Runner.register_hooks

    def register_hooks(self, default_hooks=None, custom_hooks=None):
        original(self, default_hooks, custom_hooks)
        if not any(isinstance(h, RNGStateHook) for h in self._hooks):
            self.register_hook(RNGStateHook())

    register_hooks._mmdense_rng = True
    Runner.register_hooks = register_hooks
