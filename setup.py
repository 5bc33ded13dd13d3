"""mmdense: dense self-supervised pretraining from raw video and complex scenes (OpenMMLab)."""
import os.path as osp

from setuptools import find_packages, setup


def version():
    scope = {}
    with open(osp.join(osp.dirname(__file__), 'mmdense', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def requirements(name):
    with open(osp.join(osp.dirname(__file__), 'requirements', name)) as f:
        return [ln.split('#')[0].strip() for ln in f if ln.split('#')[0].strip()]


setup(
    name='mmdense',
    version=version(),
    description='Dense self-supervised pretraining (FlowE, CACL, VADeR, hierarchical grouping, '
                'transitive invariance) for the OpenMMLab ecosystem',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'projects')),
    python_requires='>=3.9',
    # torch and the OpenMMLab stack (requirements/mminstall.txt) are installed by
    # tools/install.sh first: mmcv must be built against the installed torch.
    install_requires=requirements('runtime.txt'),
    extras_require=dict(tests=requirements('tests.txt'), mim=requirements('mminstall.txt')),
    license='Apache License 2.0',
    zip_safe=False,
)
