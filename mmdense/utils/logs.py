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


def read_scalars(path):
    """The rows (dicts) of an mmengine ``LocalVisBackend`` ``vis_data/scalars.json`` file, one
    JSON object per line.

    A process killed while it wrote (SIGKILL, a lost node) leaves its last line cut short, with
    no newline: that line is dropped, since a resumed run logs in a new folder and the cut row's
    iteration is logged again there. Any other line that is not JSON raises.

    Raises:
        ValueError: naming the file and the line, for a bad line other than a cut last one.
    """
    import json
    with open(path) as f:
        text = f.read()
    lines = text.split('\n')
    rows = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            if i == len(lines) - 1:  # no newline after it: cut by a killed writer
                break
            raise ValueError(f'{path}, line {i + 1}, is not JSON ({e}); the file is not an '
                             'mmengine scalars log, or it was edited. Remove the line.') from e
    return rows
