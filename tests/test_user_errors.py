"""Errors a person can act on: unknown registry types name the type, the registry and the
closest names; a refused checkpoint names the refused global and the way out; the CLI tools print
one line plus the fix (no traceback) unless --debug."""
import os
import pickle
import sys

import pytest
import torch
from mmengine.registry import init_default_scope

from helpers import DEMO_CONFIG, run_tool, small_options
from mmdense.registry import MODELS, OPTIMIZERS, unknown_type_message
from mmdense.utils.checkpoint import load_state_dict_file


def test_unknown_type_names_registry_and_closest_names():
    init_default_scope('mmdense')
    with pytest.raises(KeyError) as e:
        MODELS.build(dict(type='FlowEE'))
    msg = str(e.value)
    assert "unknown type 'FlowEE' in the mmdense::model registry" in msg
    assert 'closest registered names: FlowE' in msg
    assert 'SGD' in unknown_type_message('SDG', OPTIMIZERS)


def test_misspelt_optimizer_in_a_training_run(tmp_path, demo_world):
    """mmengine's optimizer constructor used to end in 'None is not a callable object'."""
    opts = small_options(demo_world, tmp_path, 1, 1) + ['optim_wrapper.optimizer.type=SDG']
    r = run_tool([sys.executable, 'tools/train.py', DEMO_CONFIG, '--work-dir', str(tmp_path),
                  '--cfg-options', *opts])
    assert r.returncode == 2, r.stderr[-2000:]
    lines = [line for line in r.stderr.splitlines() if line.startswith('error:')]
    assert len(lines) == 1 and 'Traceback' not in r.stderr
    assert "unknown type 'SDG' in the mmdense::optimizer registry" in lines[0]
    assert 'SGD' in lines[0] and 'None is not a callable' not in r.stderr


class _Evil:

    def __reduce__(self):
        return (os.system, ('echo pwned > /dev/null', ))


def test_unsafe_checkpoint_refusal_names_the_global_and_the_way_out(tmp_path, demo_world):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'payload': _Evil()}, path)
    with pytest.raises(ValueError) as e:
        load_state_dict_file(str(path))
    msg = str(e.value)
    assert 'evil.pth' in msg and 'posix.system' in msg
    assert 'weights_only=False' in msg and 'add_safe_globals' in msg
    # through the CLI: resuming from it is refused in one line, naming the global
    wd = tmp_path / 'w'
    r = run_tool([sys.executable, 'tools/train.py', DEMO_CONFIG, '--work-dir', str(wd),
                  '--resume', str(path), '--cfg-options', *small_options(demo_world, wd, 1, 1)])
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    assert 'posix.system' in r.stderr and 'evil.pth' in r.stderr
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


@pytest.mark.parametrize('args,expected', [
    (['tools/ucm/visualize_ucm.py', '/no/such/file.npz', '--out', '/tmp/x'], 'file.npz'),
    (['tools/flow/visualize_flow.py', '/no/such/flow.flo', '--out-dir', '/tmp/x'], 'flow.flo'),
])
def test_cli_tools_print_one_line_unless_debug(args, expected):
    r = run_tool([sys.executable, *args])
    assert r.returncode != 0
    assert 'Traceback' not in r.stderr, r.stderr[-3000:]
    errors = [line for line in r.stderr.splitlines() if line.startswith('error')]
    assert len(errors) == 1 and expected in errors[0], r.stderr[-2000:]
    r = run_tool([sys.executable, *args, '--debug'])
    assert r.returncode != 0 and 'Traceback' in r.stderr
