"""Fuzz-style checks of every reader of media and caches: a file cut short at several points, or
with a byte flipped where its format has a checksum (PNG) or a header (.flo, .npz), either reads
as exactly the original data or raises the reader's documented error naming the file."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest

from mmdense.datasets.transforms.flow import FlowReadError, LoadFlow, read_flow, write_flow
from mmdense.datasets.ucm import UCMError, load_ucm, save_ucm, ucm_from_edges
from mmdense.datasets.video_io import (FrameReadError, IndexFileError, VideoSource, load_shots,
                                       read_image)

CUTS = (0.0, 0.02, 0.3, 0.5, 0.8, 0.97)


def _cuts(n):
    """Byte counts to keep: fractions of the file plus 0, 1, and all but the last byte."""
    return sorted({0, 1, n - 1} | {int(n * f) for f in CUTS} - {n})


def _picture(h=40, w=56, seed=0):
    """A textured picture (smooth gradients + noise), BGR uint8."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 4, y * 5, (x + y) * 2], -1) % 256
    return (img + rng.integers(0, 40, img.shape)).clip(0, 255).astype(np.uint8)


def _assert_error_or_equal(read, path, original, error, name=None):
    """``read(path)`` raises ``error`` naming the file, or returns data equal to ``original``."""
    try:
        got = read(path)
    except error as e:
        assert osp.basename(name or path) in str(e), str(e)
        return 'error'
    for g, o in zip(got if isinstance(got, tuple) else (got, ),
                    original if isinstance(original, tuple) else (original, )):
        if o is None:
            assert g is None
        else:
            np.testing.assert_array_equal(g, o)
    return 'equal'


def _write_cut(tmp_path, data, keep, suffix):
    path = str(tmp_path / f'cut_{keep}{suffix}')
    with open(path, 'wb') as f:
        f.write(data[:keep])
    return path


def _write_flipped(tmp_path, data, pos, suffix, mask=0x5A):
    d = bytearray(data)
    d[pos] ^= mask
    path = str(tmp_path / f'flip_{pos}{suffix}')
    with open(path, 'wb') as f:
        f.write(bytes(d))
    return path


@pytest.mark.parametrize('ext', ['.png', '.jpg'])
def test_images_cut_short_are_refused(tmp_path, ext):
    img = _picture()
    full = str(tmp_path / f'full{ext}')
    cv2.imwrite(full, img)
    original = read_image(full)
    data = open(full, 'rb').read()
    outcomes = [_assert_error_or_equal(read_image, _write_cut(tmp_path, data, k, ext), original,
                                       FrameReadError) for k in _cuts(len(data))]
    # every cut is detected (OpenCV alone decodes a cut JPEG as a half-grey picture)
    assert set(outcomes) == {'error'}
    if ext == '.jpg':  # the trap: OpenCV itself returns a picture for most of these cuts
        cut = _write_cut(tmp_path, data, int(len(data) * 0.8), ext)
        assert cv2.imread(cut) is not None


