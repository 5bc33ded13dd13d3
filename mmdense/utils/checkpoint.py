"""Safe and atomic checkpoint I/O for mmengine runners on torch >= 2.6.

* torch >= 2.6 loads with ``weights_only=True``; mmengine 0.10.7 stores its ``MessageHub`` state
  (``HistoryBuffer`` objects holding numpy arrays) in every checkpoint, so ``--resume`` fails.
  :func:`register_safe_globals` allow-lists exactly the classes mmengine stores, keeping the
  restricted unpickler: a checkpoint carrying any other global (e.g. ``os.system``) is still
  refused, and ``getattr`` (which HistoryBuffer pickles) is replaced by a stand-in that only
  resolves HistoryBuffer's statistics methods.
* mmengine writes checkpoints with ``open(path, 'wb')``: a crash mid-write leaves a truncated
  ``epoch_N.pth`` / ``last_checkpoint`` that the next ``--resume`` picks up.
  :class:`AtomicLocalBackend` replaces mmengine's local file backend so every file an mmengine
  runner writes is written to a temporary file in the same folder, fsync-ed and renamed over
  the target. ``last_checkpoint`` (which mmengine's ``CheckpointHook`` writes with a plain
  ``open``) goes through the same path (:func:`patch_checkpoint_hook`). Files get the mode the
  umask gives (``mkstemp``'s 0600 is widened), and the temporary files a killed process leaves
  behind are removed when the next run starts (:func:`clean_stale_temp_files`).
"""
import os
import os.path as osp
import io
import pickle
import re
import tempfile

import numpy as np
import torch
from mmengine.fileio.backends import LocalBackend, register_backend
from mmengine.logging import HistoryBuffer


def _numpy_globals():
    """(object, pickled name) pairs numpy arrays / scalars / dtypes are pickled with.

    numpy 2 pickles ``numpy._core.multiarray._reconstruct`` while checkpoints written with
    numpy 1 name ``numpy.core.multiarray._reconstruct``: allow both spellings.
    """
    core = np._core if hasattr(np, '_core') else np.core
    items = []
    for mod in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        items.append((core.multiarray._reconstruct, f'{mod}._reconstruct'))
        items.append((core.multiarray.scalar, f'{mod}.scalar'))
    items += [np.ndarray, np.dtype]
    # dtype classes (numpy >= 1.25 pickles dtypes through them)
    for name in dir(np.dtypes):
        obj = getattr(np.dtypes, name)
        if isinstance(obj, type) and issubclass(obj, np.dtype):
            items.append(obj)
    return items


def _history_buffer_getattr(obj, name):
    """Stand-in for ``getattr`` inside checkpoints.

    ``HistoryBuffer.__getstate__`` stores its statistics methods, which pickle as
    ``getattr(HistoryBuffer, 'mean')``. Allow-listing the real ``getattr`` would let a checkpoint
    walk to any object (``func.__globals__`` ...); this one only resolves public statistics
    methods of ``HistoryBuffer`` and refuses everything else.
    """
    if obj is HistoryBuffer and not name.startswith('_') and callable(
            getattr(HistoryBuffer, name, None)):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); mmdense only allows HistoryBuffer '
        'statistics methods there. The file was not written by an mmengine runner: do not load it.')


