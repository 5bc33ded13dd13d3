"""The step-cost benchmarks run end to end at tiny size and print their ratios."""
import re
import sys

import pytest

from helpers import run_tool


@pytest.mark.parametrize('script,names', [
    ('tools/benchmark/flowe_vs_byol.py', ('BYOL', 'FlowE')),
    ('tools/benchmark/cacl_vs_mocov2.py', ('MoCo-v2', 'CACL')),
    ('tools/benchmark/vader_vs_mocov2.py', ('MoCo-v2', 'VADeR')),
    ('tools/benchmark/hiergroup_vs_supervised.py', ('supervised', 'HierGroup')),
])
def test_benchmark_prints_both_rows_and_the_ratio(script, names):
    r = run_tool([sys.executable, script, '--depth', '18', '--size', '32', '32', '--batch', '2',
                  '--steps', '1'])
    assert r.returncode == 0, r.stderr[-3000:]
    for name in names:
        assert re.search(rf'^{re.escape(name)} +step [0-9.]+ s +peak memory [0-9]+ MB$',
                         r.stdout, re.M), r.stdout
    m = re.search(rf'{re.escape(names[1])} / {re.escape(names[0])}: time x([0-9.]+)', r.stdout)
    assert m and float(m.group(1)) > 0


def test_ucm_speed_benchmark():
    r = run_tool([sys.executable, 'tools/benchmark/ucm_speed.py', '--size', '64', '96',
                  '--images', '2', '--workers', '2'])
    assert r.returncode == 0, r.stderr[-3000:]
    rates = re.findall(r'(\d) workers: ([0-9.]+) images/s', r.stdout)
    assert [w for w, _ in rates] == ['0', '2'] and all(float(x) > 0 for _, x in rates)


def test_transitive_graph_benchmark():
    r = run_tool([sys.executable, 'tools/benchmark/transitive_graph.py', '--step', '10',
                  '--workers', '0', '--track-scale', '0.5'])
    assert r.returncode == 0, r.stderr[-3000:]
    m = re.search(r'build time ([0-9.]+) s, ([0-9.]+) patches/s', r.stdout)
    assert m and float(m.group(2)) > 0
