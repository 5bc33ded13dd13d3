from .model_wrappers import DeviceAwareDistributedDataParallel
from .hooks import *  # noqa: F401,F403

__all__ = ['DeviceAwareDistributedDataParallel']
