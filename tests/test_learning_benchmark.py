"""tools/benchmark/learning.py at smoke size (the benchmark itself is not a test): it runs end to
end, writes the documented schema, the table and the plot, and a rerun skips finished runs."""
import json
import math
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

from helpers import (REPO, benchmark_pretrain_config, failure_report, pipeline_transforms,
                     process_alive, run_tool)

SCRIPT = osp.join(REPO, 'tools/benchmark/learning.py')


def test_learning_benchmark_smoke_and_resume(tmp_path):
    out, results = tmp_path / 'work', tmp_path / 'learning.json'
    # relative paths, as users type them (a relative --out-dir broke the MMDet readout's paths)
    args = [sys.executable, SCRIPT, '--smoke', '--methods', 'flowe', 'random', '--seeds', '0',
            '--variants', 'main', '--out-dir', 'work', '--results', 'learning.json']
    r = run_tool(args, cwd=tmp_path)
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
    # at the table's lr (TABLE_LR_SCALES: FlowE x3, the folder's -lr3x)
    assert (out / 'runs' / 'flowe-main-s0-lr3x' / 'iter_2.pth').exists()
    # the detection readout (MMDet CocoMetric, in %) read FlowE's pretrained encoder, frozen:
    # its backbone weights are the pretraining checkpoint's, and random init's are not
    import torch
    # and MMDet's per-class box AP comes with the class-agnostic AP of the same boxes
    for method in ('flowe', 'random'):
        for metric in ('bbox_mAP', 'bbox_mAP_agnostic'):
            assert 0 <= by[(method, 'faster-rcnn-fpn@r18', metric)] <= 100
    key = 'backbone.layer4.1.conv2.weight'
    flowe_run = out / 'runs' / 'flowe-main-s0-lr3x'
    pre = torch.load(flowe_run / 'iter_2.pth', map_location='cpu',
                     weights_only=False)['state_dict'][key]
    det = torch.load(flowe_run / 'det' / 'iter_2.pth', map_location='cpu',
                     weights_only=False)['state_dict'][key]
    rnd = torch.load(out / 'runs' / 'random-s0-det' / 'iter_2.pth', map_location='cpu',
                     weights_only=False)['state_dict'][key]
    assert torch.equal(pre, det) and not torch.allclose(pre, rnd)
    # random init's BN statistics come from the world's frames, as every pretrained encoder's
    # (MMDet's defaults, mean 0 and var 1, give C2 maps of half the pretrained encoders' scale)
    init = torch.load(out / 'runs' / 'random-s0-det' / 'random_init.pth', map_location='cpu',
                      weights_only=False)['state_dict']
    assert not torch.allclose(init['backbone.layer4.1.bn2.running_var'], torch.ones(512))
    assert torch.equal(init[key], rnd)
    table = (tmp_path / 'learning.md').read_text()
    assert '| flowe | main | linear@r18-d8 (mIoU) |' in table
    assert '| flowe | main | faster-rcnn-fpn@r18 (bbox_mAP) |' in table
    assert (tmp_path / 'learning.png').stat().st_size > 1000
    # resumable: a rerun finds every run done and trains nothing
    r = run_tool(args, cwd=tmp_path)
    assert r.returncode == 0 and 'already in' in r.stdout
    assert 'pretrain flowe' not in r.stdout
    assert json.loads(results.read_text()) == records
    # every run names the code version that made it, and the table says it
    head = subprocess.run(['git', '-C', REPO, 'rev-parse', '--short=7', 'HEAD'],
                          capture_output=True, text=True).stdout.strip()
    versions = json.loads((tmp_path / 'learning.versions.json').read_text())
    assert {'flowe/main/0/seg', 'flowe/main/0/det', 'random/main/0/seg',
            'random/main/0/det'} <= set(versions)
    assert {v.split('+')[0] for v in versions.values()} == {head}
    assert 'Code version of the runs: ' + versions['flowe/main/0/seg'] in \
        (tmp_path / 'learning.md').read_text()
    # a run whose rows are gone from the results is read again from its finished folders,
    # which are checked to be this run's (its pretraining and detection configs), not retrained
    det = [rec for rec in records if rec['method'] == 'flowe' and
           rec['readout'].startswith('faster-rcnn')]
    results.write_text(json.dumps([rec for rec in records if rec not in det]))
    r = run_tool(args, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert 'pretrain flowe' not in r.stdout and 'detection readout (' not in r.stdout
    assert sorted(map(json.dumps, json.loads(results.read_text()))) == \
        sorted(map(json.dumps, records))
    # the instance-vs-class probe reads the same folder: random init of every architecture and
    # the trained FlowE encoder
    r = run_tool([sys.executable, osp.join(REPO, 'tools/benchmark/instance_vs_class.py'),
                  '--work', str(out), '--iters', '2', '--out', str(tmp_path / 'ivc.json')])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rows = json.loads((tmp_path / 'ivc.json').read_text())['rows']
    assert {(row['method'], row['arch']) for row in rows if 'grid' not in row['arch']} == {
        ('random', 'r18-d8'), ('random', 'r18-fpn'), ('random', 'hypercolumn'),
        ('flowe', 'r18-d8')}
    assert any(row['method'] == 'position only' for row in rows)
    assert [row['checkpoint'] for row in rows if row['method'] == 'flowe'] == [
        'runs/flowe-main-s0-lr3x/iter_2.pth']
    assert all(0 <= row['instance']['learned'] <= 1 for row in rows)
    assert '| flowe | main | r18-d8 |' in r.stdout
    # the position-share measurement reads the same encoders
    r = run_tool([sys.executable, osp.join(REPO, 'tools/benchmark/position_share.py'),
                  '--work', str(out), '--iters', '2', '--out', str(tmp_path / 'pos.json')])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rows = json.loads((tmp_path / 'pos.json').read_text())['rows']
    assert [(row['method'], row['arch']) for row in rows] == [
        ('random', 'r18-d8'), ('random', 'r18-fpn'), ('random', 'hypercolumn'),
        ('flowe', 'r18-d8')]
    assert all(0 <= row['shares'][k]['raw'] <= 1 for row in rows
               for k in ('position', 'frame', 'class', 'class_residual'))
    assert '| flowe | main | r18-d8 |' in r.stdout


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
            if not process_alive(child_pid):
                break
            time.sleep(0.1)
        else:
            os.kill(child_pid, signal.SIGKILL)
            raise AssertionError('the training child outlived the killed benchmark process')
    finally:
        proc.kill()


def test_an_interrupted_run_resumes_and_another_config_is_refused(
        demo_world, tmp_path, monkeypatch):
    """A training child killed mid-run leaves ``config.py`` as ``tools/train.py`` rewrote it
    (with ``launcher``, and after a ``--resume`` with ``resume`` / ``load_from``): the rerun of
    the same config resumes from its checkpoint, twice, and ends with the uninterrupted run's
    losses; a rerun with another config is refused before anything trains. (The config's text
    used to be compared with the file's, so no interrupted run could be resumed.)"""
    import signal
    import subprocess
    import time

    from mmengine.config import Config

    from helpers import DEMO_CONFIG, logged_losses
    sys.path.insert(0, osp.join(REPO, 'tools/benchmark'))
    import child_run

    n = 6

    def config(work_dir, iters=n):
        cfg = Config.fromfile(DEMO_CONFIG)
        cfg.train_dataloader.dataset.data_root = demo_world
        cfg.train_dataloader.batch_size = 4
        cfg.train_dataloader.dataset.pipeline[0].transforms[0].scale = 64
        cfg.model.queue_len = 64
        cfg.train_cfg.max_iters = iters
        cfg.default_hooks.checkpoint.interval = 1
        cfg.default_hooks.logger.interval = 1
        cfg.log_processor.window_size = 1
        cfg.work_dir = str(work_dir)
        return cfg

    ref = tmp_path / 'ref'
    child_run.train_in_child(config(ref), str(ref), 'reference', expect=str(ref / f'iter_{n}.pth'))
    expected = logged_losses(ref)
    assert sorted(expected) == list(range(1, n + 1))

    real_run_logged = child_run.run_logged
    commands = []

    def killed_after(it):
        def run_logged(cmd, log_file):  # the real child, killed once iter_{it}.pth is written
            commands.append(cmd)
            with open(log_file, 'a') as f:
                proc = subprocess.Popen(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT)
            deadline = time.time() + 300
            while not (wd / f'iter_{it}.pth').exists() and proc.poll() is None:
                assert time.time() < deadline
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            return proc.wait()
        return run_logged

    wd = tmp_path / 'killed'
    for it in (2, 4):  # the first run, then a resumed one, are killed
        monkeypatch.setattr(child_run, 'run_logged', killed_after(it))
        with pytest.raises(RuntimeError, match='failed'):
            child_run.train_in_child(config(wd), str(wd), 'interrupted')
    assert ['--resume' in cmd for cmd in commands] == [False, True]
    left = Config.fromfile(wd / 'config.py')
    assert left.launcher == 'none' and left.resume is True  # as tools/train.py left it

    monkeypatch.setattr(child_run, 'run_logged', real_run_logged)
    with pytest.raises(RuntimeError, match='another config .*train_cfg differ'):
        child_run.train_in_child(config(wd, iters=n + 2), str(wd), 'longer run')
    child_run.train_in_child(config(wd), str(wd), 'resumed', expect=str(wd / f'iter_{n}.pth'))
    got = logged_losses(wd)  # every run's log; a repeated iteration logs the same value
    assert sorted(got) == list(range(1, n + 1))
    assert all(got[it] == expected[it] for it in got), (got, expected)

    # a finished run is reused only for its own config: the resumed one and the first one;
    # the code that trained it is recorded (its folder's stamp), unknown for an unstamped one
    version = child_run.code_version()
    assert child_run.read_stamp(str(wd), 'config.py') == [version]
    child_run.used_versions(clear=True)
    done, ref_done = str(wd / f'iter_{n}.pth'), str(ref / f'iter_{n}.pth')
    assert not child_run.reuse_finished(config(wd), str(wd), str(wd / 'absent.pth'), 'unfinished')
    assert child_run.used_versions() == set()  # nothing reused, nothing recorded
    assert child_run.reuse_finished(config(wd), str(wd), done, 'the same run')
    assert child_run.used_versions() == {version}
    (ref / 'config.py.versions').unlink()
    assert child_run.reuse_finished(config(ref), str(ref), ref_done, 'the same run')
    assert child_run.used_versions() == {version, 'not recorded'}
    with pytest.raises(RuntimeError, match=r'finished run with another config .*train_cfg'):
        child_run.reuse_finished(config(wd, iters=n + 2), str(wd), done, 'a longer run')
    (ref / 'config.py').unlink()
    with pytest.raises(RuntimeError, match='no config.py'):
        child_run.reuse_finished(config(ref), str(ref), ref_done, 'the same run')


def test_code_version_is_dirty_for_code_and_not_for_markdown(tmp_path, monkeypatch):
    """A run's stamp says ``+dirty`` when tracked code differs from the commit, and not when only
    a README or the benchmark's record (``tools/benchmark/README.md``) or results do."""
    monkeypatch.syspath_prepend(osp.join(REPO, 'tools/benchmark'))
    import child_run
    repo = tmp_path / 'repo'
    files = {'mmdense/a.py': 'x = 1\n', 'configs/m/README.md': '# m\n',
             'tools/benchmark/README.md': '# record\n', 'tools/benchmark/results/r.json': '[]\n',
             'tools/benchmark/learning.py': 'y = 1\n'}
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git = ['git', '-C', str(repo), '-c', 'user.name=t', '-c', 'user.email=t@t']
    subprocess.run(git + ['init', '-q'], check=True)
    subprocess.run(git + ['add', '.'], check=True)
    subprocess.run(git + ['commit', '-qm', 'x'], check=True)
    monkeypatch.setattr(child_run, 'REPO', str(repo))
    clean = child_run.code_version()
    assert len(clean) == 7 and '+' not in clean
    for name in ('configs/m/README.md', 'tools/benchmark/README.md',
                 'tools/benchmark/results/r.json'):
        (repo / name).write_text('edited\n')
    assert child_run.code_version() == clean
    for name in ('mmdense/a.py', 'tools/benchmark/learning.py'):
        (repo / name).write_text('edited\n')
        assert child_run.code_version() == clean + '+dirty', name
        subprocess.run(git + ['checkout', '-q', '--', name], check=True)


def test_ucm_trees_are_recomputed_when_the_world_frames_change(tmp_path):
    """The benchmark's UCM cache is valid for the frames it was computed from: reused as long as
    they are the same, recomputed when they change (a world regenerated with other content), so
    HierGroup never trains on the trees of other frames."""
    import cv2
    import numpy as np
    sys.path.insert(0, osp.join(REPO, 'tools/benchmark'))
    import learning
    root, ucm = learning.make_world(str(tmp_path), learning.SMOKE_WORLD)
    tree = osp.join(ucm, 'clip_000', '00000.npz')
    first = open(tree, 'rb').read()
    stamp = os.stat(tree).st_mtime_ns
    assert learning.make_world(str(tmp_path), learning.SMOKE_WORLD) == (root, ucm)
    assert os.stat(tree).st_mtime_ns == stamp  # reused
    frame = osp.join(root, 'frames', 'clip_000', '00000.png')
    cv2.imwrite(frame, np.ascontiguousarray(cv2.imread(frame)[::-1]))  # other content
    learning.make_world(str(tmp_path), learning.SMOKE_WORLD)
    assert open(tree, 'rb').read() != first


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


def test_class_tree_groups_the_world_by_shape_class(demo_world, tmp_path):
    """The HierGroup ``class-tree`` diagnostic's trees (``class_tree_ucm``, on the demo world's
    labels): one region per instance, tree distance 0 exactly between regions of one shape class,
    valid UCM files that ``load_ucm`` accepts; a cache of other frames is refused."""
    import cv2
    import numpy as np

    from mmdense.datasets.ucm import load_ucm
    learning = _learning()
    root = tmp_path / 'world'
    (root / 'splits').mkdir(parents=True)
    for sub in ('frames', 'inst', 'sem'):
        (root / sub).symlink_to(osp.join(demo_world, sub))
    rels = sorted(f'{c}/{f}' for c in os.listdir(root / 'frames')
                  for f in os.listdir(root / 'frames' / c))[:6]
    (root / 'splits' / 'train_frames.txt').write_text(''.join(r + '\n' for r in rels))
    ucm = learning.class_tree_ucm(str(root), str(tmp_path))
    rng = np.random.default_rng(0)
    seen = set()
    for rel in rels:
        labels, dist = load_ucm(osp.join(ucm, osp.splitext(rel)[0] + '.npz'))
        sem = cv2.imread(str(root / 'sem' / rel), cv2.IMREAD_UNCHANGED)
        inst = cv2.imread(str(root / 'inst' / rel), cv2.IMREAD_UNCHANGED)
        assert dist.shape[0] == len(np.unique(inst))
        i, j = rng.integers(0, labels.size, (2, 4000))
        same_region = labels.flat[i] == labels.flat[j]
        # a region is an instance (0, the background, is one)
        assert (same_region == (inst.flat[i] == inst.flat[j])).all()
        d = dist[labels.flat[i], labels.flat[j]]
        np.testing.assert_array_equal(d == 0, sem.flat[i] == sem.flat[j])
        seen |= set(np.unique(d).tolist())
    assert seen == {0.0, 1.0}
    assert learning.class_tree_ucm(str(root), str(tmp_path)) == ucm  # reused
    (tmp_path / 'world_ucm_class_tree' / '.complete').write_text('other frames\n')
    with pytest.raises(RuntimeError, match='class trees of other frames'):
        learning.class_tree_ucm(str(root), str(tmp_path))


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


def test_only_refuses_names_that_would_run_nothing(tmp_path, capsys):
    """``--only`` with a misspelt variant, or with a variant of a kind not in ``--variants``,
    stops at once with one error naming it and the fix (it ran nothing and said "0 runs"), before
    any world is made; right names pass."""
    learning = _learning()
    out = tmp_path / 'work'
    base = ['--methods', 'hiergroup', '--out-dir', str(out), '--results', str(tmp_path / 'r.json')]
    for extra, msg in ((['--variants', 'diagnostic', '--only', 'clas-pairs'],
                        "'clas-pairs' is not a variant of --methods hiergroup (they have: "),
                       (['--only', 'class-pairs'],
                        "'class-pairs' is a diagnostic variant: add --variants diagnostic"),
                       (['--variants', 'diagnostic', '--only', 'class-pairs', 'unmatched'],
                        "'unmatched' is not a variant of --methods hiergroup")):
        with pytest.raises(SystemExit) as exc:
            learning.main(base + extra)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert msg in err, err
        if 'clas-pairs' in extra:  # the message lists the names there are
            assert 'class-pairs, class-pairs-t0.1, class-tree' in err, err
            assert 'random-regions' in err, err
    assert not out.exists()  # nothing was made
    assert learning.check_only(['class-pairs', 'main'], ['hiergroup'],
                               ['main', 'diagnostic']) == ''
    assert learning.check_only(None, ['flowe'], ['main']) == ''
    assert learning.check_only(['detector-trained'], ['random'], ['diagnostic']) == ''
    assert 'add --variants main' in learning.check_only(['main'], ['vader'], ['ablation'])


def test_transitive_object_boxes_diagnostic_runs(tmp_path):
    """``--variants diagnostic`` for Transitive at smoke size: ``object-boxes`` mines its own
    graph with the boxes around the moving objects (settings relative to the world), trains the
    ranker on it and reads it out on object crops, as a diagnostic row."""
    out, results = tmp_path / 'work', tmp_path / 'learning.json'
    r = run_tool([sys.executable, SCRIPT, '--smoke', '--methods', 'transitive', '--seeds', '0',
                  '--variants', 'diagnostic', '--parts', 'object', '--out-dir', str(out),
                  '--results', str(results)])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    records = json.loads(results.read_text())
    assert {(rec['method'], rec['variant']) for rec in records} == {('transitive', 'object-boxes')}
    assert {rec['readout'] for rec in records if rec['metric'] == 'accuracy'} == {
        'object-linear@r18-patch64', 'object-nn@r18-patch64'}
    graph = out / 'runs' / 'transitive-graph-object-boxes'
    settings = json.loads((graph / 'graph_settings.json').read_text())
    assert settings['variant'] == 'object-boxes' and settings['mine']['objects'] == 'inst'
    assert json.loads((graph / 'graph.json').read_text())['pairs']
    assert '(diagnostic)' in results.with_suffix('.md').read_text()


def test_diagnostic_variants_run(tmp_path):
    """``--variants diagnostic`` at smoke size, with the real runner. VADeR's ``moco-init``
    trains MoCo-v2 first, loads it into its encoder and momentum encoder, and trains the encoder
    at 1e-4 x the decoder's lr; ``moco-only`` reads the same MoCo encoder with a random decoder;
    HierGroup's ``object-edges`` trains on the object-edge UCM cache, ``class-tree`` and
    ``class-pairs`` on the world-label trees (the latter with its hard sigma_p), and their
    sampled pairs follow the shape classes; CACL's and VADeR's ``momentum-0.99`` update their
    momentum networks with EMA weight 0.01 (the papers' 0.001); their ``crop-96`` pretrain on
    96x96 views, against the table's 64x64; VADeR's ``encoder-lr-1x`` and its unmatched ablation
    train the encoder at the decoder's lr, against the table's 0.1 x; its ``vflip`` pair also
    turns views upside down; CACL's ``same-position-hard-cycle`` takes no dense target from the
    global head, its ``same-position`` and ``hard-cycle`` one switch each; HierGroup's
    ``random-regions-t0.1`` samples a random partition at temperature 0.1."""
    import torch
    from mmengine.config import Config
    out, results = tmp_path / 'work', tmp_path / 'learning.json'
    r = run_tool([sys.executable, SCRIPT, '--smoke', '--methods', 'vader', 'hiergroup', 'cacl',
                  '--seeds', '0', '--variants', 'diagnostic', '--parts', 'seg',
                  '--out-dir', str(out), '--results', str(results)])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    records = json.loads(results.read_text())
    got = {(rec['method'], rec['variant']) for rec in records}
    assert got == {('vader', 'moco-init'), ('vader', 'moco-only'), ('hiergroup', 'object-edges'),
                   ('hiergroup', 'class-tree'), ('hiergroup', 'class-pairs'),
                   ('hiergroup', 'class-pairs-t0.1'), ('hiergroup', 't0.1'),
                   ('vader', 'momentum-0.99'), ('cacl', 'momentum-0.99'),
                   ('vader', 'crop-96'), ('cacl', 'crop-96'),
                   ('cacl', 'global-head-crop-96'), ('vader', 'unmatched-crop-96'),
                   ('vader', 'encoder-lr-1x'), ('vader', 'unmatched-encoder-lr-1x'),
                   ('vader', 'vflip'), ('vader', 'unmatched-vflip'),
                   ('cacl', 'same-position-hard-cycle'), ('cacl', 'same-position'),
                   ('cacl', 'hard-cycle'), ('hiergroup', 'random-regions-t0.1')}
    runs = out / 'runs'
    _check_momentum_diagnostic(runs)
    model = {v: Config.fromfile(next(runs.glob(f'{m}-{v}-s0*')) / 'config.py').model
             for m, v in (('cacl', 'global-head-crop-96'), ('vader', 'unmatched-crop-96'),
                          ('vader', 'unmatched-encoder-lr-1x'), ('vader', 'encoder-lr-1x'))}
    assert tuple(model['global-head-crop-96'].heads) == ('global_', )
    for variant, positive, soft in (('same-position-hard-cycle', 'same_position', False),
                                    ('same-position', 'same_position', True),
                                    ('hard-cycle', 'global', False),
                                    ('momentum-0.99', 'global', True)):  # the paper's
        (run, ) = runs.glob(f'cacl-{variant}-s0*')
        cacl = Config.fromfile(run / 'config.py').model
        assert (cacl.pixel_positive, cacl.soft_cycle) == (positive, soft), variant
        assert tuple(cacl.heads) == ('global_', 'pixel', 'cycle'), variant
        log = (run / 'train.log').read_text()  # all three dense and global losses trained
        assert all(re.search(rf'\bloss_{h}: [0-9.]+', log) for h in ('global', 'pixel', 'cycle'))
    assert [model[v].get('matching', 'correspondence') for v in (
        'unmatched-crop-96', 'unmatched-encoder-lr-1x', 'encoder-lr-1x')] == [
            'random', 'random', 'correspondence']
    for variant, mult in (('encoder-lr-1x', 1.0), ('unmatched-encoder-lr-1x', 1.0),
                          ('momentum-0.99', 0.1)):  # 0.1: the table's
        (run, ) = runs.glob(f'vader-{variant}-s0*')
        lr = Config.fromfile(run / 'config.py').optim_wrapper.optimizer.lr
        # the encoder's lr as mmengine's optimizer constructor set it
        logged = re.search(r'paramwise_options -- backbone\.conv1\.weight:lr=(\S+)',
                           (run / 'train.log').read_text())
        assert math.isclose(float(logged.group(1)), lr * mult, rel_tol=1e-9), variant
    for variant in ('vflip', 'unmatched-vflip', 'crop-96'):
        (run, ) = runs.glob(f'vader-{variant}-s0*')
        pipe = Config.fromfile(run / 'config.py').train_dataloader.dataset.pipeline
        affine = [(tuple(t['rotation_range']), t.get('prob', 1.0), t.get('flip_prob', 0.))
                  for t in pipeline_transforms(pipe) if t['type'] == 'RandomAffineView']
        # the half turn (p 0.5) right before the demo config's horizontal flip (p 0.5)
        assert affine == [((180., 180.), 0.5, 0.)] * (variant != 'crop-96') + [
            ((0., 0.), 1.0, 0.5)], variant
    for method, crop, ablation in (('cacl', 'PairRandomResizedBoxCrop', 'global-head-crop-96'),
                                   ('vader', 'RandomResizedCropAffine', 'unmatched-crop-96')):
        for variant, size in (('crop-96', 96), (ablation, 96),
                              ('momentum-0.99', 64)):  # 64: the table's
            (run, ) = runs.glob(f'{method}-{variant}-s0*')
            pipe = Config.fromfile(run / 'config.py').train_dataloader.dataset.pipeline
            assert [t['scale'] for t in pipeline_transforms(pipe) if t['type'] == crop] == [size]

    def state(path):
        return torch.load(path, map_location='cpu', weights_only=False)['state_dict']

    moco_path = runs / 'vader-moco-init-s0-mocov2' / 'iter_2.pth'
    moco, vader = state(moco_path), state(runs / 'vader-moco-init-s0-lr0.3x' / 'iter_2.pth')
    log = (runs / 'vader-moco-init-s0-lr0.3x' / 'train.log').read_text()
    assert f'load backbone. in model from: {moco_path}' in log
    assert 'missing keys' not in log and 'unexpected key' not in log
    lr = Config.fromfile(runs / 'vader-moco-init-s0-lr0.3x' /
                         'config.py').optim_wrapper.optimizer.lr
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
    cfg = (runs / 'hiergroup-object-edges-s0-lr0.3x' / 'config.py').read_text()
    assert 'world_ucm_object_edges' in cfg
    assert (out / 'world_ucm_object_edges' / '.complete').exists()
    hard = _learning().CLASS_PAIRS_SIGMA
    for variant, sigma, temperature, tree in (
            ('class-tree', 0.8, 1.0, 'world_ucm_class_tree'),
            ('class-pairs', hard, 1.0, 'world_ucm_class_tree'),
            ('class-pairs-t0.1', hard, 0.1, 'world_ucm_class_tree'),
            ('t0.1', 0.8, 0.1, 'world_ucm'),
            ('random-regions-t0.1', 0.8, 0.1, 'world_ucm')):
        cfg = Config.fromfile(runs / f'hiergroup-{variant}-s0-lr0.3x' / 'config.py')
        assert (cfg.model.sigma, cfg.model.temperature) == (sigma, temperature), variant
        pipe = cfg.train_dataloader.dataset.pipeline
        assert osp.basename(pipe[1].ucm_root) == tree
        # the random partition (matched to the UCM tree) only in the ablation's pipeline
        assert ('RandomUCM' in [t['type'] for t in pipe]) == variant.startswith('random'), variant
    # the pair statistics of the three tree sources read this folder's world and trees
    stats = tmp_path / 'pairs.json'
    r = run_tool([sys.executable, osp.join(REPO, 'tools/benchmark/hiergroup_pair_stats.py'),
                  '--work', str(out), '--frames', '2', '--repeats', '1', '--out', str(stats)])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads(stats.read_text())
    assert set(res) == {'main', 'object-edges', 'random-regions', 'class-tree', 'class-pairs'}
    for fig in res.values():
        assert fig['neg']['same_region'] == 0 and fig['pos']['n'] > 0
    # hard sampling on the label tree: positives of the anchor's class, negatives of others
    # (read back through each view's affine at the world's class map)
    assert res['class-pairs']['pos']['same_class'] > 0.95
    assert res['class-pairs']['neg']['same_class'] < 0.05
    assert res['class-tree']['pos']['same_class'] > res['main']['pos']['same_class']
    # what CACL's dense targets point at, read off this folder's CACL encoders
    r = run_tool([sys.executable, osp.join(REPO, 'tools/benchmark/cacl_dense_targets.py'),
                  '--work', str(out), '--iters', '2', '--out', str(tmp_path / 'cdt.json')])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rows = json.loads((tmp_path / 'cdt.json').read_text())['rows']
    variants = ['momentum-0.99', 'crop-96', 'global-head-crop-96', 'same-position-hard-cycle',
                'same-position', 'hard-cycle']
    assert [(row['variant'], row['bn']) for row in rows] == [
        (v, bn) for v in ['main', *variants] for bn in ('running', 'batch')]
    assert rows[2]['checkpoint'] == osp.relpath(runs / 'cacl-momentum-0.99-s0' / 'iter_2.pth')
    assert all(0 <= row[k] <= 1 for row in rows for k in row if k.startswith(
        ('soft_', 'chance_', 'eq4_', 'identity_')))
    assert len({(row['identity_same_object'], row['chance_same_class']) for row in rows}) == 1


def test_vflip_views_mirror_rows():
    """VADeR's ``vflip`` diagnostic views (its benchmark config, built by the registry, on a
    96x128 frame): each view is unflipped, flipped horizontally, vertically or both, about 1/4
    each, so a pair's rows are mirrored between its views in about half the pairs, as its
    columns are; the table's views flip columns only. Read from the views' affines (that the
    flipped views still pair one scene point is ``test_pair_pipelines``'). The half turn itself
    is checked on a picture: upside down and mirrored."""
    import tempfile

    import numpy as np
    from mmengine.registry import init_default_scope

    from mmdense.registry import TRANSFORMS
    init_default_scope('mmdense')  # the nested transforms are built in the caller's scope
    learning = _learning()
    with tempfile.TemporaryDirectory() as root:
        views = {v: TRANSFORMS.build(benchmark_pretrain_config('vader', v, root)
                                     .train_dataloader.dataset.pipeline[0])
                 for v in ('vflip', 'main')}
    rng = np.random.RandomState(0)
    frame = rng.randint(0, 256, (96, 128, 3)).astype(np.uint8)
    for variant in ('vflip', 'main'):
        np.random.seed(0)
        kinds, rows, cols = np.zeros((2, 2)), 0, 0
        for _ in range(200):
            out = views[variant](dict(img=frame.copy()))
            for a in (out['affine_v1'], out['affine_v2']):  # (columns flipped, rows flipped)
                kinds[int(a[0, 0] < 0), int(a[1, 1] < 0)] += 1
            rel = out['affine_v2'] @ np.linalg.inv(out['affine_v1'])
            rows += rel[1, 1] < 0
            cols += rel[0, 0] < 0
        kinds /= 400
        if variant == 'vflip':
            assert ((0.19 <= kinds) & (kinds <= 0.31)).all(), kinds
            assert 0.4 <= rows / 200 <= 0.6, rows
        else:
            assert kinds[:, 1].sum() == 0 and rows == 0 and 0.4 <= kinds[1, 0] <= 0.6, kinds
        assert 0.4 <= cols / 200 <= 0.6, (variant, cols)
    # the pictures: the half turn is the upside-down, right-left mirror of its input
    t = TRANSFORMS.build(dict(learning.DIAGNOSTIC_VFLIP, prob=1.0))
    out = t.transform(dict(img=frame.copy()))
    assert np.array_equal(out['img'], frame[::-1, ::-1])
    assert np.allclose(out['affine'][:2, :2], -np.eye(2), atol=1e-9)


def test_encoder_lr_diagnostic_needs_the_demo_optimizer(tmp_path):
    """VADeR's ``encoder-lr-1x`` changes its demo config's encoder lr multiplier; under the shared
    optimizer (``--pretrain-optim shared``, no multiplier) it is refused with the fix, rather
    than run as a copy of main."""
    with pytest.raises(ValueError, match='--pretrain-optim config'):
        benchmark_pretrain_config('vader', 'encoder-lr-1x', str(tmp_path), optim='shared')
    cfg = benchmark_pretrain_config('vader', 'encoder-lr-1x', str(tmp_path))
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult == 1.0


def _check_momentum_diagnostic(runs):
    """The ``momentum-0.99`` runs: their config's momentum is 0.01, and the model it builds
    gives its momentum network that EMA weight (the weight of the online parameters in
    mmengine's ``lerp`` update), against the main config's 0.001."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmdense.registry import MODELS
    init_default_scope('mmdense')
    for method in ('cacl', 'vader'):
        (run, ) = runs.glob(f'{method}-momentum-0.99-s0*')
        model = MODELS.build(Config.fromfile(run / 'config.py').model)
        assert model.momentum_net.momentum == 0.01, method
        main = Config.fromfile(osp.join(REPO, _learning().RUNS[(method, 'main')][0])).model
        assert MODELS.build(main).momentum_net.momentum == 0.001, method


def test_detector_trained_diagnostic_trains_the_encoder_it_starts_from(tmp_path):
    """The ``detector-trained`` diagnostic (random init and supervised, detection only): the
    readout's detector with the encoder trained too, starting from the main row's encoder (the
    supervised one is not pretrained again), in its own readout row."""
    import torch
    out, results = tmp_path / 'work', tmp_path / 'learning.json'
    r = run_tool([sys.executable, SCRIPT, '--smoke', '--methods', 'random', 'supervised',
                  '--seeds', '0', '--variants', 'diagnostic', '--out-dir', str(out),
                  '--results', str(results)])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    records = json.loads(results.read_text())
    assert {(rec['method'], rec['variant'], rec['readout'], rec['metric']) for rec in records} \
        == {(m, 'detector-trained', 'faster-rcnn-fpn-trained@r18', k)
            for m in ('random', 'supervised')
            for k in ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_agnostic')}
    runs = out / 'runs'
    assert sorted(p.name for p in runs.iterdir()) == ['random-s0-det-trained',
                                                      'supervised-main-s0']

    def state(path):
        return torch.load(path, map_location='cpu', weights_only=False)['state_dict']

    for start, trained in (
            (runs / 'random-s0-det-trained' / 'random_init.pth',
             runs / 'random-s0-det-trained' / 'iter_2.pth'),
            (runs / 'supervised-main-s0' / 'iter_2.pth',
             runs / 'supervised-main-s0' / 'det-trained' / 'iter_2.pth')):
        # it started from that encoder (2 iterations at a warm-up lr move it little) and
        # trained it: convs, BN weights and BN statistics
        from mmengine.config import Config
        cfg = Config.fromfile(trained.parent / 'det_config.py')
        assert cfg.model.backbone.pretrained_ckpt == str(start)
        a, b = state(start), state(trained)
        for k in ('backbone.conv1.weight', 'backbone.layer4.1.conv2.weight',
                  'backbone.bn1.weight', 'backbone.layer1.0.bn1.running_var'):
            assert not torch.equal(a[k], b[k]), (trained, k)
            if 'running' not in k:  # statistics move by BN's momentum, whatever the lr
                assert torch.allclose(a[k], b[k], rtol=0, atol=1e-3), (trained, k)
    # the table compares it with random init read out the same way (its own diagnostic row)
    by = {(rec['method'], rec['metric']): rec['value'] for rec in records}
    delta = by[('supervised', 'bbox_mAP')] - by[('random', 'bbox_mAP')]
    md = _learning().markdown(records)
    assert f'| supervised | detector-trained (diagnostic) | faster-rcnn-fpn-trained@r18 ' \
        f'(bbox_mAP) | {by[("supervised", "bbox_mAP")]:.1f} ± 0.0 | 1 | {delta:+.1f} |' in md


def test_standardise_zeroes_channels_dead_on_the_train_features():
    """A ReLU channel that is 0 on every train pixel but fires on a val pixel must not reach the
    readout as a huge value (it did: val variance 1e7 for the random hypercolumn of seed 0)."""
    import torch
    learning = _learning()
    g = torch.Generator().manual_seed(0)
    train = torch.randn(6, 4, 5, 5, generator=g) * torch.tensor([1., 2., .5, 1.]).view(1, 4, 1, 1)
    val = torch.randn(3, 4, 5, 5, generator=g)
    train[:, 3] = 0
    val[0, 3, 2, 2] = 0.01
    tr, va = learning.standardise(train, val)
    assert tr[:, 3].abs().max() == 0 and va[:, 3].abs().max() == 0
    # the live channels: plain standardisation with the train statistics, to the bit
    mean = train[:, :3].mean((0, 2, 3), keepdim=True)
    std = train[:, :3].std((0, 2, 3), keepdim=True)
    assert torch.equal(va[:, :3], (val[:, :3] - mean) / std)
    assert torch.allclose(tr[:, :3].std((0, 2, 3)), torch.ones(3))
    assert learning.effective_rank(va) > 1
    # relative to the median channel: a channel 1e5 x quieter than the others is dead too
    quiet = torch.randn(6, 8, 5, 5, generator=g)
    quiet[:, 2] *= 1e-5
    tr, va = learning.standardise(quiet, torch.randn(3, 8, 5, 5, generator=g))
    assert va[:, 2].abs().max() == 0 and tr[:, 2].abs().max() == 0
    assert (va[:, [0, 1, 3]].abs().amax((0, 2, 3)) > 0).all()
    # most channels dead (median std 0): a near-constant channel is not divided by its std
    mostly_dead = torch.zeros(6, 4, 5, 5)
    mostly_dead[:, 0] = torch.randn(6, 5, 5, generator=g)
    mostly_dead[0, 1, 0, 0] = 1e-9
    tr, = learning.standardise(mostly_dead)
    assert tr[:, 1:].abs().max() == 0 and tr[:, 0].std() > 0.9


def test_whiten_is_one_invertible_affine_map_with_identity_train_covariance():
    """The seg heads read whitened features: the train covariance becomes (nearly) the identity,
    the val features go through the same map, and nothing is lost (the map inverts)."""
    import torch
    learning = _learning()
    g = torch.Generator().manual_seed(0)
    mix = torch.randn(6, 6, generator=g) + 3 * torch.eye(6)  # correlated channels
    train = (torch.randn(10, 7, 9, 6, generator=g) @ mix).permute(0, 3, 1, 2) + 2
    val = (torch.randn(4, 5, 3, 6, generator=g) @ mix).permute(0, 3, 1, 2) + 2
    tr, va = learning.whiten(train, val, ridge=0)
    assert tr.shape == train.shape and va.shape == val.shape
    rows = tr.permute(0, 2, 3, 1).reshape(-1, 6)
    assert torch.allclose(rows.mean(0), torch.zeros(6), atol=1e-4)
    assert torch.allclose(torch.cov(rows.T), torch.eye(6), atol=1e-3)
    # the default ridge only shrinks the weakest directions a little
    lam = torch.linalg.eigvalsh(torch.cov(learning.whiten(train)[0].permute(0, 2, 3, 1)
                                          .reshape(-1, 6).T))
    assert lam.max() < 1.001 and lam.min() > 0.5
    # one affine map: recover it from the train pairs, and it maps val the same way
    src = torch.cat([train.permute(0, 2, 3, 1).reshape(-1, 6), torch.ones(len(rows), 1)], 1)
    sol = torch.linalg.lstsq(src.double(), rows.double()).solution
    val_src = torch.cat([val.permute(0, 2, 3, 1).reshape(-1, 6), torch.ones(60, 1)], 1)
    assert torch.allclose((val_src.double() @ sol).float(), va.permute(0, 2, 3, 1).reshape(-1, 6),
                          atol=1e-3)
    assert torch.linalg.matrix_rank(sol[:6]) == 6  # invertible: the heads lose nothing
    # a channel without variance (a dead one, zeroed by standardise) adds no direction and
    # blows nothing up: the output spans the 5 live directions only
    dead = train.clone()
    dead[:, 2] = 0
    tr, = learning.whiten(*learning.standardise(dead))
    assert tr.abs().max() < 50 and torch.isfinite(tr).all()
    assert torch.linalg.matrix_rank(tr.permute(0, 2, 3, 1).reshape(-1, 6)) == 5
    assert not learning.whiten(torch.zeros(2, 3, 4, 4))[0].any()


def test_seg_readouts_rank_the_standardised_features_and_train_on_whitened_ones(monkeypatch):
    """The effective rank shows collapse, so it is read before whitening (after it, the
    variance is spread over the directions, up to the ridge); the heads get the whitened
    features."""
    import numpy as np
    import torch
    learning = _learning()
    g = torch.Generator().manual_seed(0)
    low_rank = (torch.randn(8, 6, 6, 2, generator=g) @ torch.randn(2, 16, generator=g)) * 10
    low_rank = low_rank.permute(0, 3, 1, 2) + torch.randn(8, 16, 6, 6, generator=g)
    tr, va = learning.standardise(low_rank[:6], low_rank[6:])
    labels = np.zeros((8, 12, 12), np.uint8)
    seen = []

    def fake_readout(kernel, train_x, *args, **kwargs):
        seen.append(learning.effective_rank(train_x))
        return dict(mIoU=0.0, aAcc=0.0), [1.0, 0.5]

    monkeypatch.setattr(learning, 'train_readout', fake_readout)
    out = {r: v for r, m, v in learning.seg_readouts(
        'r18-d8', None, 0, None, feats=(tr, labels[:6], va, labels[6:]))
        if m == 'effective_rank'}
    assert out['pca@r18-d8'] <= 2
    assert seen and min(seen) > 10  # whitened: the variance is spread over the directions


def _instance_vs_class():
    sys.path.insert(0, osp.join(REPO, 'tools/benchmark'))
    import instance_vs_class
    return instance_vs_class


def _objects_world():
    """Instance and class maps of 3 different frames of a 12x16 grid: objects 1 and 3 are
    discs (class 1), object 2 a square (class 2)."""
    import numpy as np
    inst = np.zeros((3, 12, 16), np.uint8)
    inst[:, 1:7, 1:9] = 1
    inst[:, 6:11, 8:15] = 2      # overlaps object 1 (drawn on top)
    inst[0, 0:4, 10:16] = 3
    inst[1, 7:12, 0:5] = 3
    inst[2, 0:3, 11:16] = 3
    sem = np.choose(inst, [0, 1, 2, 1]).astype(np.uint8)
    return inst, sem


def test_instance_pairs_hold_as_many_of_each_kind_at_every_distance():
    """The instance probe's pairs: one frame, object cells only, negatives of two objects of the
    same class, and every (frame, distance) stratum as many same-object pairs as negatives, so
    that neither class, frame nor distance tells the label."""
    import numpy as np
    ivc = _instance_vs_class()
    inst, sem = _objects_world()
    a, b, same = ivc.instance_pairs(inst, sem, np.random.default_rng(0))
    ids, cls = inst.reshape(-1), sem.reshape(-1)
    assert len(a) > 100 and (ids[a] > 0).all() and (ids[b] > 0).all()
    frame = a // (12 * 16)
    assert (frame == b // (12 * 16)).all()
    assert np.array_equal(same, (ids[a] == ids[b]).astype(int))
    assert (cls[a] == cls[b]).all()  # negatives: objects 1 and 3, both discs
    r, c = np.divmod(a % (12 * 16), 16)
    r2, c2 = np.divmod(b % (12 * 16), 16)
    d2 = (r - r2) ** 2 + (c - c2) ** 2
    for key in set(zip(frame, d2)):
        sel = (frame == key[0]) & (d2 == key[1])
        assert same[sel].sum() == (1 - same[sel]).sum()
    assert set(frame) == {0, 1, 2}


def test_pair_aucs_see_features_that_encode_the_object():
    """A feature map whose channels say which object a cell is scores instance AUC 1; one that
    is noise scores about 0.5."""
    import numpy as np
    ivc = _instance_vs_class()
    inst, sem = _objects_world()
    rng = np.random.default_rng(0)
    pairs = ivc.instance_pairs(inst, sem, rng)
    onehot = np.eye(4)[inst].transpose(0, 3, 1, 2) + 0.01 * rng.standard_normal((3, 4, 12, 16))
    good = ivc.pair_aucs((onehot, pairs), (onehot, pairs))
    noise = rng.standard_normal((3, 4, 12, 16))
    bad = ivc.pair_aucs((noise, pairs), (noise, pairs))
    assert good['cosine'] > 0.99 and good['learned'] > 0.99
    assert abs(bad['cosine'] - 0.5) < 0.1
    # cells sample the label at their centres
    labels = np.arange(96 * 128).reshape(1, 96, 128)
    cells = ivc.cell_labels(labels, (12, 16))
    assert cells.shape == (1, 12, 16) and cells[0, 0, 0] == 4 * 128 + 4
    assert cells[0, 11, 15] == 92 * 128 + 124


def test_class_pairs_never_pair_one_clip():
    import numpy as np
    ivc = _instance_vs_class()
    sem = np.random.default_rng(1).integers(0, 5, (6, 4, 4)).astype(np.uint8)
    clips = ['c0', 'c0', 'c1', 'c1', 'c2', 'c2']
    a, b, same = ivc.class_pairs(sem, clips, np.random.default_rng(0), max_pairs=50)
    frame_a, frame_b = a // 16, b // 16
    assert len(a) == 100 and same.sum() == 50
    assert all(clips[i] != clips[j] for i, j in zip(frame_a, frame_b))
    flat = sem.reshape(-1)
    assert (flat[a] > 0).all() and np.array_equal(same, (flat[a] == flat[b]).astype(int))


def test_compare_results_counts_and_fails_on_a_difference(tmp_path):
    sys.path.insert(0, osp.join(REPO, 'tools/benchmark'))
    import compare_results
    rec = dict(method='flowe', variant='main', seed=0, readout='linear@r18-d8', metric='mIoU')
    ref = [dict(rec, value=18.0), dict(rec, seed=1, value=17.0), dict(rec, seed=2, value=1.0)]
    new = [dict(rec, value=18.0), dict(rec, seed=1, value=17.0 * (1 + 1e-8)),
           dict(rec, seed=2, value=1.5), dict(rec, seed=3, value=2.0),
           dict(rec, metric='bbox_mAP_agnostic', value=3.0)]
    counts, rows = compare_results.compare(ref, new)
    assert counts == dict(identical=1, close=1, different=1, missing=1, new_metric=1)
    assert [(r['seed'], r['kind']) for r in rows] == [(2, 'different'), (3, 'missing'),
                                                      (0, 'new_metric')]
    (tmp_path / 'ref.json').write_text(json.dumps(ref))
    # a figure the reference never had (added since) is listed, not a failure
    (tmp_path / 'same.json').write_text(json.dumps(new[:2] + new[4:]))
    (tmp_path / 'new.json').write_text(json.dumps(new))
    assert compare_results.main([str(tmp_path / 'ref.json'), str(tmp_path / 'same.json')]) == 0
    assert compare_results.main([str(tmp_path / 'ref.json'), str(tmp_path / 'new.json'),
                                 '--out', str(tmp_path / 'cmp.json')]) == 1
    assert json.loads((tmp_path / 'cmp.json').read_text())['counts']['different'] == 1
    (tmp_path / 'bad.json').write_text('[{"method": "flowe"}]')
    with pytest.raises(SystemExit, match='bad.json: expected a list'):
        compare_results.main([str(tmp_path / 'ref.json'), str(tmp_path / 'bad.json')])


def test_dilated_det_readout_reads_at_output_stride_8_and_resumes(tmp_path):
    """tools/benchmark/det_dilated_readout.py at smoke size: both encoders read every way, the
    dilated readout's anchors and RoIs sit at the strides its features have (with MMDet's
    stride-sized anchors or the standard sizes), the random encoder is one set of weights with
    BN statistics of the geometry it is read with, and a rerun runs nothing."""
    import math

    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    script = osp.join(REPO, 'tools/benchmark/det_dilated_readout.py')
    results = tmp_path / 'dil.json'
    args = [sys.executable, script, '--smoke', '--seeds', '0', '--learning-dir',
            str(tmp_path / 'learn'), '--out-dir', str(tmp_path / 'det'), '--results', str(results)]
    r = run_tool(args)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    records = json.loads(results.read_text())
    got = {(rec['encoder'], rec['geometry'], rec['metric']) for rec in records}
    geometries = ('standard', 'dilated', 'dilated-standard-anchors')
    assert got == {(e, g, m) for e in ('random', 'supervised') for g in geometries
                   for m in ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_agnostic')}
    assert all(0 <= rec['value'] <= 100 and (rec['det_iters'], rec['pretrain_iters']) == (2, 2)
               for rec in records)
    assert 'dilated - standard' in r.stdout and 'supervised - random init, dilated' in r.stdout
    assert 'dilated-standard-anchors - standard' in r.stdout
    det = tmp_path / 'det'
    # the dilated readout: every FPN level's anchor stride is the stride its feature map has
    cfg = Config.fromfile(str(det / 'random-s0-dilated-2it' / 'det_config.py'))
    assert tuple(cfg.model.backbone.strides) == (1, 2, 1, 1)
    assert tuple(cfg.model.backbone.dilations) == (1, 1, 2, 4)
    assert list(cfg.model.roi_head.bbox_roi_extractor.featmap_strides) == [4, 8, 8, 8]
    import mmdense  # noqa: F401
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model).eval()
    h, w = 96, 128
    with torch.no_grad():
        feats = model.neck(model.backbone(torch.zeros(1, 3, h, w)))
    strides = cfg.model.rpn_head.anchor_generator.strides
    assert len(feats) == len(strides)
    for f, s in zip(feats, strides):
        assert tuple(f.shape[-2:]) == (math.ceil(h / s), math.ceil(w / s)), (f.shape, s)
    # anchor sizes (px, per level): MMDet's, sized by stride, shrink when read dilated;
    # dilated-standard-anchors keeps the standard readout's, on the dilated strides
    from mmdet.registry import TASK_UTILS

    def anchors(geo):
        c = Config.fromfile(str(det / f'random-s0-{geo}-2it' / 'det_config.py'))
        gen = TASK_UTILS.build(c.model.rpn_head.anchor_generator)
        # sqrt of the area: the size whatever the aspect ratio
        return [round(float(((b[0, 2] - b[0, 0]) * (b[0, 3] - b[0, 1])).sqrt()), 3)
                for b in gen.base_anchors], gen.strides

    assert anchors('standard')[0] == [16., 32., 64., 128., 256.]
    assert anchors('dilated')[0] == [16., 32., 32., 32., 64.]
    assert anchors('dilated-standard-anchors')[0] == anchors('standard')[0]
    assert anchors('dilated-standard-anchors')[1] == anchors('dilated')[1]
    # one random encoder, read two ways: the same weights; BN statistics differ only where
    # the dilation changes the activations (layer3, layer4), and each readout got the
    # statistics of the geometry it reads with
    sys.path.insert(0, osp.join(REPO, 'tools', 'benchmark'))
    import learning_det
    state, fresh = {}, {}
    for geo in ('standard', 'dilated'):
        state[geo] = torch.load(det / f'random-s0-{geo}-2it' / 'random_init.pth',
                                weights_only=True)['state_dict']
        path = learning_det.random_init_checkpoint(
            str(tmp_path / 'learn' / 'world'), 0, str(tmp_path / f'{geo}.pth'),
            dilated=geo == 'dilated')
        fresh[geo] = torch.load(path, weights_only=True)['state_dict']
    std, dil = state['standard'], state['dilated']
    differ = {k for k in std if not torch.allclose(std[k], dil[k], rtol=1e-3, atol=1e-5)}
    assert differ and all(k.split('.')[1] in ('layer3', 'layer4') and 'running_' in k
                          for k in differ)
    assert all(torch.equal(std[k], dil[k]) for k in std if 'running_' not in k)
    # (the readouts ran with one thread, this test with more: the statistics agree to rounding,
    # far closer than to the other geometry's)
    for geo, other in (('standard', 'dilated'), ('dilated', 'standard')):
        for k in differ:
            own = (fresh[geo][k] - state[geo][k]).abs().max()
            assert own < 0.01 * (fresh[geo][k] - state[other][k]).abs().max(), (geo, k)
    # the supervised readouts read the supervised checkpoint, both ways
    key = 'backbone.layer4.1.conv2.weight'
    sup = torch.load(tmp_path / 'learn' / 'runs' / 'supervised-main-s0' / 'iter_2.pth',
                     weights_only=False)['state_dict'][key]
    for geo in geometries:
        read = torch.load(det / f'supervised-s0-{geo}-2it-pre2it' / 'iter_2.pth',
                          weights_only=False)['state_dict'][key]
        assert torch.equal(read, sup)
    # resumable
    r = run_tool(args)
    assert r.returncode == 0 and '6 runs, 6 already in' in r.stdout
    assert json.loads(results.read_text()) == records
    # a smoke run never writes next to the real figures
    r = run_tool([sys.executable, script, '--smoke', '--seeds', '0'])
    assert r.returncode == 2 and '--smoke needs its own --results and --out-dir' in r.stderr


def test_cacl_dense_targets_read_where_the_targets_point():
    """``cacl_dense_targets.target_stats``: global-head maps that code each cell's content give
    a soft target and an eq. 4 positive on the anchor's own cell (and object, class); maps
    constant over a frame give the uniform target, whose mass on an object is that object's
    share of the frame; maps that code the object find it after it moved."""
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, osp.join(REPO, 'tools/benchmark'))
    import cacl_dense_targets as cdt
    p, hw = 3, 16
    inst = torch.zeros(p, 2, hw, dtype=torch.long)
    inst[:, 0, 1:4] = 1  # object 1 on cells 1-3 of frame 1, moved to cells 2-4 in frame 2
    inst[:, 1, 2:5] = 1
    inst[:, :, 8:10] = 2  # object 2 still
    sem = (inst > 0).long() * 3  # both of class 3
    cells = torch.eye(hw)[None].repeat(p, 1, 1)  # (P, hw, D = hw): a code of the cell
    s, anchors = cdt.target_stats(cells, cells.clone(), 0.07, inst, sem)
    assert anchors == p * 5
    assert s['soft_same_position'] > 0.99 and s['soft_entropy'] < 0.01
    assert s['eq4_same_position'] == 1
    # the identity's cell shows the anchor's object where it did not move off it: cells 2, 3,
    # 8, 9 of the 5 anchor cells
    assert s['eq4_same_object'] == s['identity_same_object'] == pytest.approx(4 / 5)
    assert s['chance_same_object'] == pytest.approx((3 * 3 + 2 * 2) / 5 / hw)
    flat = torch.ones(p, hw, 4) / 2  # the same vector at every cell
    s, _ = cdt.target_stats(flat, flat.clone(), 0.07, inst, sem)
    assert s['soft_entropy'] == pytest.approx(1) and s['soft_same_position'] == pytest.approx(
        1 / hw)
    assert s['soft_same_object'] == pytest.approx(s['chance_same_object'])
    assert s['soft_same_class'] == pytest.approx(s['chance_same_class'])
    obj = F.normalize(F.one_hot(inst, 3).float() + 0.01, dim=-1)  # a code of the object
    s, _ = cdt.target_stats(obj[:, 0], obj[:, 1], 0.07, inst, sem)
    assert s['eq4_same_object'] == 1 and s['soft_same_object'] > 0.99
    assert s['eq4_same_class'] == 1 and s['eq4_same_position'] < 0.5


def test_position_share_finds_the_grouping_that_made_the_features():
    """``position_share.shares``: features made of a position code are explained by position
    (share 1) and not by frame; features made of a per-frame vector the other way round; noise
    by neither (about the chance share); and the class share reads the class at each cell."""
    import numpy as np
    sys.path.insert(0, osp.join(REPO, 'tools/benchmark'))
    import position_share as ps
    rng = np.random.default_rng(0)
    n, c, h, w = 40, 6, 4, 5
    sem = rng.integers(0, 3, (n, h, w)).astype(np.uint8)
    sem[0, 0, 0] = 255
    code = rng.standard_normal((c, h, w))
    by_pos = np.broadcast_to(code, (n, c, h, w)).copy()
    by_frame = np.broadcast_to(rng.standard_normal((n, c, 1, 1)), (n, c, h, w)).copy()
    by_class = np.eye(256)[sem][..., :3].transpose(0, 3, 1, 2)
    noise = rng.standard_normal((n, c, h, w))
    s = ps.shares(by_pos, sem)
    assert s['position']['raw'] == pytest.approx(1) and s['frame']['raw'] < 1e-9
    # a code of the row alone: all of it row, none column; the full position code is both
    by_row = np.broadcast_to(code[:, :, :1], (n, c, h, w)).copy()
    s = ps.shares(by_row, sem)
    assert s['row']['raw'] == pytest.approx(1) and s['column']['raw'] < 1e-9
    assert s['position']['raw'] == pytest.approx(1)
    s = ps.shares(np.broadcast_to(code[:, :1, :], (n, c, h, w)).copy(), sem)  # the column's
    assert s['column']['raw'] == pytest.approx(1) and s['row']['raw'] < 1e-9
    s = ps.shares(by_frame, sem)
    assert s['frame']['raw'] == pytest.approx(1) and s['position']['raw'] < 1e-9
    s = ps.shares(by_class, sem)
    assert s['class']['raw'] > 0.99 and s['class']['per_channel'] > 0.99
    assert s['class_residual']['raw'] > 0.9
    # a position code that happens to follow the class (the background at the border) counts
    # in the class share, but not in the residual one
    border = np.ones((h, w), np.uint8)
    border[1:-1, 1:-1] = 2
    s = ps.shares(by_pos, np.broadcast_to(border, (n, h, w)))
    assert s['class']['raw'] > 0.05 and s['class_residual']['raw'] < 1e-9
    # the same for a per-frame vector where the frames' classes differ: the frame term goes
    s = ps.shares(by_frame, np.broadcast_to((np.arange(n) % 3)[:, None, None], (n, h, w)))
    assert s['class']['raw'] > 0.01 and s['class_residual']['raw'] < 1e-9
    # a constant channel is left out of the per-channel mean, not counted as 0
    s = ps.shares(np.concatenate([by_class, np.ones((n, 1, h, w))], 1), sem)
    assert s['class']['per_channel'] > 0.99
    s = ps.shares(noise, sem)
    for k in ('position', 'row', 'column', 'frame', 'class', 'class_residual'):
        assert s[k]['raw'] < 3 * s[k]['chance']
    assert s['position']['chance'] == pytest.approx((h * w - 1) / (n * h * w - 1))
    # the raw share weighs channels by their variance; the per-channel share does not
    mixed = np.concatenate([10 * by_pos[:, :1], noise[:, 1:]], 1)
    s = ps.shares(mixed, sem)
    assert s['position']['raw'] > 0.9 and s['position']['per_channel'] < 0.3


def test_a_side_results_file_is_compared_with_the_baseline_random_rows(tmp_path):
    """--baseline: a --iters 3000 results file has no random rows of its own; the report takes
    them from the table's file, and the results file itself is left as it was."""
    side = [dict(method='vader', variant='main', seed=s, readout='linear@r18-fpn',
                 metric='mIoU', value=19 + s) for s in (0, 1, 2)]
    base = [dict(method='random', variant='main', seed=s, readout='linear@r18-fpn',
                 metric='mIoU', value=16 + 0.5 * s) for s in (0, 1, 2)]
    base += [dict(method='vader', variant='main', seed=0, readout='linear@r18-fpn',
                  metric='mIoU', value=0.0),  # not the baseline's to give
             dict(method='random', variant='main', seed=0, readout='linear@r18-d8',
                  metric='mIoU', value=1.0)]  # a readout the side file does not have
    results = tmp_path / 'side.json'
    results.write_text(json.dumps(side))
    (tmp_path / 'base.json').write_text(json.dumps(base))
    r = run_tool([sys.executable, SCRIPT, '--report-only', '--results', str(results),
                  '--baseline', str(tmp_path / 'base.json')])
    assert r.returncode == 0, failure_report(r)
    md = (tmp_path / 'side.md').read_text()
    # vader 20 +- 0.8 against random's mean 16.5, max 17: +3.5, lowest seed (19) above it
    assert '| vader | main | linear@r18-fpn (mIoU) | 20.0 ± 0.8 | 3 | +3.5 | yes |' in md
    assert '| random | main | linear@r18-fpn (mIoU) | 16.5 ± 0.4 | 3 |' in md
    assert 'r18-d8' not in md
    assert json.loads(results.read_text()) == side
    # bad baselines are refused, each by name and with what is wrong
    (tmp_path / 'norandom.json').write_text(json.dumps(side))
    (tmp_path / 'shares.json').write_text(json.dumps(dict(rows=[])))
    for name, why in (('norandom.json', "has no 'random' rows"), ('missing.json', 'no such file'),
                      ('shares.json', 'not a list of result records')):
        r = run_tool([sys.executable, SCRIPT, '--report-only', '--results', str(results),
                      '--baseline', str(tmp_path / name)])
        assert r.returncode != 0 and f'{name}: ' in r.stderr and why in r.stderr, r.stderr[-800:]


