from .hooks import *  # noqa: F401,F403
from .hooks import install as _install_rng_hook
from .model_wrappers import DeviceAwareDistributedDataParallel
from .optim_constructor import NormBiasExcludeOptimWrapperConstructor

__all__ = ['DeviceAwareDistributedDataParallel', 'NormBiasExcludeOptimWrapperConstructor']

# every mmengine Runner saves / restores the random generators (exact resume)
_install_rng_hook()
