"""mmdense: dense self-supervised pretraining for the OpenMMLab ecosystem.

``import mmdense`` (or ``custom_imports=dict(imports=['mmdense'])`` in any MMPretrain / MMSeg /
MMDet config):

1. checks the versions of torch, torchvision, mmengine, mmcv, mmpretrain, mmsegmentation and mmdet
   and stops with the exact fix when one is wrong (:func:`check_environment`);
2. makes checkpoints load safely under torch >= 2.6 (``weights_only=True`` with mmengine's
   classes allow-listed) and be written atomically, and fixes mmcv 2.1.0's ``adjust_hue`` on
   numpy 2 (:mod:`mmdense.utils.compat`);
3. registers every mmdense component (scope ``mmdense``) and the readout components into MMSeg's
   and MMDet's registries.
"""
from .utils.env import check_environment
from .version import __version__

check_environment()

from .utils.checkpoint import register_atomic_backend, register_safe_globals  # noqa: E402
from .utils.compat import apply_patches  # noqa: E402

register_safe_globals()
register_atomic_backend()
apply_patches()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__', 'check_environment']