def test_merge_joins_results_files_with_their_code_versions(tmp_path):
    """--merge: a table whose seeds were run by several commands (two sessions) is one command,
    not a hand edit. The records keep their files' order, each run keeps the code version its
    file named, the report compares with --baseline's random rows, and a run in two files, an
    existing --results or a file that is not a results list is refused by name."""
    def rows(variant, seeds, value):
        return [dict(method='cacl', variant=variant, seed=s, readout='linear@r18-d8',
                     metric='mIoU', value=value + s) for s in seeds]

    def write(name, records, versions):
        (tmp_path / f'{name}.json').write_text(json.dumps(records))
        (tmp_path / f'{name}.versions.json').write_text(json.dumps(versions))
        return str(tmp_path / f'{name}.json')

    a = write('a', rows('main', [0], 19), {'cacl/main/0/seg': 'aaa', 'cacl/main/9/seg': 'x'})
    # b also names a run it does not hold, which a's version must win over
    b = write('b', rows('main', [1, 2], 19), {'cacl/main/1/seg': 'bbb', 'cacl/main/2/seg': 'bbb',
                                              'cacl/main/0/seg': 'zzz'})
    c = str(tmp_path / 'c.json')  # no versions file: its runs are unrecorded
    (tmp_path / 'c.json').write_text(json.dumps(rows('hard-cycle', [0], 20)))
    base = [dict(method='random', variant='main', seed=s, readout='linear@r18-d8',
                 metric='mIoU', value=17 + 0.5 * s) for s in (0, 1, 2)]
    (tmp_path / 'base.json').write_text(json.dumps(base))
    out = tmp_path / 'merged.json'
    r = run_tool([sys.executable, SCRIPT, '--merge', a, b, c, '--results', str(out),
                  '--baseline', str(tmp_path / 'base.json')])
    assert r.returncode == 0, failure_report(r)
    assert json.loads(out.read_text()) == rows('main', [0], 19) + rows('main', [1, 2], 19) + \
        rows('hard-cycle', [0], 20)
    # only the merged runs' versions, each as its own file named it
    assert json.loads((tmp_path / 'merged.versions.json').read_text()) == {
        'cacl/main/0/seg': 'aaa', 'cacl/main/1/seg': 'bbb', 'cacl/main/2/seg': 'bbb'}
    md = (tmp_path / 'merged.md').read_text()
    # main 20 +- 0.8 against random's mean 17.5, max 18: +2.5, lowest seed (19) above it
    assert '| cacl | main | linear@r18-d8 (mIoU) | 20.0 ± 0.8 | 3 | +2.5 | yes |' in md
    # c's run and the baseline's 3 random runs are unrecorded
    assert 'not recorded (4 runs), bbb (2 runs), aaa (1 runs).' in md
    assert (tmp_path / 'merged.png').stat().st_size > 0
    # refused, by name, with nothing written: an existing --results or versions file (never
    # overwritten), a --results whose report would land on a source's, a run in two files, files
    # that are not a table's results or versions
    written = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    d = write('d', rows('main', [2, 3], 0), {})
    e = write('e', [{k: v for k, v in r.items() if k != 'seed'} for r in rows('x', [0], 0)], {})
    f = write('f', rows('main', [7], 0), {})
    (tmp_path / 'f.versions.json').write_text('{"cacl/main/7/seg": ')
    (tmp_path / 'g.json').write_text(json.dumps(dict(rows=[])))
    (tmp_path / 'stray.versions.json').write_text('{}')  # left by a killed run
    learning = _learning()
    for args, target, why in (
            ([a], out, 'merged.json exists'),
            ([a], tmp_path / 'stray.json', 'stray.versions.json exists'),
            ([a, c], tmp_path / 'c', "would be --merge " + c),
            ([b, d], None, 'd.json: run cacl/main/2/seg is also in ' + b),
            ([a, e], None, 'e.json: record 0 has no seed'),
            ([a, f], None, 'f.versions.json is not valid JSON'),
            ([a, str(tmp_path / 'g.json')], None, 'g.json: not a list of result records'),
            ([a, str(tmp_path / 'h.json')], None, 'h.json: no such file')):
        with pytest.raises((ValueError, OSError)) as err:
            learning.merge_results(args, str(target or tmp_path / 'new.json'))
        assert why in str(err.value)
        assert not (tmp_path / 'new.json').exists() and not \
            (tmp_path / 'new.versions.json').exists() and not (tmp_path / 'stray.json').exists()
    assert {n: (tmp_path / n).read_bytes() for n in written} == written
    # the command gives one error line that names the file, and --readme is checked first
    r = run_tool([sys.executable, SCRIPT, '--merge', b, d, '--results', str(tmp_path / 'new.json')])
    assert r.returncode == 2 and 'error: --merge ' + d in r.stderr and \
        'Traceback' not in r.stderr, r.stderr[-800:]
    (tmp_path / 'README.md').write_text('no markers')
    r = run_tool([sys.executable, SCRIPT, '--merge', a, '--results', str(tmp_path / 'new.json'),
                  '--readme', str(tmp_path / 'README.md')])
    assert r.returncode == 2 and 'has no <!-- learning-table -->' in r.stderr, r.stderr[-800:]
    assert not (tmp_path / 'new.json').exists()