def test_png_checksums_catch_flipped_bytes(tmp_path):
    full = str(tmp_path / 'full.png')
    cv2.imwrite(full, _picture())
    original = read_image(full)
    data = open(full, 'rb').read()
    outcomes = [_assert_error_or_equal(read_image, _write_flipped(tmp_path, data, p, '.png'),
                                       original, FrameReadError)
                for p in range(8, len(data), max(1, len(data) // 40))]
    assert outcomes.count('error') == len(outcomes)


def _flows(h=12, w=16, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((h, w, 2)) * 10).astype(np.float32)


def _npz_flow(path, flow, valid=None):
    arrays = dict(flow=flow) if valid is None else dict(flow=flow, valid=valid)
    np.savez_compressed(path, **arrays)


@pytest.mark.parametrize('ext', ['.flo', '.png', '.npz'])
def test_flow_files_cut_short_or_flipped(tmp_path, ext):
    flow = _flows()
    full = str(tmp_path / f'full{ext}')
    if ext == '.npz':
        _npz_flow(full, flow)
    else:
        write_flow(full, flow)
    original = read_flow(full, (12, 16), with_valid=True)

    def read(path):
        return read_flow(path, (12, 16), with_valid=True)

    data = open(full, 'rb').read()
    outcomes = [_assert_error_or_equal(read, _write_cut(tmp_path, data, k, ext), original,
                                       FlowReadError) for k in _cuts(len(data))]
    assert set(outcomes) == {'error'}
    # flipped bytes: .flo header (magic, width, height), PNG (checksums), npz (zip + npy headers)
    if ext == '.flo':
        positions = list(range(12))
    elif ext == '.png':
        positions = list(range(8, len(data), max(1, len(data) // 30)))
    else:
        positions = list(range(0, 120, 3)) + list(range(len(data) - 100, len(data), 7))
    outcomes = [_assert_error_or_equal(read, _write_flipped(tmp_path, data, p, ext), original,
                                       FlowReadError) for p in positions]
    assert 'error' in outcomes


def test_flow_values_and_shapes_are_checked(tmp_path):
    flow = _flows()
    bad = flow.copy()
    bad[3, 4, 0] = np.nan
    write_flow(str(tmp_path / 'nan.flo'), bad)
    with pytest.raises(FlowReadError, match='nan.flo holds NaN/Inf'):
        read_flow(str(tmp_path / 'nan.flo'))
    bad[3, 4, 0] = np.inf
    _npz_flow(str(tmp_path / 'inf.npz'), bad)
    with pytest.raises(FlowReadError, match='inf.npz holds NaN/Inf'):
        read_flow(str(tmp_path / 'inf.npz'))
    write_flow(str(tmp_path / 'ok.flo'), flow)
    with pytest.raises(FlowReadError, match='ok.flo is 16x12 but its frames are 20x10'):
        read_flow(str(tmp_path / 'ok.flo'), (10, 20))
    np.savez(str(tmp_path / 'shape.npz'), flow=flow[..., 0])
    with pytest.raises(FlowReadError, match=r'shape.npz holds a \(12, 16\) flow'):
        read_flow(str(tmp_path / 'shape.npz'))
    (tmp_path / 'empty.flo').write_bytes(b'')
    with pytest.raises(FlowReadError, match='empty.flo is empty'):
        read_flow(str(tmp_path / 'empty.flo'))
    with pytest.raises(FlowReadError, match='gone.flo is missing'):
        read_flow(str(tmp_path / 'gone.flo'))


def _kitti_png(path, flow, valid):
    enc = np.empty(flow.shape[:2] + (3, ), np.uint16)
    enc[..., :2] = np.clip(flow * 64.0 + 2**15, 0, 2**16 - 1).round()
    enc[..., 2] = valid
    enc[~valid, :2] = 0  # KITTI leaves invalid pixels at raw 0 (i.e. -512 px): never trusted
    cv2.imwrite(path, enc[..., ::-1])


def test_kitti_png_reads_its_valid_mask_into_loadflow(tmp_path):
    """A real KITTI file has invalid pixels: read with the mask (not refused), and the mask
    reaches the pipeline's flow-validity keys, which FlowE combines with its own test."""
    flow = np.round(_flows() * 64) / 64
    valid = np.ones(flow.shape[:2], bool)
    valid[2:5, 3:9] = False
    root = tmp_path / 'flows' / 'clip'
    root.mkdir(parents=True)
    for direction in ('fw', 'bw'):
        _kitti_png(str(root / f'000000_000001_{direction}.png'), flow, valid)
    got, got_valid = read_flow(str(root / '000000_000001_fw.png'), with_valid=True)
    np.testing.assert_array_equal(got_valid, valid)
    np.testing.assert_allclose(got[valid], flow[valid], atol=1e-6)
    assert (got[~valid] == 0).all()
    results = dict(img=np.zeros((12, 16, 3), np.uint8), source='clip', frame_ids=(0, 1))
    out = LoadFlow(str(tmp_path / 'flows'),
                   template='{source}/{t1:06d}_{t2:06d}_{direction}.png')(results)
    np.testing.assert_array_equal(out['flow_valid_fw'], valid)
    np.testing.assert_array_equal(out['flow_valid_bw'], valid)


def _ucm_file(path):
    edges = np.zeros((24, 32))
    edges[:, 15:17] = 1.0
    edges[11:13, :15] = 0.4
    labels, dist = ucm_from_edges(edges, max_regions=3)
    save_ucm(path, labels, dist)
    return load_ucm(path)


def test_ucm_files_cut_short_flipped_or_invalid(tmp_path):
    full = str(tmp_path / 'full.npz')
    original = _ucm_file(full)
    data = open(full, 'rb').read()
    outcomes = [_assert_error_or_equal(load_ucm, _write_cut(tmp_path, data, k, '.npz'), original,
                                       UCMError) for k in _cuts(len(data))]
    assert set(outcomes) == {'error'}
    positions = list(range(0, 100, 3)) + list(range(len(data) - 120, len(data), 7))
    outcomes = [_assert_error_or_equal(load_ucm, _write_flipped(tmp_path, data, p, '.npz'),
                                       original, UCMError) for p in positions]
    assert 'error' in outcomes
    # a 0-byte file used to raise a bare EOFError naming nothing
    (tmp_path / 'zero.npz').write_bytes(b'')
    with pytest.raises(UCMError, match='zero.npz is empty'):
        load_ucm(str(tmp_path / 'zero.npz'))
    # a matrix that is no tree: d(0, 2) > max(d(0, 1), d(1, 2))
    labels = np.array([[0, 1, 2]] * 3, np.uint8)
    d = np.array([[0, .2, .9], [.2, 0, .3], [.9, .3, 0]], np.float32)
    save_ucm(str(tmp_path / 'nontree.npz'), labels, d)
    with pytest.raises(UCMError, match='nontree.npz.*not an ultrametric'):
        load_ucm(str(tmp_path / 'nontree.npz'))
    d[0, 2] = d[2, 0] = 0.3  # now an ultrametric
    save_ucm(str(tmp_path / 'tree.npz'), labels, d)
    assert load_ucm(str(tmp_path / 'tree.npz'))[1][0, 2] == pytest.approx(0.3)
    np.savez(str(tmp_path / 'nolabels.npz'), ultrametric=d)
    with pytest.raises(UCMError, match=r"nolabels.npz lacks the \['labels'\] array"):
        load_ucm(str(tmp_path / 'nolabels.npz'))


def _video(path, n=10, fourcc='MJPG', seed=0):
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), 10, (56, 40))
    for i in range(n):
        writer.write(np.roll(_picture(seed=seed + i), 3 * i, axis=1))
    writer.release()


@pytest.mark.parametrize('name,fourcc', [('v.avi', 'MJPG'), ('v.mp4', 'mp4v')])
def test_videos_cut_short_are_refused(tmp_path, name, fourcc):
    full = str(tmp_path / name)
    _video(full, fourcc=fourcc)
    src = VideoSource(full)
    original = [src.read(i) for i in range(len(src))]
    ext = osp.splitext(name)[1]
    data = open(full, 'rb').read()

    def read_all(path):
        s = VideoSource(path)
        # seek order and sequential reads both exercised
        frames = {i: s.read(i) for i in (len(s) - 1, 0, 1, len(s) // 2)}
        frames.update({i: s.read(i) for i in range(len(s))})
        return tuple(frames[i] for i in range(len(s)))

    outcomes = []
    for keep in _cuts(len(data)):
        path = _write_cut(tmp_path, data, keep, ext)
        try:
            got = read_all(path)
        except FrameReadError as e:
            assert osp.basename(path) in str(e)
            outcomes.append('error')
            continue
        assert len(got) == len(original)
        for g, o in zip(got, original):
            np.testing.assert_array_equal(g, o)
        outcomes.append('equal')
    # only a cut of the last byte (AVI's padding / index) may leave every frame intact
    assert outcomes[:-1] == ['error'] * (len(outcomes) - 1)


def test_stale_frames_are_detected(tmp_path, monkeypatch):
    """A decoder that cannot reach the asked frame and hands back another is caught."""
    full = str(tmp_path / 'v.avi')
    _video(full)
    src = VideoSource(full)
    src.read(2)
    real_set = cv2.VideoCapture.set

    class StuckCapture:
        def __init__(self, cap):
            self.cap = cap

        def set(self, prop, value):  # ignores seeks, like a broken index
            return True

        def read(self):
            return self.cap.read()

        def get(self, prop):
            return self.cap.get(prop)

    src._cap = StuckCapture(src._capture())
    with pytest.raises(FrameReadError, match=r'cannot decode frame 7 of .*v.avi \(the decoder '
                       r'is at frame 3\)'):
        src.read(7)
    assert real_set is cv2.VideoCapture.set


def test_index_files(tmp_path):
    good = {'a.mp4': [0, 30], 'b': [0]}
    (tmp_path / 'shots.json').write_text(json.dumps(good))
    assert load_shots(str(tmp_path), 'shots.json') == {'a.mp4': [0, 30], 'b': [0]}
    data = (tmp_path / 'shots.json').read_bytes()
    for keep in _cuts(len(data)):
        (tmp_path / 'cut.json').write_bytes(data[:keep])
        with pytest.raises(IndexFileError, match='shots file .*cut.json'):
            load_shots(str(tmp_path), 'cut.json')
    (tmp_path / 'wrong.json').write_text(json.dumps({'a.mp4': 'zero'}))
    with pytest.raises(IndexFileError, match='wrong.json has the wrong structure'):
        load_shots(str(tmp_path), 'wrong.json')


def test_video_index_cache_is_rebuilt_when_corrupt(tmp_path):
    from mmdense.datasets.video_io import discover_sources
    _video(str(tmp_path / 'v.avi'))
    first = discover_sources(str(tmp_path), index_file='index.json')
    data = (tmp_path / 'index.json').read_bytes()
    (tmp_path / 'index.json').write_bytes(data[:len(data) // 2])
    with pytest.warns(UserWarning, match='index.json is unreadable'):
        again = discover_sources(str(tmp_path), index_file='index.json')
    assert len(again['v.avi']) == len(first['v.avi']) == 10
    assert (tmp_path / 'index.json').read_bytes() == data


def test_long_jobs_skip_and_list_bad_inputs(demo_world, tmp_path):
    """UCM and flow jobs skip an unreadable frame, list it, write everything else; a rerun after
    the fix completes the output without redoing it."""
    import shutil

    from mmdense.datasets.flow_cache import compute_flow_cache
    from mmdense.datasets.ucm import compute_ucm_cache
    clip = tmp_path / 'data' / 'clip_000'
    shutil.copytree(osp.join(demo_world, 'frames', 'clip_000'), clip)
    n = len(list(clip.iterdir()))
    bad = clip / '00002.png'
    good = bad.read_bytes()
    bad.write_bytes(good[:len(good) // 2])
    res = compute_ucm_cache(str(tmp_path / 'data'), str(tmp_path / 'ucm'))
    assert res['computed'] == n - 1 and len(res['failed']) == 1
    assert res['failed'][0][0].endswith('00002.png') and 'cut short' in res['failed'][0][1]
    flow = compute_flow_cache(str(tmp_path / 'data'), str(tmp_path / 'flow'), interval_frames=1,
                              method='dis_ultrafast')
    assert flow['computed'] == n - 3  # the two pairs that need frame 2 are skipped
    assert flow['failed'] and all('00002.png' in msg for _, msg in flow['failed'])
    bad.write_bytes(good)
    res = compute_ucm_cache(str(tmp_path / 'data'), str(tmp_path / 'ucm'))
    assert (res['computed'], res['skipped'], res['failed']) == (1, n - 1, [])
    flow = compute_flow_cache(str(tmp_path / 'data'), str(tmp_path / 'flow'), interval_frames=1,
                              method='dis_ultrafast')
    assert (flow['computed'], flow['skipped'], flow['failed']) == (2, n - 3, [])


def test_load_image_from_file_in_the_mmdense_scope_is_checked(tmp_path):
    """The pipelines' LoadImageFromFile (mmdense scope) refuses a cut JPEG that mmcv's decodes."""
    from mmengine.registry import init_default_scope

    from mmdense.registry import TRANSFORMS
    init_default_scope('mmdense')
    load = TRANSFORMS.build(dict(type='LoadImageFromFile'))
    full = str(tmp_path / 'full.jpg')
    cv2.imwrite(full, _picture())
    np.testing.assert_array_equal(load(dict(img_path=full))['img'], read_image(full))
    data = open(full, 'rb').read()
    cut = _write_cut(tmp_path, data, int(len(data) * 0.7), '.jpg')
    with pytest.raises(FrameReadError, match='cut_.*jpg is cut short'):
        load(dict(img_path=cut))
    assert TRANSFORMS.build(dict(type='LoadImageFromFile', ignore_empty=True))(
        dict(img_path=cut)) is None
