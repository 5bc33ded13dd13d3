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
