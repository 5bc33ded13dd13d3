import json
import os.path as osp

import cv2
import numpy as np
import pytest

from mmdense.datasets import FramePairDataset, FrameReadError
from mmdense.datasets.sample_videos import export_sample_videos


def _write_video(path, n=20, size=(48, 64), fps=10):
    """A video whose frame t has a uniform grey level 8 * t (recoverable after compression)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, size[::-1])
    assert writer.isOpened()
    for t in range(n):
        writer.write(np.full(size + (3, ), 8 * t, np.uint8))
    writer.release()


def _level(img):
    return int(round(img.mean() / 8))


def test_video_pairs_decode_the_right_frames(tmp_path):
    _write_video(tmp_path / 'a.mp4')
    ds = FramePairDataset(str(tmp_path), interval_frames=3, pairs_per_source=4)
    assert len(ds) == 4
    np.random.seed(0)
    for i in range(12):
        item = ds[i % 4]
        t1, t2 = item['frame_ids']
        assert t2 - t1 == 3 and 0 <= t1 and t2 < 20
        assert _level(item['img']) == t1 and _level(item['img2']) == t2
        assert item['img'].shape == (48, 64, 3) and item['img'].dtype == np.uint8


def test_interval_seconds_and_shots(tmp_path):
    _write_video(tmp_path / 'a.mp4', n=30, fps=10)
    json.dump({'a.mp4': [0, 12, 20]}, open(tmp_path / 'shots.json', 'w'))
    ds = FramePairDataset(str(tmp_path), interval_seconds=0.5, shots_file='shots.json')
    np.random.seed(1)
    seen = set()
    for _ in range(60):
        t1, t2 = ds[0]['frame_ids']
        assert t2 - t1 == 5
        shot = lambda t: sum(t >= s for s in (12, 20))  # noqa: E731
        assert shot(t1) == shot(t2), (t1, t2)
        seen.add(shot(t1))
    assert seen == {0, 1, 2}


def test_frame_folders_ranges_and_source_list(demo_world):
    ds = FramePairDataset(demo_world, sources='splits/train_clips.txt', interval_frames=(1, 2),
                          random_order=True)
    assert [d['source'] for d in ds.data_list] == ['frames/clip_000', 'frames/clip_001',
                                                   'frames/clip_002']
    np.random.seed(0)
    pairs = [ds[i % 3]['frame_ids'] for i in range(40)]
    assert {abs(t2 - t1) for t1, t2 in pairs} == {1, 2}
    assert any(t2 < t1 for t1, t2 in pairs) and any(t2 > t1 for t1, t2 in pairs)
    item = ds[1]
    ref = cv2.imread(osp.join(demo_world, 'frames', 'clip_001', f'{item["frame_ids"][0]:05d}.png'))
    np.testing.assert_array_equal(item['img'], ref)


def test_views_pipeline_packs_two_views(demo_world):
    from mmengine.registry import init_default_scope
    init_default_scope('mmdense')
    ds = FramePairDataset(demo_world, sources='splits/train_clips.txt', pipeline=[
        dict(type='FramePairToViews',
             transforms=[dict(type='RandomResizedCrop', scale=32),
                         dict(type='RandomFlip', prob=0.5)]),
        dict(type='PackInputs')])
    item = ds[0]
    assert isinstance(item['inputs'], list) and len(item['inputs']) == 2
    assert all(v.shape == (3, 32, 32) for v in item['inputs'])


def test_bad_inputs_have_clear_errors(tmp_path, demo_world):
    with pytest.raises(FileNotFoundError, match='does not exist.*data_root'):
        FramePairDataset(str(tmp_path / 'nope'))
    (tmp_path / 'broken.mp4').write_bytes(b'not a video at all')
    with pytest.raises(FrameReadError, match='broken.mp4'):
        FramePairDataset(str(tmp_path))
    with pytest.raises(ValueError, match='long enough'):
        FramePairDataset(osp.join(demo_world, 'frames'), interval_frames=10)
    with pytest.raises(ValueError, match='fps'):
        FramePairDataset(osp.join(demo_world, 'frames'), interval_seconds=0.5)
    # a frame deleted after indexing: named in the error, never skipped silently
    import shutil
    clip = tmp_path / 'clips' / 'c'
    shutil.copytree(osp.join(demo_world, 'frames', 'clip_000'), clip)
    ds = FramePairDataset(str(tmp_path / 'clips'), interval_frames=4)
    (clip / '00000.png').write_bytes(b'corrupt')
    with pytest.raises(FrameReadError, match='00000.png'):
        ds[0]


def test_sample_videos_are_real_and_shot_aware(tmp_path):
    root = export_sample_videos(str(tmp_path / 'videos'), names=('bikes', ))
    ds = FramePairDataset(root, interval_frames=12, shots_file='shots.json')
    (info, ) = ds.data_list
    assert info['num_frames'] == 250 and info['fps'] == pytest.approx(25, abs=0.5)
    assert [s for s, _ in info['shots']] == [0, 30, 76, 137, 187]  # last shot is too short
    np.random.seed(0)
    item = ds[0]
    assert item['img'].shape == (272, 640, 3)
    assert item['img'].std() > 20  # real footage, not a blank frame


def test_cityscapes_sequences_are_split_by_name(tmp_path):
    city = tmp_path / 'leftImg8bit_sequence' / 'train' / 'aachen'
    city.mkdir(parents=True)
    for seq in (0, 1):
        for t in range(10, 16):
            cv2.imwrite(str(city / f'aachen_{seq:06d}_{t:06d}_leftImg8bit.png'),
                        np.full((8, 8, 3), 40 * seq + t, np.uint8))
    ds = FramePairDataset(str(tmp_path / 'leftImg8bit_sequence'), interval_frames=2,
                          group_pattern=r'(.+_\d{6})_\d{6}_leftImg8bit\.png')
    assert sorted(d['source'] for d in ds.data_list) == ['train/aachen/aachen_000000',
                                                         'train/aachen/aachen_000001']
    np.random.seed(0)
    for i in range(20):
        item = ds[i % 2]
        seq = int(item['source'][-1])
        t1, t2 = item['frame_ids']
        assert item['img'][0, 0, 0] == 40 * seq + 10 + t1
        assert item['img2'][0, 0, 0] == 40 * seq + 10 + t2


def test_video_index_cache_avoids_reopening_videos(tmp_path, monkeypatch):
    _write_video(tmp_path / 'a.mp4', n=12)
    ds = FramePairDataset(str(tmp_path), index_file='.index.json')
    assert json.load(open(tmp_path / '.index.json'))['a.mp4'][2:] == [12, 10.0]
    import mmdense.datasets.video_io as vio

    class NoOpen:

        def __init__(self, *a, **k):
            raise AssertionError('opened a video although its header is cached')

    monkeypatch.setattr(vio.cv2, 'VideoCapture', NoOpen)
    ds2 = FramePairDataset(str(tmp_path), index_file='.index.json')
    assert ds2.data_list == ds.data_list


def test_interval_zero_gives_the_same_frame(demo_world):
    ds = FramePairDataset(demo_world, sources='splits/train_clips.txt', interval_frames=0)
    item = ds[0]
    assert item['frame_ids'][0] == item['frame_ids'][1]
    np.testing.assert_array_equal(item['img'], item['img2'])
