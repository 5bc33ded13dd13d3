from .hooks import *  # noqa: F401,F403
from .model_wrappers import DeviceAwareDistributedDataParallel

__all__ = ['DeviceAwareDistributedDataParallel']
