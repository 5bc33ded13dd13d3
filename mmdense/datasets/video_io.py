"""Frame sources: video files (decoded with OpenCV, seeking only the frames needed) and folders
of frame images, behind one small interface.

Every read failure raises :class:`FrameReadError` naming the file, the frame and the fix, so a
corrupt or truncated video never turns into silently wrong training data.
"""
import json
import os
import os.path as osp
import re

import cv2

VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg')
IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff')


class FrameReadError(RuntimeError):
    """A frame could not be read (missing, truncated or corrupt file)."""


class FrameSource:
    """Base class: ``len(source)`` frames, ``source.read(i)`` -> BGR uint8 (H, W, 3), the
    OpenMMLab pipeline convention (data preprocessors convert with ``to_rgb=True``)."""

    path: str
    fps: float

    def __len__(self):
        raise NotImplementedError

    def read(self, index):
        raise NotImplementedError


class VideoSource(FrameSource):
    """A video file. ``read`` seeks to the frame (``CAP_PROP_POS_FRAMES``) and decodes it."""

    def __init__(self, path, num_frames=None, fps=None):
        self.path = path
        self._cap = None
        self._pid = None
        if num_frames is not None:  # known from an index cache: do not open the file now
            self.num_frames, self.fps = int(num_frames), float(fps or 0.0)
            return
        cap = cv2.VideoCapture(path)
        if not cap.isOpened():
            raise FrameReadError(f'cannot open video {path}: the file is missing, unreadable or '
                                 'in a codec OpenCV lacks; re-encode it (ffmpeg -i in.x -c:v '
                                 'libx264 out.mp4) or remove it from the dataset')
        self.num_frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.fps = float(cap.get(cv2.CAP_PROP_FPS)) or 0.0
        cap.release()
        if self.num_frames <= 0:
            raise FrameReadError(f'video {path} reports no frames: it is empty or corrupt; '
                                 're-encode it or remove it from the dataset')
        self._cap = None
        self._pid = None

    def __len__(self):
        return self.num_frames

    def _capture(self):
        # one capture per process (dataloader workers fork)
        if self._cap is None or self._pid != os.getpid():
            self._cap = cv2.VideoCapture(self.path)
            self._pid = os.getpid()
            self._next = 0
        return self._cap

    def read(self, index):
        if not 0 <= index < self.num_frames:
            raise IndexError(f'frame {index} out of range for {self.path} '
                             f'({self.num_frames} frames)')
        cap = self._capture()
        if index != self._next:
            cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = cap.read()
        if not ok or frame is None:
            self._cap = None
            raise FrameReadError(f'cannot decode frame {index} of {self.path} (header says '
                                 f'{self.num_frames} frames): the video is truncated or corrupt; '
                                 're-encode it or remove it from the dataset')
        self._next = index + 1
        return frame

    def __getstate__(self):
        state = self.__dict__.copy()
        state['_cap'] = None
        return state


class FrameFolderSource(FrameSource):
    """A folder of frame images, ordered by file name."""

    def __init__(self, path, fps=0.0, files=None):
        self.path = path
        self.fps = fps
        if files is None:
            files = sorted(f for f in os.listdir(path) if f.lower().endswith(IMAGE_EXTS))
        if not files:
            raise FrameReadError(f'frame folder {path} holds no images ({", ".join(IMAGE_EXTS)})')
        self.files = files

    def __len__(self):
        return len(self.files)

    def read(self, index):
        file = osp.join(self.path, self.files[index])
        img = cv2.imread(file, cv2.IMREAD_COLOR)
        if img is None:
            raise FrameReadError(f'cannot read frame {file}: the file is missing or corrupt; '
                                 'restore it or delete the clip folder')
        return img


def _scan(root, recursive):
    """Yield (relative folder, absolute folder, sorted file names)."""
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        yield osp.relpath(folder, root), folder, sorted(files)
        if not recursive:
            break


def discover_sources(root, fps=0.0, recursive=True, group_pattern=None, index_file=None):
    r"""All videos and frame folders under ``root``, as ``{relative name: FrameSource}``.

    Args:
        root (str): data root.
        fps (float): frame rate of frame folders (videos report their own).
        recursive (bool): descend into sub-folders.
        group_pattern (str, optional): regex applied to image file names; files whose first group
            matches form one sequence, named ``<folder>/<group>``. E.g. Cityscapes'
            ``leftImg8bit_sequence`` keeps all 30-frame snippets of a city in one folder:
            ``r'(.+_\d{6})_\d{6}_leftImg8bit\.png'``. Without it, a folder holding images is one
            sequence.
        index_file (str, optional): json cache of video lengths / frame rates (relative to
            ``root`` unless absolute). Opening 70k BDD100K videos to read their headers takes
            many minutes; with the cache a restart only ``stat``-s them. Entries are reused while
            the file's size and mtime are unchanged; the cache is rewritten atomically.
    """
    if not osp.isdir(root):
        raise FileNotFoundError(f'video data root {root} does not exist: set data_root in the '
                                'config (or --cfg-options train_dataloader.dataset.data_root=...) '
                                'to a folder of videos or frame folders')
    regex = re.compile(group_pattern) if group_pattern else None
    index_path = None
    index = {}
    if index_file:
        index_path = index_file if osp.isabs(index_file) else osp.join(root, index_file)
        if osp.exists(index_path):
            with open(index_path) as f:
                index = json.load(f)
    new_index = {}
    sources = {}
    for rel, folder, files in _scan(root, recursive):
        images = [f for f in files if f.lower().endswith(IMAGE_EXTS)]
        if images and regex is None:
            sources[rel] = FrameFolderSource(folder, fps=fps, files=images)
        elif images:
            groups = {}
            for f in images:
                m = regex.match(f)
                if m:
                    groups.setdefault(m.group(1), []).append(f)
            for key, group in groups.items():
                sources[osp.normpath(osp.join(rel, key))] = FrameFolderSource(
                    folder, fps=fps, files=group)
        for f in files:
            if f.lower().endswith(VIDEO_EXTS):
                name = osp.normpath(osp.join(rel, f))
                path = osp.join(folder, f)
                st = os.stat(path)
                key = [st.st_size, int(st.st_mtime)]
                cached = index.get(name)
                if cached and cached[:2] == key:
                    src = VideoSource(path, num_frames=cached[2], fps=cached[3])
                else:
                    src = VideoSource(path)
                new_index[name] = key + [src.num_frames, src.fps]
                sources[name] = src
    if not sources:
        raise FileNotFoundError(f'no videos ({", ".join(VIDEO_EXTS)}) or frame folders found '
                                f'under {root}')
    if index_path and new_index != index:
        from mmdense.utils.checkpoint import atomic_write_bytes
        atomic_write_bytes(json.dumps(new_index).encode(), index_path)
    return sources


def load_shots(root, shots_file):
    """Shot boundaries ``{source name: [start frame of each shot, ...]}`` from a json file
    (path relative to ``root`` unless absolute). Frame pairs never straddle a shot cut."""
    path = shots_file if osp.isabs(shots_file) else osp.join(root, shots_file)
    if not osp.exists(path):
        raise FileNotFoundError(f'shots file {path} not found; remove shots_file from the config '
                                'if the videos have no cuts')
    with open(path) as f:
        shots = json.load(f)
    return {k: sorted(int(s) for s in v) for k, v in shots.items()}