def test_transitive_ranker_follows_the_pretraining_budget(tmp_path):
    """--iters reached every row but Transitive's: its ranker trained its own 200 iterations at
    --iters 3000. It now scales with --iters (200 at the table's 300), and its config keeps a
    checkpoint every 1000 iterations at most, so a long run resumes."""
    learning = _learning()
    import learning_transitive as lt
    assert learning.transitive_iters(learning.PRETRAIN_ITERS, lt.DEFAULT_ITERS) == 200
    assert learning.transitive_iters(3000, lt.DEFAULT_ITERS) == 2000
    assert learning.transitive_iters(1, lt.DEFAULT_ITERS) == 1
    asked = []

    class FakeLT:
        DEFAULT_ITERS = lt.DEFAULT_ITERS

        @staticmethod
        def pretrain_transitive(root, work_dir, seed, variant, iters, log=print, lr_scale=1.0,
                                split='train'):
            asked.append((osp.basename(work_dir), iters, lr_scale, split))
            return osp.join(work_dir, f'iter_{iters}.pth')

    world = learning.TransitiveWorld.__new__(learning.TransitiveWorld)
    world.lt, world.root, world.out_dir = FakeLT, str(tmp_path), str(tmp_path)
    world.pretrain('main', 1, 3000)
    world.pretrain('tracking-only', 0, learning.PRETRAIN_ITERS)
    # another lr, or the tuning split, trains in a folder of its own (as the seg rows do)
    world.pretrain('main', 0, learning.PRETRAIN_ITERS, 3.0, 'tune_train')
    assert asked == [('transitive-main-s1', 2000, 1.0, 'train'),
                     ('transitive-tracking-only-s0', 200, 1.0, 'train'),
                     ('transitive-main-s0-lr3x-tune_train', 200, 3.0, 'tune_train')]
    assert lt.make_config(iters=200).default_hooks.checkpoint.interval == 200
    assert lt.make_config(iters=2000).default_hooks.checkpoint.interval == 1000


