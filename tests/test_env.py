import sys
import types

import pytest

from mmdense.utils import env


def test_installed_stack_passes():
    assert env.environment_problems() == []
    env.check_environment()


def test_wrong_versions_name_the_fix(monkeypatch):
    fake = dict(torch='2.14.1', torchvision='0.29.1', mmengine='0.10.7', mmcv='2.2.0',
                mmpretrain='1.2.0', mmsegmentation=None, mmdet='3.3.0')
    monkeypatch.setattr(env, '_installed', lambda d: fake.get(d))
    with pytest.raises(ImportError) as e:
        env.check_environment()
    msg = str(e.value)
    assert 'mmcv 2.2.0 is installed, but mmdense needs mmcv>=2.0.0,<2.2.0' in msg
    assert '`pip install mmcv==2.1.0`' in msg
    assert 'mmsegmentation is not installed: install mmsegmentation==1.2.2' in msg
    assert 'tools/install.sh' in msg
    assert 'torch' not in msg.split('mmcv 2.2.0')[0]  # correct packages are not reported


def test_local_version_tags_are_accepted(monkeypatch):
    fake = dict(torch='2.14.1+cu130', torchvision='0.29.1+cpu', mmengine='0.10.7', mmcv='2.1.0',
                mmpretrain='1.2.0', mmsegmentation='1.2.2', mmdet='3.3.0')
    monkeypatch.setattr(env, '_installed', lambda d: fake.get(d))
    assert [p for p in env.environment_problems() if 'compiled ops' not in p] == []


def test_skip_switch(monkeypatch):
    monkeypatch.setattr(env, '_installed', lambda d: None)
    monkeypatch.setenv('MMDENSE_SKIP_ENV_CHECK', '1')
    env.check_environment()


def _fake_transformers(root, version, modeling_utils):
    """A transformers distribution at ``root`` (on sys.path): its dist-info and package."""
    (root / f'transformers-{version}.dist-info').mkdir()
    (root / f'transformers-{version}.dist-info' / 'METADATA').write_text(
        f'Metadata-Version: 2.1\nName: transformers\nVersion: {version}\n')
    (root / 'transformers').mkdir()
    (root / 'transformers' / '__init__.py').write_text('raise ImportError("not to be imported")\n')
    (root / 'transformers' / 'modeling_utils.py').write_text(modeling_utils)


# transformers 4.55's modeling_utils re-exports the helpers MMPretrain 1.2.0 imports; 4.56's not;
# 5.0's has no PretrainedConfig either
OLD_MODELING_UTILS = ('from .configuration_utils import PretrainedConfig\n'
                      'from .pytorch_utils import (apply_chunking_to_forward,\n'
                      '    find_pruneable_heads_and_indices, prune_linear_layer)\n'
                      'class PreTrainedModel: pass\n')
NEW_MODELING_UTILS = ('from .configuration_utils import PretrainedConfig\n'
                      'class PreTrainedModel: pass\n')
V5_MODELING_UTILS = 'class PreTrainedModel: pass\n'
HELPERS = 'apply_chunking_to_forward, find_pruneable_heads_and_indices, prune_linear_layer'


@pytest.mark.parametrize('version,modeling_utils,missing', [
    ('4.57.1', NEW_MODELING_UTILS, HELPERS),
    ('5.17.0', V5_MODELING_UTILS, 'PretrainedConfig, ' + HELPERS),
    ('4.55.4', OLD_MODELING_UTILS, None),
    ('4.27.4', NEW_MODELING_UTILS, None),  # MMPretrain leaves its multimodal models out
])
def test_a_transformers_that_breaks_mmpretrain_is_named(tmp_path, monkeypatch, version,
                                                        modeling_utils, missing):
    _fake_transformers(tmp_path, version, modeling_utils)
    monkeypatch.syspath_prepend(str(tmp_path))
    # another transformers already imported, without a spec: the file is still the checked one's
    monkeypatch.setitem(sys.modules, 'transformers', types.ModuleType('transformers'))
    problems = [p for p in env.environment_problems() if 'transformers' in p]
    if missing is None:
        assert problems == []
        return
    assert len(problems) == 1
    msg = problems[0]
    assert f'transformers {version} is installed' in msg
    assert f"{tmp_path / 'transformers' / 'modeling_utils.py'} has no {missing}:" in msg
    assert 'pip install "transformers<4.56"' in msg
    with pytest.raises(ImportError, match='NoneType takes no arguments'):
        env.check_environment()
