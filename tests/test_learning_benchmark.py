"""tools/benchmark/learning.py at smoke size (the benchmark itself is not a test): it runs end to
end, writes the documented schema, the table and the plot, and a rerun skips finished runs."""
import json
import os.path as osp
import sys

from helpers import REPO, run_tool

SCRIPT = osp.join(REPO, 'tools/benchmark/learning.py')


def test_learning_benchmark_smoke_and_resume(tmp_path):
    out, results = tmp_path / 'work', tmp_path / 'learning.json'
    args = [sys.executable, SCRIPT, '--smoke', '--methods', 'flowe', 'random', '--seeds', '0',
            '--variants', 'main', '--out-dir', str(out), '--results', str(results)]
    r = run_tool(args)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    records = json.loads(results.read_text())
    assert records and all(set(rec) == {'method', 'variant', 'seed', 'readout', 'metric', 'value'}
                           for rec in records)
    by = {(rec['method'], rec['readout'], rec['metric']): rec['value'] for rec in records}
    # FlowE is read out on its own architecture, random init on every architecture
    for method in ('flowe', 'random'):
        for head in ('linear', 'deeplabv1'):
            assert 0 <= by[(method, f'{head}@r18-d8', 'mIoU')] <= 100
        assert by[(method, 'pca@r18-d8', 'effective_rank')] >= 1
    assert ('random', 'linear@hypercolumn', 'mIoU') in by
    assert ('random', 'linear@r18-fpn', 'mIoU') in by
    assert ('flowe', 'pretraining', 'loss_first') in by
    # the pretraining checkpoint is the one that was read out, trained for the smoke iterations
    assert (out / 'runs' / 'flowe-main-s0' / 'iter_2.pth').exists()
    table = (tmp_path / 'learning.md').read_text()
    assert '| flowe | main | linear@r18-d8 (mIoU) |' in table
    assert (tmp_path / 'learning.png').stat().st_size > 1000
    # resumable: a rerun finds every run done and trains nothing
    r = run_tool(args)
    assert r.returncode == 0 and 'already in' in r.stdout
    assert 'pretrain flowe' not in r.stdout
    assert json.loads(results.read_text()) == records
