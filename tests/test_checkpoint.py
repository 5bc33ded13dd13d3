import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.logging import HistoryBuffer, MessageHub

from mmdense.utils.checkpoint import (AtomicLocalBackend, atomic_write_bytes, extract_prefixed,
                                      load_state_dict_file)


def test_mmengine_state_loads_with_weights_only(tmp_path):
    hub = MessageHub.get_instance('ckpt_test')
    for i in range(5):
        hub.update_scalar('train/loss', 1.0 / (i + 1))
    hub.update_info('iter', 5)
    ckpt = dict(meta=dict(iter=5, seed=0, dataset_meta=dict(classes=('a', 'b'))),
                state_dict={'w': torch.ones(2)}, message_hub=hub.state_dict(),
                extra=dict(np_scalar=np.float64(1.5), arr=np.arange(3)))
    path = tmp_path / 'c.pth'
    torch.save(ckpt, path)
    out = torch.load(path, weights_only=True)
    buf = out['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.current() == pytest.approx(0.2)
    assert out['extra']['np_scalar'] == 1.5
    np.testing.assert_array_equal(out['extra']['arr'], np.arange(3))


class _Evil:

    def __reduce__(self):
        return (os.system, ('echo pwned > /dev/null', ))


def test_untrusted_pickle_is_still_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'payload': _Evil()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    with pytest.raises(ValueError, match='evil.pth'):
        load_state_dict_file(str(path))


def test_prefix_extraction_names_what_is_there(tmp_path):
    sd = {'backbone.conv1.weight': torch.ones(1), 'neck.fc.weight': torch.ones(1)}
    assert list(extract_prefixed(sd, 'backbone.')) == ['conv1.weight']
    with pytest.raises(KeyError, match=r"no \"encoder\.\*\" weights.*backbone\., neck\."):
        extract_prefixed(sd, 'encoder.', 'x.pth')
    torch.save({'state_dict': sd}, tmp_path / 'ok.pth')
    assert set(load_state_dict_file(str(tmp_path / 'ok.pth'))) == set(sd)
    (tmp_path / 'trunc.pth').write_bytes((tmp_path / 'ok.pth').read_bytes()[:50])
    with pytest.raises(ValueError, match='trunc.pth'):
        load_state_dict_file(str(tmp_path / 'trunc.pth'))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_state_dict_file(str(tmp_path / 'missing.pth'))


def test_atomic_write_never_leaves_partial_files(tmp_path):
    target = tmp_path / 'last_checkpoint'
    atomic_write_bytes(b'old', target)

    with pytest.raises(TypeError):
        atomic_write_bytes(object(), target)  # the write itself fails
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['last_checkpoint']


def test_mmengine_writes_through_the_atomic_backend(tmp_path):
    backend = get_file_backend(str(tmp_path / 'x.pth'))
    assert isinstance(backend, AtomicLocalBackend)
    backend.put(b'abc', str(tmp_path / 'sub' / 'x.pth'))
    backend.put_text('path', str(tmp_path / 'sub' / 'last_checkpoint'))
    assert (tmp_path / 'sub' / 'x.pth').read_bytes() == b'abc'
    assert sorted(os.listdir(tmp_path / 'sub')) == ['last_checkpoint', 'x.pth']


def test_getattr_in_checkpoints_is_restricted(tmp_path):
    """HistoryBuffer pickles getattr(HistoryBuffer, 'mean'); nothing else may use getattr."""

    class Sneaky:

        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))

    path = tmp_path / 'sneaky.pth'
    torch.save({'x': Sneaky()}, path)
    with pytest.raises(pickle.UnpicklingError, match='only allows HistoryBuffer'):
        torch.load(path, weights_only=True)
