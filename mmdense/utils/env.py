"""Dependency checks run by ``import mmdense``.

Every mismatch is reported at once, with the exact command that fixes it, instead of surfacing
later as an obscure error deep inside a toolbox.
"""
import importlib.util
import os
from importlib.metadata import PackageNotFoundError, distribution, version

from packaging.version import Version

#: distribution -> (minimum inclusive, maximum exclusive, version the stack is verified with)
REQUIREMENTS = {
    'torch': ('2.1.0', '2.15.0', '2.14.1'),
    'torchvision': ('0.16.0', '0.30.0', '0.29.1'),
    'mmengine': ('0.10.0', '1.0.0', '0.10.7'),
    # MMSeg 1.2.2 and MMDet 3.3.0 refuse mmcv>=2.2
    'mmcv': ('2.0.0', '2.2.0', '2.1.0'),
    'mmpretrain': ('1.2.0', '1.3.0', '1.2.0'),
    'mmsegmentation': ('1.2.0', '1.3.0', '1.2.2'),
    'mmdet': ('3.3.0', '3.4.0', '3.3.0'),
}

FIX_HINT = ('Run `bash tools/install.sh` from the mmdense repository (it builds and caches mmcv '
            'with compiled ops), or install the versions named above with pip.')


class EnvironmentError_(ImportError):
    """Raised by :func:`check_environment` when a dependency is missing or has a wrong version."""


def _installed(dist):
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


#: MMPretrain 1.2.0 imports its multimodal models whenever transformers>=4.28.0 and pycocotools
#: are installed, and they import these names from ``transformers.modeling_utils``. Its
#: helpers stopped being re-exported there in transformers 4.56 (present in 4.55.4's file,
#: absent from 4.56.2's), ``PretrainedConfig`` in 5.0. MMPretrain's ``except`` then sets
#: ``PreTrainedModel = None``, and ``import mmpretrain.models`` fails with
#: ``TypeError: NoneType takes no arguments`` (seen on a GPU machine with transformers 5.17).
MMPRETRAIN_MULTIMODAL_NEEDS = ('PreTrainedModel', 'PretrainedConfig', 'apply_chunking_to_forward',
                               'find_pruneable_heads_and_indices', 'prune_linear_layer')


def _transformers_problem():
    """The problem an installed transformers makes for ``import mmpretrain.models`` (None if
    none). Its ``modeling_utils.py`` is read from the distribution whose version is checked,
    without importing it; whatever cannot be read is no problem reported here."""
    found = _installed('transformers')
    if found is None or _installed('pycocotools') is None:
        return None  # MMPretrain leaves its multimodal models out
    try:
        if Version(Version(found).base_version) < Version('4.28.0'):
            return None  # likewise
        path = str(distribution('transformers').locate_file('transformers/modeling_utils.py'))
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except (OSError, ValueError, PackageNotFoundError):  # ValueError: InvalidVersion, decoding
        return None
    missing = [name for name in MMPRETRAIN_MULTIMODAL_NEEDS if name not in text]
    if not missing:
        return None
    return (f'transformers {found} is installed, and its {path} has no {", ".join(missing)}: '
            'MMPretrain 1.2.0 imports its multimodal models whenever transformers>=4.28 is '
            'installed, and they need these names, so `import mmpretrain.models` fails with '
            '"TypeError: NoneType takes no arguments". Fix: `pip install "transformers<4.56"`, '
            'or `pip uninstall transformers` if nothing in this environment needs it')


def environment_problems():
    """Return a list of human-readable problems with the installed dependencies (empty if ok)."""
    problems = []
    for dist, (low, high, tested) in REQUIREMENTS.items():
        found = _installed(dist)
        if found is None:
            if dist == 'mmcv' and _installed('mmcv-lite'):
                problems.append('mmcv-lite is installed, but mmdense needs the full mmcv with '
                                'compiled ops: `pip uninstall mmcv-lite` then install '
                                f'mmcv=={tested}')
                continue
            problems.append(f'{dist} is not installed: install {dist}=={tested}')
            continue
        base = Version(Version(found).base_version)
        if not (Version(low) <= base < Version(high)):
            problems.append(f'{dist} {found} is installed, but mmdense needs '
                            f'{dist}>={low},<{high}: '
                            f'`pip install {dist}=={tested}`')
    if _installed('mmcv') and importlib.util.find_spec('mmcv') is not None:
        try:
            has_ext = importlib.util.find_spec('mmcv._ext') is not None
        except (ImportError, ValueError):
            has_ext = False
        if not has_ext:
            problems.append('mmcv is installed without its compiled ops (mmcv._ext is missing), '
                            'which MMDet needs: rebuild it with MMCV_WITH_OPS=1')
    transformers = _transformers_problem()
    if transformers:
        problems.append(transformers)
    return problems


def check_environment(verbose=False):
    """Check torch / mmcv / mmengine / mmpretrain / mmseg / mmdet versions.

    Raises:
        ImportError: naming every wrong or missing dependency and the fix. Set the environment
            variable ``MMDENSE_SKIP_ENV_CHECK=1`` to bypass (at your own risk).
    """
    if os.environ.get('MMDENSE_SKIP_ENV_CHECK') == '1':
        return
    problems = environment_problems()
    if problems:
        lines = '\n  - '.join(problems)
        raise EnvironmentError_(f'mmdense cannot run with the installed packages:\n  - {lines}\n'
                                f'{FIX_HINT}')
    if verbose:
        found = ', '.join(f'{d} {_installed(d)}' for d in REQUIREMENTS)
        print(f'mmdense environment ok: {found}')
