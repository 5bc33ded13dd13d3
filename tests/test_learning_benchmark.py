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
    # the detection readout (MMDet CocoMetric, in %) read FlowE's pretrained encoder, frozen:
    # its backbone weights are the pretraining checkpoint's, and random init's are not
    import torch
    for method in ('flowe', 'random'):
        assert 0 <= by[(method, 'faster-rcnn-fpn@r18', 'bbox_mAP')] <= 100
    key = 'backbone.layer4.1.conv2.weight'
    pre = torch.load(out / 'runs' / 'flowe-main-s0' / 'iter_2.pth', map_location='cpu',
                     weights_only=False)['state_dict'][key]
    det = torch.load(out / 'runs' / 'flowe-main-s0' / 'det' / 'iter_2.pth', map_location='cpu',
                     weights_only=False)['state_dict'][key]
    rnd = torch.load(out / 'runs' / 'random-s0-det' / 'iter_2.pth', map_location='cpu',
                     weights_only=False)['state_dict'][key]
    assert torch.equal(pre, det) and not torch.allclose(pre, rnd)
    # random init's BN statistics come from the world's frames (MMDet's defaults, mean 0 and
    # var 1, make the frozen random encoder's activations explode and the readout NaN)
    init = torch.load(out / 'runs' / 'random-s0-det' / 'random_init.pth', map_location='cpu',
                      weights_only=False)['state_dict']
    assert not torch.allclose(init['backbone.layer4.1.bn2.running_var'], torch.ones(512))
    assert torch.equal(init[key], rnd)
    table = (tmp_path / 'learning.md').read_text()
    assert '| flowe | main | linear@r18-d8 (mIoU) |' in table
    assert '| flowe | main | faster-rcnn-fpn@r18 (bbox_mAP) |' in table
    assert (tmp_path / 'learning.png').stat().st_size > 1000
    # resumable: a rerun finds every run done and trains nothing
    r = run_tool(args)
    assert r.returncode == 0 and 'already in' in r.stdout
    assert 'pretrain flowe' not in r.stdout
    assert json.loads(results.read_text()) == records


def test_a_killed_benchmark_takes_its_training_child_with_it(tmp_path):
    """``child_run.run_logged`` (every training child of the benchmark): when the benchmark
    process is killed (here with SIGKILL, which it cannot catch), its child is killed too, so a
    rerun never trains next to an orphan writing the same checkpoints."""
    import os
    import signal
    import subprocess
    import time
    pid_file = tmp_path / 'child.pid'
    child = ('import os, sys, time; open(sys.argv[1], "w").write(str(os.getpid())); '
             'time.sleep(120)')
    parent = (f'import sys; sys.path.insert(0, {osp.join(REPO, "tools/benchmark")!r}); '
              'from child_run import run_logged; '
              f'run_logged([sys.executable, "-c", {child!r}, {str(pid_file)!r}], '
              f'{str(tmp_path / "child.log")!r})')
    proc = subprocess.Popen([sys.executable, '-c', parent])
    try:
        for _ in range(300):
            if pid_file.exists() and pid_file.read_text():
                break
            time.sleep(0.1)
        child_pid = int(pid_file.read_text())
        os.kill(child_pid, 0)  # the child runs
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        for _ in range(100):
            if not _alive(child_pid):
                break
            time.sleep(0.1)
        else:
            os.kill(child_pid, signal.SIGKILL)
            raise AssertionError('the training child outlived the killed benchmark process')
    finally:
        proc.kill()


def _alive(pid):
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by its new parent, does not)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def test_vader_view_geometry_benchmark_runs(tmp_path):
    """tools/benchmark/vader_view_geometry.py at smoke size: both view pipelines are drawn
    through the real configs, and matched pixels of the benchmark's views keep their row."""
    out = tmp_path / 'geometry.json'
    r = run_tool([sys.executable, osp.join(REPO, 'tools/benchmark/vader_view_geometry.py'),
                  '--pairs', '20', '--out', str(out)])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads(out.read_text())
    assert set(res) == {'benchmark', 'paper'}
    assert res['benchmark']['view'] == [64, 64] and res['paper']['view'] == [224, 224]
    for fig in res.values():
        assert 0.5 < fig['row_corr'] <= 1 and fig['matched_per_pair'] >= 32
