"""Frame sources: video files (decoded with OpenCV, seeking only the frames needed) and folders
of frame images, behind one small interface.

Every read failure raises :class:`FrameReadError` naming the file, the frame and the fix, so a
corrupt or truncated video never turns into silently wrong training data.
"""
import json
import os
import os.path as osp

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

    def __init__(self, path):
        self.path = path
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
            raise IndexError(f'frame {index} out of range for {self.path} ({self.num_frames} frames)')
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


def discover_sources(root, fps=0.0, recursive=True):
    """All videos and frame folders under ``root``, as ``{relative name: FrameSource}``.

    A folder counts as a frame folder when it directly holds image files.
    """
    if not osp.isdir(root):
        raise FileNotFoundError(f'video data root {root} does not exist: set data_root in the '
                                'config (or --cfg-options train_dataloader.dataset.data_root=...) '
                                'to a folder of videos or frame folders')
    sources = {}
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        images = sorted(f for f in files if f.lower().endswith(IMAGE_EXTS))
        rel = osp.relpath(folder, root)
        if images:
            sources[rel] = FrameFolderSource(folder, fps=fps, files=images)
        for f in sorted(files):
            if f.lower().endswith(VIDEO_EXTS):
                sources[osp.normpath(osp.join(rel, f))] = VideoSource(osp.join(folder, f))
        if not recursive:
            break
    if not sources:
        raise FileNotFoundError(f'no videos ({", ".join(VIDEO_EXTS)}) or frame folders found '
                                f'under {root}')
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
