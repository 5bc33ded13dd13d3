"""Frame sources: video files (decoded with OpenCV, seeking only the frames needed) and folders
of frame images, behind one small interface; the checked image reader and the index-file readers.

Errors (each names the file and the fix):

* :class:`FrameReadError` -- a video or image that is missing, empty, cut short or corrupt.
  Videos, when first indexed: the container's declared size (AVI / MP4 / MOV / MKV / WebM
  top-level sizes, :func:`container_shortfall`) must fit in the file, and the header's frame
  count is checked by decoding the last frame (a file cut short loses its last frames; OpenCV
  would otherwise return partly decoded or stale frames). Every read checks that the decoder is
  at the asked frame. Images (:func:`read_image`): a PNG must end with its ``IEND`` chunk and a
  JPEG hold its end-of-image marker after the first scan (OpenCV decodes a cut-short JPEG as a
  half-grey picture without an error); then OpenCV decodes it (PNG chunk checksums are checked by
  libpng).
* :class:`IndexFileError` -- an unreadable index / list file (shots, splits, graphs).

A corrupt video-length cache (``index_file``) is a cache: it is rebuilt, not trusted.
"""
import contextlib
import json
import os
import os.path as osp
import re
import warnings

import cv2
import numpy as np

VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg')
IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff')


class FrameReadError(RuntimeError):
    """A frame could not be read (missing, empty, truncated or corrupt video or image)."""


class IndexFileError(ValueError):
    """An index or list file (json / txt) that cannot be read or has the wrong structure."""


PNG_END = b'\x00\x00\x00\x00IEND\xaeB`\x82'


def _jpeg_complete(data):
    """Whether JPEG bytes hold an end-of-image marker after the first start-of-scan (segments
    before the scan are skipped by their lengths, so an embedded thumbnail's marker does not
    count). Trailing bytes after the marker are allowed."""
    pos, n = 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return False
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the image data follows
            return data.find(b'\xff\xd9', pos + 2) != -1
        if 0xD0 <= marker <= 0xD9 or marker == 0x01:
            pos += 2
            continue
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], 'big')
    return False


def check_image_bytes(data, path):
    """Raise :class:`FrameReadError` when ``data`` (the bytes of image ``path``) is empty or a
    PNG / JPEG that was cut short."""
    fix = 'restore the file from the original data or remove it from the dataset'
    if not data:
        raise FrameReadError(f'image {path} is empty (0 bytes): {fix}')
    if data[:8] == b'\x89PNG\r\n\x1a\n':
        if PNG_END not in data[-4096:]:  # IEND is the last chunk; tolerate trailing bytes
            raise FrameReadError(f'PNG image {path} is cut short (no IEND chunk at its end, '
                                 f'{len(data)} bytes): {fix}')
    elif data[:2] == b'\xff\xd8':
        if not _jpeg_complete(data):
            raise FrameReadError(f'JPEG image {path} is cut short (no end-of-image marker after '
                                 f'its image data, {len(data)} bytes): {fix}')


def read_image(path, flags=cv2.IMREAD_COLOR):
    """Read an image file with OpenCV after :func:`check_image_bytes`; BGR uint8 (H, W, 3) for
    the default ``flags``.

    Raises:
        FrameReadError: the file is missing, empty, cut short, or OpenCV cannot decode it.
    """
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        raise FrameReadError(f'cannot read image {path} ({e.strerror or e}): restore the file '
                             'or remove it from the dataset') from None
    check_image_bytes(data, path)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if img is None or img.size == 0:
        raise FrameReadError(f'cannot decode image {path} (corrupt, or a format OpenCV lacks): '
                             'restore the file or remove it from the dataset')
    return img


def read_json_file(path, what, fix):
    """``json.load`` of ``path``, raising :class:`IndexFileError` (naming ``what`` the file is,
    the file and ``fix``) when it is missing, empty or not valid json."""
    if not osp.isfile(path):
        raise IndexFileError(f'{what} {path} does not exist: {fix}')
    try:
        with open(path, 'rb') as f:
            data = f.read()
        if not data.strip():
            raise ValueError('the file is empty')
        return json.loads(data.decode('utf-8'))
    except (ValueError, UnicodeDecodeError) as e:
        raise IndexFileError(f'{what} {path} is not valid json ({e}): {fix}') from None


def _vint(data, pos):
    """EBML variable-length integer at ``pos`` -> (value, length, all ones = unknown size)."""
    first = data[pos]
    length = 9 - first.bit_length() if first else 9
    if length > 8 or pos + length > len(data):
        raise ValueError('bad EBML number')
    value = first & (0xFF >> length)
    for b in data[pos + 1:pos + length]:
        value = (value << 8) | b
    return value, length, value == (1 << (7 * length)) - 1


