"""Reading mmengine's scalars logs after a kill (``mmdense.utils.logs.read_scalars``, used by the
learning benchmark's resume and the resume tests)."""
import json

import pytest

from mmdense.utils.logs import read_scalars


def test_a_last_line_cut_by_a_killed_writer_is_dropped(tmp_path):
    rows = [{'iter': 1, 'loss': 2.5}, {'iter': 2, 'loss': 2.25}]
    path = tmp_path / 'scalars.json'
    whole = ''.join(json.dumps(r) + '\n' for r in rows)
    path.write_text(whole)
    assert read_scalars(path) == rows
    # SIGKILL in the middle of writing row 3: a prefix of it, no newline
    path.write_text(whole + json.dumps({'iter': 3, 'loss': 2.0})[:11])
    assert read_scalars(path) == rows


def test_a_bad_line_inside_the_file_names_the_file_and_line(tmp_path):
    path = tmp_path / 'scalars.json'
    path.write_text('{"iter": 1, "loss": 2.5}\n{"iter": 2, "lo\n{"iter": 3, "loss": 2.0}\n')
    with pytest.raises(ValueError, match=r'scalars\.json, line 2, is not JSON'):
        read_scalars(path)