def test_supervised_object_reference_trains_the_tower_the_readout_reads(demo_world, tmp_path):
    """The object readout's supervised row: the same ResNet-18 tower trained on the train
    clips' object crops with their shape labels (the ranker's budget), then read out frozen:
    the readout's weights are the trained ones."""
    import cv2
    import numpy as np
    import torch
    _learning()
    import learning_transitive as lt
    from mmdense.evaluation import DenseEncoder
    work = tmp_path / 'runs' / 'supervised-objects-s0'
    ckpt = lt.pretrain_supervised(demo_world, str(work), seed=0, iters=2, log=lambda s: 0)
    # the crops it trained on are the readout's train crops, labelled 0-3 by shape
    crops, labels = lt.object_crops(demo_world, 'train')
    lines = (tmp_path / 'runs' / 'object-crops' / 'train.txt').read_text().split()
    names, written = lines[0::2], np.array(lines[1::2], int)
    assert len(names) == len(crops) and (written == labels - 1).all()
    np.testing.assert_array_equal(
        cv2.imread(str(tmp_path / 'runs' / 'object-crops' / names[0])), crops[0])
    saved = torch.load(ckpt, weights_only=False)
    state = saved['state_dict']
    assert state['head.fc.weight'].shape == (4, 512)
    # end to end: every parameter, the tower's first convolution included, got gradients (SGD
    # momentum buffers, one per parameter, none zero)
    buffers = [v['momentum_buffer'] for v in saved['optimizer']['state'].values()]
    stats = ('running_mean', 'running_var', 'num_batches_tracked')
    n_params = sum(1 for k in state if not k.endswith(stats))
    assert len(buffers) == n_params and all(b.abs().sum() > 0 for b in buffers)
    # the readout reads those weights
    enc = DenseEncoder(str(work / 'supervised_config.py'), ckpt, use_neck=False)
    for key, value in enc.backbone.state_dict().items():
        torch.testing.assert_close(value, state['backbone.' + key])
    out = lt.object_readout(demo_world, ckpt, str(work / 'supervised_config.py'),
                            log=lambda s: 0)
    assert 0 <= out['object-linear'] <= 100 and out['num_train'] == len(crops)
    # the crops are written again when the world's annotations change, not read stale
    crops_dir = tmp_path / 'runs' / 'object-crops'
    (crops_dir / 'train.sha256').write_text('0' * 64)
    (crops_dir / names[0]).unlink()
    lt.write_object_crops(demo_world, str(crops_dir), 'train', log=lambda s: 0)
    assert (crops_dir / names[0]).exists()
    # a second call reuses the checkpoint instead of training again
    mtime = os.stat(ckpt).st_mtime_ns
    assert lt.pretrain_supervised(demo_world, str(work), 0, 2, log=lambda s: 0) == ckpt
    assert os.stat(ckpt).st_mtime_ns == mtime