SAFE_GLOBALS = [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')] + _numpy_globals()


def register_safe_globals():
    """Allow-list the globals mmengine stores in checkpoints for
    ``torch.load(weights_only=True)``."""
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(SAFE_GLOBALS)


#: temporary files of :func:`atomic_write_bytes`: ``.<target name>.<8 random chars>.tmp``
TEMP_FILE_RE = re.compile(r'^\..+\.[A-Za-z0-9_]{8}\.tmp$')


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(data, filepath):
    """Write ``data`` (bytes) to ``filepath`` atomically: temp file in the same folder, fsync,
    ``os.replace``. Readers see either the old file or the complete new one, never a partial one.
    The file gets the mode the umask gives (``0o666 & ~umask``), like a plain ``open``."""
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(filepath)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            os.fchmod(f.fileno(), 0o666 & ~_umask())
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def clean_stale_temp_files(folder):
    """Remove the temporary files of :func:`atomic_write_bytes` that a killed process left in
    ``folder`` (not recursive). Call it at start-up, before this run writes. Returns their names."""
    removed = []
    if not folder or not osp.isdir(folder):
        return removed
    for name in sorted(os.listdir(folder)):
        path = osp.join(folder, name)
        if TEMP_FILE_RE.match(name) and osp.isfile(path):
            try:
                os.remove(path)
                removed.append(name)
            except FileNotFoundError:
                pass
    return removed


class _AtomicTextFile(io.StringIO):
    """Text buffer written to its path with :func:`atomic_write_bytes` when closed without an
    error (an error leaves the old file untouched)."""

    def __init__(self, path, encoding):
        super().__init__()
        self._path, self._encoding = path, encoding or 'utf-8'

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            atomic_write_bytes(self.getvalue().encode(self._encoding), self._path)
        return super().__exit__(exc_type, exc, tb)


def _atomic_open(file, mode='r', *args, **kwargs):
    """``open`` for mmengine's CheckpointHook module: ``'w'`` (text) becomes atomic."""
    if mode == 'w' and not args and set(kwargs) <= {'encoding'}:
        return _AtomicTextFile(file, kwargs.get('encoding'))
    return open(file, mode, *args, **kwargs)


def patch_checkpoint_hook():
    """Make mmengine's ``CheckpointHook`` write ``last_checkpoint`` atomically (it is the only
    file that module opens for writing). Idempotent."""
    from mmengine.hooks import checkpoint_hook
    checkpoint_hook.open = _atomic_open


class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` whose ``put`` / ``put_text`` are atomic (see module doc)."""

    def put(self, obj, filepath):
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj, filepath, encoding='utf-8'):
        atomic_write_bytes(obj.encode(encoding), filepath)


def register_atomic_backend():
    """Make ``AtomicLocalBackend`` the backend mmengine uses for local paths (and
    ``last_checkpoint`` atomic, :func:`patch_checkpoint_hook`)."""
    patch_checkpoint_hook()
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    # drop instances of the plain backend cached before the swap
    from mmengine.fileio import io as mmio
    for key in [k for k, v in mmio.backend_instances.items() if type(v) is LocalBackend]:
        mmio.backend_instances.pop(key)


def describe_load_error(path, error):
    """One line naming ``path``, what is wrong and the way out, for an exception of
    ``torch.load(path, weights_only=True)``. A refused global is named in full (torch's message
    spreads it over several lines)."""
    text = str(error)
    # torch words it "Unsupported global: GLOBAL x.y ..." or "unsupported GLOBAL x.y whose ..."
    m = re.search(r'GLOBAL ([\w.]+)', text)
    if m is not None:
        name = m.group(1)
        return (f'{path} refers to the global {name}, which mmdense does not load (torch.load '
                'with weights_only=True; it could run code). Only if you trust the file: save '
                "its tensors once with torch.save({'state_dict': torch.load(path, "
                "weights_only=False)['state_dict']}, new_path) and use new_path, or allow-list "
                f'a harmless class with torch.serialization.add_safe_globals([{name}])')
    if 'getattr(' in text and 'HistoryBuffer' in text:
        return f'{path}: {text.splitlines()[0]}'
    first = next((line.strip() for line in text.splitlines() if line.strip()), '')
    if isinstance(error, EOFError) or 'Ran out of input' in text or 'failed finding central' in \
            text or 'not a zip file' in text.lower():
        return (f'checkpoint {path} is truncated or not a torch checkpoint '
                f'({type(error).__name__}: {first or "empty file"}); use an earlier checkpoint '
                'or rewrite it')
    return (f'cannot load checkpoint {path}: {type(error).__name__}: {first}. It is truncated, '
            'not a torch checkpoint, or holds objects mmdense does not allow-list.')


def load_state_dict_file(path):
    """Load a checkpoint's state dict with the safe unpickler (``weights_only=True``).

    Raises:
        FileNotFoundError / ValueError: naming the file and what is wrong with it.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path} does not exist')
    register_safe_globals()
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # truncated file, foreign pickle, ...
        raise ValueError(describe_load_error(path, e)) from e
    if isinstance(ckpt, dict) and 'state_dict' in ckpt:
        ckpt = ckpt['state_dict']
    if not isinstance(ckpt, dict):
        raise ValueError(f'checkpoint {path} holds a {type(ckpt).__name__}, not a state dict')
    return ckpt


def extract_prefixed(state_dict, prefix, path='<checkpoint>'):
    """Sub-dict of ``state_dict`` under ``prefix`` (e.g. ``'backbone.'``), prefix stripped.

    Raises:
        KeyError: when no key has the prefix, listing the prefixes present.
    """
    out = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not out:
        heads = sorted({k.split('.')[0] + '.' for k in state_dict})
        raise KeyError(f'{path} has no "{prefix}*" weights (its top-level prefixes: '
                       f'{", ".join(heads[:10])}); pass the prefix that holds the encoder')
    return out


def load_pretrained_matching(module, checkpoint, prefix):
    """Load the ``prefix*`` tensors of ``checkpoint`` whose name and shape match ``module``'s
    (e.g. a pretrained FPN into a detector neck that adds norm layers). Raises when nothing
    matches; returns ``(loaded, skipped)`` key lists (module keys left at their init, checkpoint
    keys unused or of another shape)."""
    state = extract_prefixed(load_state_dict_file(checkpoint), prefix, checkpoint)
    own = module.state_dict()
    loaded = [k for k, v in own.items() if k in state and state[k].shape == v.shape]
    if not loaded:
        raise KeyError(f'{checkpoint}: no "{prefix}*" tensor matches {type(module).__name__} '
                       f'(checkpoint keys e.g. {sorted(state)[:3]}, module keys e.g. '
                       f'{sorted(own)[:3]})')
    module.load_state_dict({k: state[k] for k in loaded}, strict=False)
    skipped = sorted((set(own) | set(state)) - set(loaded))
    return loaded, skipped


def load_pretrained_strict(module, checkpoint, prefix='backbone.'):
    """Load ``checkpoint``'s ``prefix*`` tensors into ``module``, strictly.

    Every parameter and buffer of ``module`` must be present with the right shape; keys the module
    lacks (e.g. a classifier ``fc``) are ignored. Unlike mmengine's ``Pretrained`` init (which
    only warns), a checkpoint of another architecture stops here with the file, the missing keys
    and the fix, instead of silently training a readout on a random backbone.

    Returns:
        int: number of tensors loaded.
    """
    state = load_state_dict_file(checkpoint)
    if prefix:
        state = extract_prefixed(state, prefix, checkpoint)
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    wrong = [f'{k}: {tuple(state[k].shape)} vs {tuple(v.shape)}' for k, v in own.items()
             if k in state and state[k].shape != v.shape]
    if missing or wrong:
        raise KeyError(
            f'{checkpoint} does not fit {type(module).__name__}: {len(missing)} missing keys '
            f'(e.g. {missing[:3]}), {len(wrong)} shape mismatches (e.g. {wrong[:2]}). Check '
            'that the readout config builds the same backbone (depth, dilations) as the '
            f'pretraining config, and the prefix ({prefix!r}).')
    module.load_state_dict({k: state[k] for k in own}, strict=True)
    return len(own)
