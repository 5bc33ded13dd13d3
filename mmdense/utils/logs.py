"""Logging helpers."""
import contextlib
import logging

from mmengine.logging import MMLogger


@contextlib.contextmanager
def quiet_init_logs():
    """mmengine's current logger at WARNING inside the block, its level restored after:
    ``BaseModule.init_weights`` logs every parameter's initialisation at INFO."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
