import os
import os.path as osp
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
os.environ.setdefault('OMP_NUM_THREADS', '2')

import mmdense  # noqa: E402,F401

#: a demo world small enough for tests (generated once per session, ~1 s)
SMALL_WORLD = dict(num_clips=4, frames_per_clip=5, height=64, width=96, val_clips=1, seed=3)


@pytest.fixture(scope='session')
def demo_world(tmp_path_factory):
    from mmdense.datasets import generate_demo_world
    root = str(tmp_path_factory.mktemp('dw') / 'demo_world')
    generate_demo_world(root, verbose=False, **SMALL_WORLD)
    return root


@pytest.fixture(scope='session')
def repo():
    return REPO


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


@pytest.fixture(autouse=True)
def fresh_visualizers(monkeypatch):
    """Each test starts with no visualizer instance. mmengine keeps one global instance per
    name, and MMSeg's and MMDet's configs all name theirs 'visualizer', so a second runner in
    this process would get the first test's instance and write its vis_data (config, scalars)
    into that test's work folder, which pytest has removed once that test passed."""
    from collections import OrderedDict

    from mmengine.visualization import Visualizer
    for cls in (Visualizer, *_subclasses(Visualizer)):
        monkeypatch.setattr(cls, '_instance_dict', OrderedDict())