def test_the_supervised_object_row_runs_from_the_command_line(tmp_path):
    """``--methods supervised --parts object`` reads out the supervised object reference (the
    object readouts were set up only when Transitive or random init was asked for)."""
    r = run_tool([sys.executable, SCRIPT, '--smoke', '--methods', 'supervised', '--seeds', '0',
                  '--variants', 'main', '--parts', 'object', '--out-dir', str(tmp_path / 'w'),
                  '--results', str(tmp_path / 'r.json')])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    records = json.loads((tmp_path / 'r.json').read_text())
    by = {(x['method'], x['readout'], x['metric']): x['value'] for x in records}
    assert {k[:2] for k in by} == {('supervised', f'{k}@r18-patch64')
                                   for k in ('object-linear', 'object-nn', 'pca', 'pretraining')}
    run = tmp_path / 'w' / 'runs' / 'supervised-objects-s0'
    assert (run / 'iter_1.pth').exists()
    # the tower's training loss is recorded, as its run logged it, in the object part
    logged = [row['loss'] for row in _learning().scalar_rows(str(run)) if 'loss' in row]
    assert len(logged) == 1
    assert by[('supervised', 'pretraining@r18-patch64', 'loss_first')] == logged[0]
    assert by[('supervised', 'pretraining@r18-patch64', 'loss_last')] == logged[-1]
    assert {_learning().part_of(x['readout']) for x in records} == {'object'}


