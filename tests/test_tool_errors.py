"""Bad input to the tools stops with one clear message (exit status 2), never a traceback."""
import sys

from helpers import DEMO_CONFIG, run_tool, small_options


def test_missing_dataset_path(tmp_path):
    r = run_tool([sys.executable, 'tools/train.py', DEMO_CONFIG, '--work-dir', str(tmp_path),
                  '--cfg-options', 'train_dataloader.dataset.data_root=/no/such/demo_world'])
    assert r.returncode == 2
    assert "train_dataloader: data_root '/no/such/demo_world' does not exist" in r.stderr
    assert 'make_demo_world.py' in r.stderr
    assert 'Traceback' not in r.stderr


def test_unknown_type(tmp_path, demo_world):
    opts = small_options(demo_world, tmp_path, 1, 1) + ['model.neck.type=MoCoV9Neck']
    r = run_tool([sys.executable, 'tools/train.py', DEMO_CONFIG, '--work-dir', str(tmp_path),
                  '--cfg-options', *opts])
    assert r.returncode == 2
    assert "unknown type 'MoCoV9Neck'" in r.stderr
    assert 'custom_imports' in r.stderr
    assert 'Traceback' not in r.stderr


def test_missing_config_and_checkpoint(tmp_path):
    r = run_tool([sys.executable, 'tools/train.py', 'configs/nope.py'])
    assert r.returncode == 2 and 'configs/nope.py does not exist' in r.stderr
    r = run_tool([sys.executable, 'tools/test.py', DEMO_CONFIG, str(tmp_path / 'x.pth')])
    assert r.returncode == 2 and 'x.pth does not exist' in r.stderr
    r = run_tool([sys.executable, 'tools/train.py', DEMO_CONFIG, '--work-dir', str(tmp_path),
                  '--resume', str(tmp_path / 'gone.pth')])
    assert r.returncode == 2 and 'gone.pth: no such checkpoint' in r.stderr


def test_wrong_dependency_version_stops_import():
    code = ('import importlib.metadata as m; real = m.version\n'
            'm.version = lambda d: "2.2.0" if d == "mmcv" else real(d)\n'
            'import mmdense')
    r = run_tool([sys.executable, '-c', code])
    assert r.returncode == 1
    assert 'mmcv 2.2.0 is installed, but mmdense needs mmcv>=2.0.0,<2.2.0' in r.stderr
    assert 'pip install mmcv==2.1.0' in r.stderr
