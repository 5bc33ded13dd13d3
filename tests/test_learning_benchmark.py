"""tools/benchmark/learning.py at smoke size (the benchmark itself is not a test): it runs end to
end, writes the documented schema, the table and the plot, and a rerun skips finished runs."""
import json
import os
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


def _learning():
    sys.path.insert(0, osp.join(REPO, 'tools/benchmark'))
    import learning
    return learning


def test_object_edges_follow_the_instance_outlines(demo_world):
    """The HierGroup ``object-edges`` diagnostic: its edges are strongest on the world's
    instance boundaries, and the UCM trees built from them through the real OWT-UCM separate
    the instances more than the default colour-gradient trees do (tree distance of pixel pairs
    on one instance against pairs on two)."""
    import cv2
    import numpy as np

    from mmdense.datasets.ucm import compute_ucm_cache, load_ucm
    learning = _learning()
    rels = sorted(f'{c}/{f}' for c in os.listdir(osp.join(demo_world, 'frames'))
                  for f in os.listdir(osp.join(demo_world, 'frames', c)))[:4]
    rng = np.random.default_rng(0)
    gaps = {}
    for kind in ('object', 'colour'):
        edge_root = None
        if kind == 'object':
            edge_root = osp.join(demo_world, '..', 'object_edges')
            for rel in rels:
                img = cv2.imread(osp.join(demo_world, 'frames', rel))
                inst = cv2.imread(osp.join(demo_world, 'inst', rel),
                                  cv2.IMREAD_UNCHANGED).astype(np.int64)
                e = learning.object_edges(inst, img)
                bound = np.zeros(inst.shape, bool)
                bound[:, 1:] |= inst[:, 1:] != inst[:, :-1]
                bound[:, :-1] |= inst[:, 1:] != inst[:, :-1]
                bound[1:] |= inst[1:] != inst[:-1]
                bound[:-1] |= inst[1:] != inst[:-1]
                assert bound.any() and (e[bound] >= 0.5).all() and (e[~bound] <= 0.5).all()
                os.makedirs(osp.join(edge_root, osp.dirname(rel)), exist_ok=True)
                cv2.imwrite(osp.join(edge_root, rel), np.round(e * 65535).astype(np.uint16))
        out = osp.join(demo_world, '..', f'ucm_{kind}')
        compute_ucm_cache(osp.join(demo_world, 'frames'), out, edge_root=edge_root,
                          images=rels)
        same, diff = [], []
        for rel in rels:
            labels, dist = load_ucm(osp.join(out, osp.splitext(rel)[0] + '.npz'))[:2]
            inst = cv2.imread(osp.join(demo_world, 'inst', rel), cv2.IMREAD_UNCHANGED)
            i, j = rng.integers(0, labels.size, (2, 4000))
            d = dist[labels.flat[i], labels.flat[j]]
            on_one = inst.flat[i] == inst.flat[j]
            same += list(d[on_one])
            diff += list(d[~on_one])
        gaps[kind] = np.mean(diff) - np.mean(same)
    assert gaps['object'] > gaps['colour'] + 0.1, gaps


def test_diagnostic_variants_run_and_stay_out_of_the_ablation_signs(tmp_path):
    """``--variants diagnostic`` at smoke size: VADeR's ``moco-init`` trains MoCo-v2 first and
    its encoder starts from that checkpoint (and barely moves, at 1e-4 x the decoder's lr);
    HierGroup's ``object-edges`` reads trees from the object-edge UCM cache. Both rows are marked
    as diagnostics in the table, and neither is taken for an ablation of the paper."""
    import torch
    out, results = tmp_path / 'work', tmp_path / 'learning.json'
    r = run_tool([sys.executable, SCRIPT, '--smoke', '--methods', 'vader', 'hiergroup',
                  '--seeds', '0', '--variants', 'diagnostic', '--parts', 'seg',
                  '--out-dir', str(out), '--results', str(results)])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    records = json.loads(results.read_text())
    got = {(rec['method'], rec['variant']) for rec in records}
    assert got == {('vader', 'moco-init'), ('hiergroup', 'object-edges')}
    runs = out / 'runs'
    moco = torch.load(runs / 'vader-moco-init-s0-mocov2' / 'iter_2.pth', map_location='cpu',
                      weights_only=False)['state_dict']
    vader = torch.load(runs / 'vader-moco-init-s0' / 'iter_2.pth', map_location='cpu',
                       weights_only=False)['state_dict']
    key = 'backbone.layer3.0.conv1.weight'
    assert torch.allclose(vader[key], moco[key], rtol=0, atol=1e-4)
    log = (runs / 'vader-moco-init-s0' / 'train.log').read_text()
    assert f"{runs / 'vader-moco-init-s0-mocov2' / 'iter_2.pth'}" in log  # loaded at init
    cfg = (runs / 'hiergroup-object-edges-s0' / 'config.py').read_text()
    assert 'world_ucm_object_edges' in cfg
    assert (out / 'world_ucm_object_edges' / '.complete').exists()
    md = (tmp_path / 'learning.md').read_text()
    assert '| vader | moco-init (diagnostic) |' in md
    assert 'moco-init' not in md.split('Ablation signs')[1]