def test_transitive_row_records_the_ranking_loss(tmp_path):
    """Transitive's row records the ranking loss its ranker logged (first and last), in the
    object part, as the seg rows record their pretraining loss."""
    learning = _learning()
    run = tmp_path / 'transitive-main-s0'
    (run / '20260101_000000' / 'vis_data').mkdir(parents=True)
    rows = [dict(loss=0.32, iter=10), dict(lr=0.01, iter=15), dict(loss=0.05, iter=20)]
    (run / '20260101_000000' / 'vis_data' / 'scalars.json').write_text(
        ''.join(json.dumps(r) + '\n' for r in rows))

    class FakeWorld:
        def pretrain(self, variant, seed, iters, lr_scale=1.0):
            assert lr_scale == 3.0  # --pretrain-lr-scale transitive=3 reaches the ranker
            return str(run / 'iter_20.pth')

        def readout(self, checkpoint, seed):
            assert checkpoint == str(run / 'iter_20.pth')
            return [('object-linear@r18-patch64', 'accuracy', 30.0)]

    recs = learning.run_one('transitive', 'main', 0, 'object', None, None, str(tmp_path), 300,
                            None, FakeWorld(), lr_scale=3.0)
    by = {(r['readout'], r['metric']): r['value'] for r in recs}
    assert by == {('pretraining@r18-patch64', 'loss_first'): 0.32,
                  ('pretraining@r18-patch64', 'loss_last'): 0.05,
                  ('object-linear@r18-patch64', 'accuracy'): 30.0}
    assert {learning.part_of(r['readout']) for r in recs} == {'object'}


