import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest

from helpers import run_tool
from mmdense.datasets import FramePairDataset
from mmdense.datasets.flow_estimators import endpoint_error
from mmdense.datasets.transforms import LoadFlow, read_flow, write_flow
from mmdense.visualization import flow_to_color


def test_compute_flow_cache_resumes_and_feeds_loadflow(demo_world, tmp_path):
    out = tmp_path / 'flow'
    (tmp_path / 'two.txt').write_text('frames/clip_000\nframes/clip_001\n')
    args = [sys.executable, 'tools/flow/compute_flow.py', demo_world, str(out),
            '--interval-frames', '1', '--sources', str(tmp_path / 'two.txt'), '--workers', '2']
    r = run_tool(args)
    assert r.returncode == 0, r.stderr[-2000:]
    assert '8 pairs: 8 computed, 0 already cached' in r.stdout
    files = sorted(os.listdir(out / 'frames' / 'clip_000'))
    assert files[:2] == ['000000_000001_bw.flo', '000000_000001_fw.flo'] and len(files) == 8
    # an interrupted run: one file lost -> only that pair is recomputed
    os.remove(out / 'frames' / 'clip_001' / '000002_000003_fw.flo')
    r = run_tool(args)
    assert '8 pairs: 1 computed, 7 already cached' in r.stdout
    # other settings in the same folder are refused
    r = run_tool(args[:-2] + ['--method', 'farneback'])
    assert r.returncode != 0 and 'holds flows computed with' in r.stderr
    # LoadFlow's default template reads the cache; DIS is close to the exact flow
    ds = FramePairDataset(demo_world, sources=str(tmp_path / 'two.txt'))
    np.random.seed(0)
    res = LoadFlow(str(out))(ds[0])
    t1, _ = res['frame_ids']
    gt = read_flow(osp.join(demo_world, 'flow_fw', 'clip_000', f'{t1:05d}.flo'))
    valid = cv2.imread(osp.join(demo_world, 'valid_fw', 'clip_000', f'{t1:05d}.png'), 0) > 0
    assert endpoint_error(res['flow_fw'], gt, valid) < 0.6 * endpoint_error(0 * gt, gt, valid)


def test_compute_flow_tool_lists_an_unreadable_frame(demo_world, tmp_path):
    """A cut frame: the pairs that need it are left out and listed with the reason and the fix
    (exit status 1, no traceback); the other pairs are written."""
    import shutil
    clip = tmp_path / 'data' / 'clip_000'
    shutil.copytree(osp.join(demo_world, 'frames', 'clip_000'), clip)
    n = len(os.listdir(clip))
    good = (clip / '00002.png').read_bytes()
    (clip / '00002.png').write_bytes(good[:len(good) // 2])
    r = run_tool([sys.executable, 'tools/flow/compute_flow.py', str(tmp_path / 'data'),
                  str(tmp_path / 'flow'), '--interval-frames', '1', '--method', 'dis_ultrafast'])
    assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert (f'{n - 1} pairs: {n - 3} computed' in r.stdout
            and '2 unreadable input(s) skipped (their pairs are left out of the cache; fix or '
            'remove them and rerun to complete the output):' in r.stderr), r.stdout + r.stderr
    assert r.stderr.count('00002.png') == 2


@pytest.mark.parametrize('ext', ['flo', 'png'])
def test_flow_formats_round_trip(tmp_path, ext):
    rng = np.random.default_rng(0)
    flow = (rng.standard_normal((12, 16, 2)) * 20).astype(np.float32)
    path = str(tmp_path / f'f.{ext}')
    write_flow(path, flow)
    back = read_flow(path, (12, 16))
    tol = 1e-6 if ext == 'flo' else 1 / 64
    np.testing.assert_allclose(back, flow, atol=tol)
    assert os.listdir(tmp_path) == [f'f.{ext}']


def test_colour_wheel_and_tool(tmp_path):
    flow = np.zeros((4, 6, 2), np.float32)
    flow[:, 3:, 0] = 5.0  # rightwards
    img = flow_to_color(flow)
    np.testing.assert_array_equal(img[0, 0], [255, 255, 255])  # no motion: white
    r, g, b = img[0, 5].astype(int)
    assert r == 255 and g < 10 and b < 10  # rightwards: red
    write_flow(str(tmp_path / 'x.flo'), flow)
    res = run_tool([sys.executable, 'tools/flow/visualize_flow.py', str(tmp_path / 'x.flo'),
                    '--out-dir', str(tmp_path / 'vis')])
    assert res.returncode == 0, res.stderr
    out = cv2.imread(str(tmp_path / 'vis' / 'x.png'))
    np.testing.assert_array_equal(out[..., ::-1], img)


def test_raft_loads_a_user_weights_file_and_runs(tmp_path):
    """RAFT never downloads: it loads the state dict the user points at (here a randomly
    initialised one, saved to disk) and returns a flow of the frames' size."""
    import torch
    from mmdense.datasets.flow_estimators import RAFTFlow, build_flow_estimator
    with pytest.raises(FileNotFoundError, match='RAFT weights file'):
        build_flow_estimator('raft:/no/such.pth')
    # raft_large is what RAFTFlow builds; saving its random weights exercises the real loader
    from torchvision.models.optical_flow import raft_large
    torch.save(raft_large(weights=None).state_dict(), tmp_path / 'raft.pth')
    est = RAFTFlow(str(tmp_path / 'raft.pth'), num_flow_updates=2)
    a = np.random.default_rng(0).integers(0, 255, (130, 140, 3), dtype=np.uint8)
    flow = est(a, a)
    assert flow.shape == (130, 140, 2) and flow.dtype == np.float32 and np.isfinite(flow).all()


def test_compute_flow_transform_online(demo_world):
    from mmdense.datasets.transforms import ComputeFlow
    ds = FramePairDataset(demo_world, sources='splits/train_clips.txt')
    np.random.seed(0)
    res = ComputeFlow('dis_medium')(ds[0])
    t1, _ = res['frame_ids']
    clip = res['source'].split('/')[-1]
    gt = read_flow(osp.join(demo_world, 'flow_fw', clip, f'{t1:05d}.flo'))
    assert res['flow_fw'].shape == gt.shape and res['flow_bw'].shape == gt.shape
    assert endpoint_error(res['flow_fw'], gt) < endpoint_error(0 * gt, gt)
    with pytest.raises(ValueError, match='unknown flow method'):
        ComputeFlow('magic')
