"""tools/benchmark/learning.py at smoke size (the benchmark itself is not a test): it runs end to
end, writes the documented schema, the table and the plot, and a rerun skips finished runs."""
import json
import os
import os.path as osp
import sys

import pytest

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


def test_object_edges_follow_the_instance_outlines(demo_world, tmp_path):
    """The HierGroup ``object-edges`` diagnostic (``object_edge_ucm``, on a world of the demo's
    frames): its UCM trees, built through the real OWT-UCM, separate the world's instances far
    more than the default colour-gradient trees do (tree distance of pixel pairs on two
    instances minus that of pairs on one), and a cache of another edge recipe is refused."""
    import cv2
    import numpy as np

    from mmdense.datasets.ucm import compute_ucm_cache, load_ucm
    learning = _learning()
    root = tmp_path / 'world'
    (root / 'splits').mkdir(parents=True)
    for sub in ('frames', 'inst'):
        (root / sub).symlink_to(osp.join(demo_world, sub))
    rels = sorted(f'{c}/{f}' for c in os.listdir(root / 'frames')
                  for f in os.listdir(root / 'frames' / c))[:4]
    (root / 'splits' / 'train_frames.txt').write_text(''.join(r + '\n' for r in rels))
    trees = dict(object=learning.object_edge_ucm(str(root), str(tmp_path)),
                 colour=str(tmp_path / 'ucm_colour'))
    compute_ucm_cache(str(root / 'frames'), trees['colour'], images=rels)
    rng = np.random.default_rng(0)
    gaps = {}
    for kind, ucm in trees.items():
        same, diff = [], []
        for rel in rels:
            labels, dist = load_ucm(osp.join(ucm, osp.splitext(rel)[0] + '.npz'))[:2]
            inst = cv2.imread(str(root / 'inst' / rel), cv2.IMREAD_UNCHANGED)
            i, j = rng.integers(0, labels.size, (2, 4000))
            d = dist[labels.flat[i], labels.flat[j]]
            on_one = inst.flat[i] == inst.flat[j]
            same += list(d[on_one])
            diff += list(d[~on_one])
        gaps[kind] = np.mean(diff) - np.mean(same)
    assert gaps['object'] > gaps['colour'] + 0.1, gaps
    # the cache is reused for the same recipe and refused for another
    assert learning.object_edge_ucm(str(root), str(tmp_path)) == trees['object']
    (tmp_path / 'world_ucm_object_edges' / '.complete').write_text('grad_weight 1\n')
    with pytest.raises(RuntimeError, match='other object edges'):
        learning.object_edge_ucm(str(root), str(tmp_path))


def test_diagnostic_rows_are_marked_and_stay_out_of_the_ablation_signs():
    learning = _learning()
    records = [dict(method='vader', variant=v, seed=s, readout='linear@r18-fpn', metric='mIoU',
                    value=x + s) for v, x in (('main', 16), ('unmatched', 15), ('moco-init', 17),
                                              ('moco-only', 18)) for s in (0, 1)]
    signs = learning.ablation_signs(records)
    assert 'vader main vs unmatched, linear@r18-fpn: +1.0 (keeps' in signs
    assert 'moco' not in signs
    md = learning.markdown(records)
    assert '| vader | moco-init (diagnostic) |' in md and '| vader | moco-only (diagnostic) |' in md
    assert '| vader | unmatched |' in md


def test_diagnostic_variants_run(tmp_path):
    """``--variants diagnostic`` at smoke size, with the real runner. VADeR's ``moco-init``
    trains MoCo-v2 first, loads it into its encoder and momentum encoder, and trains the encoder
    at 1e-4 x the decoder's lr; ``moco-only`` reads the same MoCo encoder with a random decoder;
    HierGroup's ``object-edges`` trains on the object-edge UCM cache."""
    import torch
    out, results = tmp_path / 'work', tmp_path / 'learning.json'
    r = run_tool([sys.executable, SCRIPT, '--smoke', '--methods', 'vader', 'hiergroup',
                  '--seeds', '0', '--variants', 'diagnostic', '--parts', 'seg',
                  '--out-dir', str(out), '--results', str(results)])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    records = json.loads(results.read_text())
    got = {(rec['method'], rec['variant']) for rec in records}
    assert got == {('vader', 'moco-init'), ('vader', 'moco-only'), ('hiergroup', 'object-edges')}
    runs = out / 'runs'

    def state(path):
        return torch.load(path, map_location='cpu', weights_only=False)['state_dict']

    moco_path = runs / 'vader-moco-init-s0-mocov2' / 'iter_2.pth'
    moco, vader = state(moco_path), state(runs / 'vader-moco-init-s0' / 'iter_2.pth')
    log = (runs / 'vader-moco-init-s0' / 'train.log').read_text()
    assert f'load backbone. in model from: {moco_path}' in log
    assert 'missing keys' not in log and 'unexpected key' not in log
    from mmengine.config import Config
    lr = Config.fromfile(runs / 'vader-moco-init-s0' / 'config.py').optim_wrapper.optimizer.lr
    assert f'backbone.conv1.weight:lr={lr * 1e-4:g}' in log  # the encoder's lr multiplier
    params = [k for k in moco if k.startswith('backbone.') and 'running' not in k
              and 'num_batches' not in k]
    assert len(params) > 50
    for k in params:  # the MoCo encoder, barely moved, in the online and momentum networks
        assert torch.allclose(vader[k], moco[k], rtol=0, atol=1e-4), k
        mk = 'momentum_net.module.0.' + k[len('backbone.'):]
        assert torch.allclose(vader[mk], moco[k], rtol=0, atol=1e-4), mk
    only = state(runs / 'vader-moco-init-s0-mocov2' / 'moco_only.pth')
    assert all(torch.equal(only[k], moco[k]) for k in params)
    assert any(k.startswith('neck.') for k in only)
    cfg = (runs / 'hiergroup-object-edges-s0' / 'config.py').read_text()
    assert 'world_ucm_object_edges' in cfg
    assert (out / 'world_ucm_object_edges' / '.complete').exists()
    # the pair statistics of the three tree sources read this folder's world and trees
    stats = tmp_path / 'pairs.json'
    r = run_tool([sys.executable, osp.join(REPO, 'tools/benchmark/hiergroup_pair_stats.py'),
                  '--work', str(out), '--frames', '2', '--repeats', '1', '--out', str(stats)])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads(stats.read_text())
    assert set(res) == {'main', 'object-edges', 'random-regions'}
    for fig in res.values():
        assert fig['neg']['same_region'] == 0 and fig['pos']['n'] > 0