@pytest.mark.parametrize('arch', ['r18-fpn', 'hypercolumn'])
def test_supervised_reference_trains_the_encoder_of_each_architecture(arch, tmp_path):
    """The ``supervised`` row frames every architecture's rows, as random init does: VADeR's
    ResNet-18 + FPN decoder and HierGroup's hypercolumn, each trained end to end on the labels
    (every parameter the readout reads got gradients, BN statistics moved), and the seg readout
    reads exactly those weights."""
    import torch
    L = _learning()
    root, ucm = L.make_world(str(tmp_path), L.SMOKE_WORLD, with_ucm=False)
    ckpt = L.pretrain('supervised', 'main', 0, root, ucm, str(tmp_path), 2, arch=arch)
    assert osp.basename(osp.dirname(ckpt)) == f'supervised-main-s0-{arch}'
    saved = torch.load(ckpt, map_location='cpu', weights_only=False)
    state = saved['state_dict']
    stats = ('running_mean', 'running_var', 'num_batches_tracked')
    params = [k for k in state if not k.endswith(stats)]
    # the hypercolumn's 32-d embedding conv is pretraining's output, not the readout's input
    unread = [k for k in params if k.startswith('backbone.neck.out.')]
    assert len(unread) == (2 if arch == 'hypercolumn' else 0)
    moments = [v['exp_avg'] for v in saved['optimizer']['state'].values()]
    assert len(moments) == len(params) - len(unread) and all(m.abs().sum() > 0 for m in moments)
    var = [v for k, v in state.items() if k.endswith('running_var') and 'decode_head' not in k]
    assert var and all(not torch.equal(v, torch.ones_like(v)) for v in var)
    # the readout's encoder is the checkpoint's, key by key (build_encoder loads strictly)
    enc = L.build_encoder(arch, L.supervised_encoder(ckpt, arch), seed=1)
    read = {f'{part}.{k}': v for part in ('backbone', 'neck') if getattr(enc, part, None)
            for k, v in getattr(enc, part).state_dict().items()}
    if arch == 'hypercolumn':  # ReadoutHypercolumn holds the ResNet and the head
        read = {k[len('backbone.'):]: v for k, v in read.items()}
        state = {k[len('backbone.'):]: v for k, v in state.items()
                 if k.startswith(('backbone.backbone.', 'backbone.neck.'))}
    else:
        state = {k: v for k, v in state.items() if not k.startswith('decode_head.')}
    assert read.keys() == state.keys()
    for key, value in read.items():
        torch.testing.assert_close(value, state[key], rtol=0, atol=0)


def test_tune_pretrain_sweeps_the_lr_on_the_train_clips_tuning_split(tmp_path):
    """``--tune-pretrain`` at smoke size: each lr scale pretrains on the tuning split's train
    clips only, with the demo config's lr times the scale, and is read out on the tuning split
    (never the val clips); the rule picks among the runs that trained."""
    import torch
    from mmengine.config import Config
    out, results = tmp_path / 'work', tmp_path / 'learning.json'
    r = run_tool([sys.executable, SCRIPT, '--smoke', '--methods', 'flowe', '--tune-pretrain',
                  '1', '3', '--out-dir', str(out), '--results', str(results)])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    records = json.loads((tmp_path / 'learning_tune-pretrain.json').read_text())
    by = {(rec['method'], rec['variant'], rec['readout'], rec['metric']): rec['value']
          for rec in records}
    for variant in ('lr1x', 'lr3x'):
        for head in ('linear', 'deeplabv1'):
            assert 0 <= by[('flowe', variant, f'{head}@r18-d8', 'mIoU')] <= 100
        assert ('flowe', variant, 'pretraining', 'loss_last') in by
    assert ('random', 'main', 'linear@r18-d8', 'mIoU') in by
    assert not results.exists()  # the table's results file is not touched
    assert 'tune-pretrain flowe: lr x' in r.stdout + r.stderr
    # the splits: tuning train and val are disjoint train clips, and no val clip is read
    splits = out / 'world' / 'splits'

    def clips(name):
        return set(osp.basename(line.strip()) for line in open(splits / f'{name}_clips.txt'))

    tune_train, tune_val = clips('tune_train'), clips('tune_val')
    assert tune_train and tune_val and not tune_train & tune_val
    assert tune_train | tune_val == clips('train') and not (tune_train | tune_val) & clips('val')
    base = Config.fromfile(osp.join(REPO, 'configs/flowe/flowe_resnet18-d8_1xb8-300iters_'
                                    'demo-world.py')).optim_wrapper.optimizer.lr
    ckpts = {}
    for scale, tag in ((1, ''), (3, '-lr3x')):
        run = out / 'runs' / f'flowe-main-s0{tag}-tune_train'
        cfg = Config.fromfile(str(run / 'config.py'))
        assert cfg.train_dataloader.dataset.sources == 'splits/tune_train_clips.txt'
        assert cfg.optim_wrapper.optimizer.lr == pytest.approx(base * scale)
        ckpts[scale] = torch.load(run / 'iter_2.pth', map_location='cpu',
                                  weights_only=False)['state_dict']
    key = 'backbone.layer4.1.conv2.weight'
    assert not torch.equal(ckpts[1][key], ckpts[3][key])
    # a rerun skips both finished sweeps
    r = run_tool([sys.executable, SCRIPT, '--smoke', '--methods', 'flowe', '--tune-pretrain',
                  '1', '3', '--out-dir', str(out), '--results', str(results)])
    assert r.returncode == 0 and '3 runs, 3 already in' in r.stdout + r.stderr


def test_choose_lr_scale_skips_failed_runs_and_picks_the_best_mean():
    sys.path.insert(0, osp.dirname(SCRIPT))
    import learning

    def rows(variant, lin, dl, loss=1.0, method='flowe', arch='r18-d8'):
        recs = [dict(method=method, variant=variant, seed=0, readout=f'{h}@{arch}',
                     metric='mIoU', value=v) for h, v in (('linear', lin), ('deeplabv1', dl))]
        if method != 'random':
            recs += [dict(method=method, variant=variant, seed=0, readout='pretraining',
                          metric=m, value=loss) for m in ('loss_first', 'loss_last')]
        return recs

    failed = [dict(method='flowe', variant='lr30x', seed=0, readout='pretraining',
                   metric='failed', value=1)]
    recs = (rows('lr1x', 10, 12) + rows('lr3x', 14, 16) + rows('lr10x', 20, 22, float('nan')) +
            failed + rows('main', 9, 9, method='random'))
    scale, best, x1, rnd = learning.choose_lr_scale(recs, 'flowe')
    assert (scale, best, x1, rnd) == (3.0, 15.0, 11.0, 9.0)
    assert learning.choose_lr_scale(failed, 'flowe') is None