def container_shortfall(path):
    """How many bytes the container says ``path`` has beyond its real size: the top-level chunk
    / box / element sizes of AVI (RIFF), MP4 / MOV (ISO boxes) and Matroska / WebM (EBML). A
    positive number means the file was cut short; 0 when complete or another container."""
    size = os.path.getsize(path)
    with open(path, 'rb') as f:
        head = f.read(64)
        if head[:4] == b'RIFF':  # AVI: RIFF chunks (AVI 2.0 appends RIFF AVIX ones)
            pos = 0
            while pos + 8 <= size:
                f.seek(pos)
                hdr = f.read(8)
                if hdr[:4] != b'RIFF':
                    break
                n = int.from_bytes(hdr[4:8], 'little')
                pos += 8 + n + (n & 1)
            return max(0, pos - size - 1)  # the last pad byte is often left out
        if head[4:8] in (b'ftyp', b'moov', b'mdat', b'free', b'wide', b'skip'):  # ISO boxes
            pos = 0
            while pos + 8 <= size:
                f.seek(pos)
                hdr = f.read(16)
                n = int.from_bytes(hdr[:4], 'big')
                if n == 1:
                    n = int.from_bytes(hdr[8:16], 'big')
                elif n == 0:  # up to the end of the file
                    return 0
                if n < 8:
                    return 0  # not a box structure we understand: no verdict
                pos += n
            return max(0, pos - size)
        if head[:4] == b'\x1a\x45\xdf\xa3':  # EBML header, then the Segment
            try:
                n, length, _ = _vint(head, 4)
                pos = 4 + length + n
                f.seek(pos)
                seg = f.read(12)
                if seg[:4] != b'\x18\x53\x80\x67':
                    return 0
                n, length, unknown = _vint(seg, 4)
                return 0 if unknown else max(0, pos + 4 + length + n - size)
            except (ValueError, IndexError):
                return 0
    return 0


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
        short = container_shortfall(path) if osp.isfile(path) else 0
        if short:
            raise FrameReadError(f'video {path} is cut short: its container declares {short} '
                                 'more bytes than the file has (an interrupted download or '
                                 'copy); copy it again, re-encode it, or remove it from the '
                                 'dataset')
        cap = cv2.VideoCapture(path)
        if not cap.isOpened():
            raise FrameReadError(f'cannot open video {path}: the file is missing, unreadable or '
                                 'in a codec OpenCV lacks; re-encode it (ffmpeg -i in.x -c:v '
                                 'libx264 out.mp4) or remove it from the dataset')
        self.num_frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.fps = float(cap.get(cv2.CAP_PROP_FPS)) or 0.0
        if self.num_frames <= 0:
            cap.release()
            raise FrameReadError(f'video {path} reports no frames: it is empty or corrupt; '
                                 're-encode it or remove it from the dataset')
        # a file cut short keeps its header's frame count but loses its last frames
        cap.set(cv2.CAP_PROP_POS_FRAMES, self.num_frames - 1)
        ok, frame = cap.read()
        pos = int(cap.get(cv2.CAP_PROP_POS_FRAMES))
        cap.release()
        if not ok or frame is None or pos != self.num_frames:
            raise FrameReadError(f'video {path}: its header says {self.num_frames} frames but '
                                 f'the last one does not decode: the file is cut short or '
                                 'corrupt; re-encode it (ffmpeg -i in.x -c:v libx264 out.mp4) '
                                 'or remove it from the dataset')
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
        # a decoder that could not reach the frame returns another (stale) one or nothing
        pos = int(cap.get(cv2.CAP_PROP_POS_FRAMES)) if ok else -1
        if not ok or frame is None or pos != index + 1:
            self._cap = None
            got = '' if not ok or frame is None else f' (the decoder is at frame {pos - 1})'
            raise FrameReadError(f'cannot decode frame {index} of {self.path}{got}; header says '
                                 f'{self.num_frames} frames: the video is truncated or corrupt; '
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
        return read_image(osp.join(self.path, self.files[index]))


_SKIP_BAD = []  # stack of lists, see skip_bad_videos


@contextlib.contextmanager
def skip_bad_videos():
    """Within this context :func:`discover_sources` skips the videos that fail their check and
    lists them, ``(path, message)``, in the list it yields (long offline jobs report them at the
    end instead of stopping)."""
    bad = []
    _SKIP_BAD.append(bad)
    try:
        yield bad
    finally:
        _SKIP_BAD.pop()


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
            try:
                index = read_json_file(index_path, 'video index', '')
                if not isinstance(index, dict):
                    raise IndexFileError('not a json object')
            except IndexFileError as e:
                warnings.warn(f'video index {index_path} is unreadable ({e}); rebuilding it')
                index = {}
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
                if isinstance(cached, list) and len(cached) == 4 and cached[:2] == key and \
                        isinstance(cached[2], int) and cached[2] > 0:
                    src = VideoSource(path, num_frames=cached[2], fps=cached[3])
                else:
                    try:
                        src = VideoSource(path)
                    except FrameReadError as e:
                        if not _SKIP_BAD:
                            raise
                        _SKIP_BAD[-1].append((path, str(e)))
                        continue
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
    fix = ('it must map each source name to the list of its shots\' first frames; rewrite it '
           '(tools/misc/make_demo_world.py --sample-videos writes one)')
    shots = read_json_file(path, 'shots file', fix)
    try:
        return {k: sorted(int(s) for s in v) for k, v in shots.items()}
    except (AttributeError, TypeError, ValueError):
        raise IndexFileError(f'shots file {path} has the wrong structure: {fix}') from None