def test_tune_pretrain_sweeps_transitives_ranker_on_the_tuning_split(tmp_path):
    """``--tune-pretrain`` for Transitive at smoke size: the graph is mined from the tuning
    split's train clips only, each lr scale trains the ranker at the demo config's lr times the
    scale, and the object readout trains on the ``tune_train`` clips' object crops and is
    scored on the ``tune_val`` clips' (never a val clip); the rule picks by object accuracy."""
    import torch
    from mmengine.config import Config
    import re
    import shutil
    learning = _learning()
    import learning_transitive as lt
    out, results = tmp_path / 'work', tmp_path / 'learning.json'
    # the val split is made unreadable first: the sweep must never need it
    root = learning.make_world(str(out), learning.SMOKE_WORLD, with_ucm=False)[0]
    val = [osp.basename(c) for c in lt.read_clips(root, 'val')]
    (out / 'world' / 'annotations' / 'instances_val.json').write_text('not json')
    (out / 'world' / 'splits' / 'val_clips.txt').write_text('frames/no_such_clip\n')
    for clip in val:
        shutil.move(str(out / 'world' / 'frames' / clip), str(tmp_path / clip))
    cmd = [sys.executable, SCRIPT, '--smoke', '--methods', 'transitive', '--tune-pretrain',
           '1', '3', '--out-dir', str(out), '--results', str(results)]
    r = run_tool(cmd)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    records = json.loads((tmp_path / 'learning_tune-pretrain.json').read_text())
    by = {(rec['method'], rec['variant'], rec['readout'], rec['metric']): rec['value']
          for rec in records}
    for variant in ('lr1x', 'lr3x'):
        for head in ('object-linear', 'object-nn'):
            assert 0 <= by[('transitive', variant, f'{head}@r18-patch64', 'accuracy')] <= 100
        assert ('transitive', variant, 'pretraining@r18-patch64', 'loss_last') in by
    assert ('random', 'main', 'object-linear@r18-patch64', 'accuracy') in by
    assert not results.exists()
    assert 'tune-pretrain transitive: lr x' in r.stdout + r.stderr
    tune_train = {osp.basename(c) for c in lt.read_clips(root, 'tune_train')}
    tune_val = {osp.basename(c) for c in lt.read_clips(root, 'tune_val')}
    # the graph: mined from the tune_train clips only, and it says so
    graph_dir = out / 'runs' / 'transitive-graph-main-tune_train'
    graph = json.loads((graph_dir / 'graph.json').read_text())
    mined = {}
    for clip in (graph_dir / 'mined').glob('*.json'):
        mined.update((n['id'], osp.basename(osp.normpath(n['video'])))
                     for n in json.loads(clip.read_text())['nodes'])
    assert graph['nodes'] and {n['id'] for n in graph['nodes']} <= set(mined)
    assert mined and set(mined.values()) <= tune_train
    assert json.loads((graph_dir / 'graph_settings.json').read_text())['split'] == 'tune_train'
    base = Config.fromfile(lt.BASE_CONFIG).optim_wrapper.optimizer.lr
    ckpts = {}
    for scale, tag in ((1, ''), (3, '-lr3x')):
        run = out / 'runs' / f'transitive-main-s0{tag}-tune_train'
        cfg = Config.fromfile(str(run / 'transitive_config.py'))
        assert cfg.optim_wrapper.optimizer.lr == pytest.approx(base * scale)
        assert cfg.train_dataloader.dataset.graph_file == str(graph_dir / 'graph.json')
        ckpts[scale] = torch.load(next(run.glob('iter_*.pth')), map_location='cpu',
                                  weights_only=False)['state_dict']
    key = 'backbone.layer4.1.conv2.weight'
    assert not torch.equal(ckpts[1][key], ckpts[3][key])
    # the readout's crops: the train clips' objects split by clip into tune_train and tune_val
    every, _ = lt.object_crops(root, 'train')
    fit, _ = lt.object_crops(root, 'train', clips=tune_train)
    scored, _ = lt.object_crops(root, 'train', clips=tune_val)
    assert len(fit) and len(scored) and len(fit) + len(scored) == len(every)
    res = lt.object_readout(root, None, log=lambda s: 0, splits=lt.TUNE_READOUT_SPLITS)
    assert (res['num_train'], res['num_val']) == (len(fit), len(scored))
    assert by[('random', 'main', 'object-linear@r18-patch64', 'accuracy')] == \
        res['object-linear']
    # every readout of the sweep, the trained rankers' too, fitted and scored on those crops
    counts = re.findall(r"transitive object readout \((.*?)\): .*?'num_train': (\d+), "
                        r"'num_val': (\d+)", r.stdout + r.stderr)
    assert len(counts) == 3 and {c[0] for c in counts} >= {'random init'}
    assert {(int(a), int(b)) for _, a, b in counts} == {(len(fit), len(scored))}
    # a rerun skips the finished sweep
    r = run_tool(cmd)
    assert r.returncode == 0 and '3 runs, 3 already in' in r.stdout + r.stderr


def test_choose_lr_scale_scores_transitive_by_its_object_readouts():
    learning = _learning()

    def rows(method, variant, lin, nn):
        heads = (('object-linear', lin), ('object-nn', nn))
        losses = () if method == 'random' else ('loss_first', 'loss_last')
        return [dict(method=method, variant=variant, seed=0, readout=f'{h}@r18-patch64',
                     metric='accuracy', value=v) for h, v in heads] + [
            dict(method=method, variant=variant, seed=0, readout='pretraining@r18-patch64',
                 metric=m, value=0.3) for m in losses]

    # the heads disagree (x1 wins linear, x0.3 the mean); a mIoU record never scores Transitive
    recs = (rows('transitive', 'lr1x', 35, 25) + rows('transitive', 'lr0.3x', 34, 32) +
            rows('random', 'main', 29, 27) +
            [dict(method='transitive', variant='lr1x', seed=0,
                  readout='object-nn@r18-patch64', metric='mIoU', value=90)])
    assert learning.choose_lr_scale(recs, 'transitive') == (0.3, 33.0, 30.0, 28.0)
    assert learning.parse_lr_scales(['transitive=0.3'], {}) == {'transitive': 0.3}


def test_tune_pretrain_records_only_failed_training(tmp_path, monkeypatch):
    """``tune_pretrain`` records a run whose training child failed (``TrainingFailed``) as
    ``failed`` and goes on; a refused work folder (another config's run there) stops the sweep
    and is not recorded, so that a rerun after the fix runs it."""
    learning = _learning()
    from child_run import TrainingFailed
    monkeypatch.setattr(learning, 'seg_readouts', lambda *a, **k: [])
    results = str(tmp_path / 'learning.json')
    sweep = tmp_path / 'learning_tune-pretrain.json'

    def diverged(*a, **k):
        raise TrainingFailed('pretraining flowe/main failed (exit 1): see train.log')

    monkeypatch.setattr(learning, 'pretrain', diverged)
    recs = learning.tune_pretrain(str(tmp_path), 'root', None, results, ['flowe'], [3], 2)
    assert [(r['variant'], r['metric']) for r in recs if r['method'] == 'flowe'] == [
        ('lr3x', 'failed')]

    def refused(*a, **k):
        raise RuntimeError('runs/flowe-main-s0-lr10x-tune_train holds a finished run with '
                           'another config')

    monkeypatch.setattr(learning, 'pretrain', refused)
    with pytest.raises(RuntimeError, match='another config'):
        learning.tune_pretrain(str(tmp_path), 'root', None, results, ['flowe'], [3, 10], 2)
    assert not any(r['variant'] == 'lr10x' for r in json.loads(sweep.read_text()))

    # Transitive's failed ranker too: recorded in its object part, so a rerun skips it
    tried = []

    class FailingWorld:
        def __init__(self, root, out_dir):
            pass

        def pretrain(self, variant, seed, iters, lr_scale, split):
            tried.append((lr_scale, split))
            raise TrainingFailed('Triplet-Siamese training failed (exit 1): see train.log')

        def readout(self, checkpoint, seed, tune=False):
            assert tune and checkpoint is None
            return [('object-linear@r18-patch64', 'accuracy', 25.0)]

    monkeypatch.setattr(learning, 'TransitiveWorld', FailingWorld)
    for _ in range(2):
        recs = learning.tune_pretrain(str(tmp_path), 'root', None, results, ['transitive'],
                                      [3], 2)
    assert tried == [(3.0, 'tune_train')]
    assert [(r['readout'], r['metric']) for r in recs if r['method'] == 'transitive'] == [
        ('pretraining@r18-patch64', 'failed')]
    assert learning.choose_lr_scale(recs, 'transitive') is None


def test_pretrain_lr_scale_trains_every_variant_at_the_scaled_lr(tmp_path):
    """``--pretrain-lr-scale flowe=2``: main and its ablation pretrain at 2x the demo config's
    lr instead of the table's x3, in folders of their own; ``--demo-lr`` at x1; the committed
    table's results file refuses any lr but the table's, and the shared optimizer."""
    from mmengine.config import Config
    out, results = tmp_path / 'work', tmp_path / 'lr2.json'
    r = run_tool([sys.executable, SCRIPT, '--smoke', '--methods', 'flowe', '--seeds', '0',
                  '--parts', 'seg', '--pretrain-lr-scale', 'flowe=2', '--out-dir', str(out),
                  '--results', str(results)])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "pretraining lr: the demo configs' times flowe=2" in r.stdout
    base = Config.fromfile(osp.join(REPO, 'configs/flowe/flowe_resnet18-d8_1xb8-300iters_'
                                    'demo-world.py')).optim_wrapper.optimizer.lr
    for variant in ('main', 'no-flow'):
        cfg = Config.fromfile(str(out / 'runs' / f'flowe-{variant}-s0-lr2x' / 'config.py'))
        assert cfg.optim_wrapper.optimizer.lr == pytest.approx(2 * base)
        assert cfg.train_dataloader.dataset.sources == 'splits/train_clips.txt'
    assert {rec['variant'] for rec in json.loads(results.read_text())} == {'main', 'no-flow'}
    r = run_tool([sys.executable, SCRIPT, '--smoke', '--methods', 'flowe', '--seeds', '0',
                  '--parts', 'seg', '--variants', 'main', '--demo-lr', '--out-dir', str(out),
                  '--results', str(tmp_path / 'demo.json')])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    cfg = Config.fromfile(str(out / 'runs' / 'flowe-main-s0' / 'config.py'))
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(base)
    for bad in (['flowe=0'], ['flowe=x'], ['random=3'], ['flowe=3', 'flowe=2']):
        r = run_tool([sys.executable, SCRIPT, '--smoke', '--pretrain-lr-scale', *bad,
                      '--out-dir', str(out), '--results', str(results)])
        assert r.returncode == 2 and 'expected METHOD=SCALE' in r.stderr, bad
    for other in (['--pretrain-lr-scale', 'flowe=2'], ['--demo-lr']):
        r = run_tool([sys.executable, SCRIPT, '--smoke', *other, '--out-dir', str(out)])
        assert r.returncode == 2 and 'name another --results' in r.stderr, other
        assert 'the committed table pretrains at flowe=3 hiergroup=0.3 vader=0.3' in r.stderr
    r = run_tool([sys.executable, SCRIPT, '--smoke', '--pretrain-optim', 'shared'])
    assert r.returncode == 2 and 'not at every demo lr with the shared one' in r.stderr


def test_table_lr_scales_are_the_tuning_sweeps_choice():
    """``TABLE_LR_SCALES``, the table's pretraining lrs, are what ``choose_lr_scale`` picks from
    the committed sweep on the train clips' tuning split (CACL: x1, so not listed), and
    ``parse_lr_scales`` overrides them per method."""
    learning = _learning()
    sweep = json.loads(open(osp.join(REPO, 'tools/benchmark/results/'
                                     'learning_tune-pretrain.json')).read())
    swept = {r['method'] for r in sweep} - {'random'}
    assert {'flowe', 'cacl', 'vader', 'hiergroup'} <= swept <= set(
        learning.TUNE_PRETRAIN_METHODS)
    chosen = {m: learning.choose_lr_scale(sweep, m)[0] for m in swept}
    assert {m: x for m, x in chosen.items() if x != 1} == learning.TABLE_LR_SCALES
    assert chosen['cacl'] == 1
    # Transitive's ranker, swept after the table in a file of its own: the rule picks x0.3, and
    # the table keeps x1 until it is run whole again (TABLE_LR_SCALES' comment)
    ranker = json.loads(open(osp.join(REPO, 'tools/benchmark/results/'
                                      'learning_tune-pretrain_transitive.json')).read())
    assert learning.choose_lr_scale(ranker, 'transitive')[0] == 0.3
    assert 'transitive' not in learning.TABLE_LR_SCALES
    table = learning.TABLE_LR_SCALES
    assert learning.parse_lr_scales([], table) == table
    assert learning.parse_lr_scales(['vader=1'], table) == {'flowe': 3.0, 'hiergroup': 0.3}
    assert learning.parse_lr_scales(['cacl=2'], {}) == {'cacl': 2.0}
