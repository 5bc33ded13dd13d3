"""Frame-pair dataset over a folder of videos and/or frame folders."""
import os.path as osp

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmdense.registry import DATASETS
from .video_io import discover_sources, load_shots


@DATASETS.register_module()
class FramePairDataset(BaseDataset):
    """Random pairs of frames ``(t, t + d)`` from raw videos, drawn anew at every access.

    ``data_root`` holds video files (decoded with OpenCV, seeking only the two frames needed) and
    / or frame folders (any folder directly holding images), found recursively. Item ``i`` draws a
    pair from source ``i % num_sources``; the dataset length is ``num_sources * pairs_per_source``
    so an epoch visits every video ``pairs_per_source`` times.

    Args:
        data_root (str): root folder.
        pipeline (list): transforms; the loader puts ``img`` (frame t, BGR uint8 (H, W, 3)) and
            ``img2`` (frame t + d) in the results, with ``frame_ids``, ``source`` and ``img_path``.
        interval_frames (int | tuple[int, int]): frame distance d, or a ``(min, max)`` range drawn
            uniformly per pair. Used when ``interval_seconds`` is None. 0 gives both views from
            the same frame (image-only ablations).
        interval_seconds (float, optional): distance in seconds (``round(seconds * fps)`` frames,
            at least 1), e.g. 0.5 s as FlowE on BDD100K. Frame folders then need ``fps``.
        fps (float): frame rate of frame folders (videos report their own).
        sources (list[str] | str, optional): restrict to these source names (relative paths under
            ``data_root``), or a text file listing them one per line (relative to data_root).
        shots_file (str, optional): json ``{source: [shot start frames]}``; pairs never cross a cut.
        pairs_per_source (int): dataset length multiplier.
        random_order (bool): swap the two frames with probability 0.5.
        group_pattern (str, optional): split frame folders into sequences by file name (e.g.
            Cityscapes ``leftImg8bit_sequence``); see :func:`discover_sources`.
        index_file (str, optional): json cache of video headers (large video datasets such as
            BDD100K); see :func:`discover_sources`.
        flow_cache (str, optional): folder of a flow cache written by
            ``tools/flow/compute_flow.py`` (read by ``LoadFlow``). The dataset then draws only
            the pairs the cache holds (its ``flow_index.json``), e.g. every N-th start frame of a
            ``--step N`` cache, uniformly per source. Start-up refuses a cache that lacks pairs
            for a source this dataset draws from, or whose files are missing, with the counts
            and the fix, so training never stops on a missing flow file. None: any start frame.
    """

    def __init__(self, data_root, pipeline=(), interval_frames=1, interval_seconds=None, fps=0.0,
                 sources=None, shots_file=None, pairs_per_source=1, random_order=False,
                 group_pattern=None, index_file=None, flow_cache=None, test_mode=False,
                 lazy_init=False, max_refetch=0):
        self.interval_frames = interval_frames
        self.interval_seconds = interval_seconds
        self.fps = fps
        self.source_filter = sources
        self.shots_file = shots_file
        self.pairs_per_source = pairs_per_source
        self.random_order = random_order
        self.group_pattern = group_pattern
        self.index_file = index_file
        self.flow_cache = flow_cache
        self._sources = None
        super().__init__(data_root=data_root, pipeline=list(pipeline), test_mode=test_mode,
                         lazy_init=lazy_init, serialize_data=False, max_refetch=max_refetch)

    # ------------------------------------------------------------------ indexing
    def _interval_range(self, fps, name):
        if self.interval_seconds is not None:
            if fps <= 0:
                raise ValueError(f'{name} has no frame rate; set fps=... for frame folders when '
                                 'using interval_seconds, or use interval_frames')
            d = max(1, int(round(self.interval_seconds * fps)))
            return d, d
        if isinstance(self.interval_frames, (list, tuple)):
            lo, hi = (int(v) for v in self.interval_frames)
        else:
            lo = hi = int(self.interval_frames)
        if lo < 0 or hi < lo:
            raise ValueError(f'interval_frames must be >= 0 (or a (min, max) range), got '
                             f'{self.interval_frames}')
        return lo, hi

    def load_data_list(self):
        sources = discover_sources(self.data_root, fps=self.fps,
                                   group_pattern=self.group_pattern, index_file=self.index_file)
        if self.source_filter is not None:
            wanted = self.source_filter
            if isinstance(wanted, str):
                path = wanted if osp.isabs(wanted) else osp.join(self.data_root, wanted)
                if not osp.exists(path):
                    raise FileNotFoundError(f'source list {path} not found')
                with open(path) as f:
                    wanted = [line.strip() for line in f if line.strip()]
            missing = [w for w in wanted if w not in sources]
            if missing:
                raise FileNotFoundError(f'{len(missing)} listed sources are not under '
                                        f'{self.data_root}, e.g. {missing[:3]}')
            sources = {k: sources[k] for k in wanted}
        shots = load_shots(self.data_root, self.shots_file) if self.shots_file else {}
        data_list, dropped = [], []
        for name, src in sources.items():
            lo, hi = self._interval_range(src.fps, name)
            starts = shots.get(name, [0])
            bounds = [(s, e) for s, e in zip(starts, starts[1:] + [len(src)]) if e - s > lo]
            if not bounds:
                dropped.append(name)
                continue
            data_list.append(dict(source=name, num_frames=len(src), fps=src.fps,
                                  shots=bounds, interval=(lo, hi)))
        if dropped:
            print_log(f'FramePairDataset: {len(dropped)} sources are too short for the frame '
                      f'interval and are skipped, e.g. {dropped[:3]}', logger='current')
        if not data_list:
            raise ValueError(f'no source under {self.data_root} is long enough for a frame pair '
                             f'(interval_frames={self.interval_frames}, '
                             f'interval_seconds={self.interval_seconds})')
        if self.flow_cache is not None:
            self._restrict_to_cache(data_list)
        self._sources = sources
        return data_list

    def _restrict_to_cache(self, data_list):
        """Attach to each source the cached pairs it may draw (``pairs`` (K, 2) int array) and
        refuse a cache that does not cover the dataset (counts and fix in the message)."""
        from .flow_cache import cached_pairs, load_flow_index
        meta, index = load_flow_index(self.flow_cache)
        ext = meta.get('format', 'flo')
        uncovered, lost, total = [], 0, 0
        for info in data_list:
            lo, hi = info['interval']
            shots = info['shots']
            pairs = [(t1, t2) for t1, t2 in index.get(info['source'], ())
                     if lo <= t2 - t1 <= hi
                     and any(s <= t1 and t2 < e for s, e in shots)]
            present = cached_pairs(self.flow_cache, info['source'], pairs, ext)
            lost += len(pairs) - len(present)
            if not present:
                uncovered.append(info['source'])
            info['pairs'] = np.asarray(present, dtype=np.int64).reshape(-1, 2)
            total += len(present)
        interval = (f'interval_seconds={self.interval_seconds}' if self.interval_seconds
                    is not None else f'interval_frames={self.interval_frames}')
        fix = (f'fix: run tools/flow/compute_flow.py {self.data_root} {self.flow_cache} with the '
               f"dataset's settings ({interval}; it computes only what is missing and rewrites "
               "the index), or restrict the dataset's `sources`")
        if uncovered:
            raise ValueError(
                f"flow cache {self.flow_cache} holds no pair with the dataset's interval for "
                f'{len(uncovered)} of the {len(data_list)} sources this dataset draws from '
                f'(e.g. {uncovered[:3]}; cached: {total} pairs of '
                f'{len(data_list) - len(uncovered)} sources; its index was written for '
                f'{meta or "unknown settings"}); {fix}')
        if lost:
            raise ValueError(f'flow cache {self.flow_cache}: {lost} of the {total + lost} pairs '
                             'its flow_index.json lists for this dataset have '
                             f'missing files; {fix}')
        print_log(f'FramePairDataset: drawing {total} cached pairs of {len(data_list)} sources '
                  f'from {self.flow_cache}', logger='current')

    def __len__(self):
        if not self._fully_initialized:
            self.full_init()
        return len(self.data_list) * self.pairs_per_source

    def get_data_info(self, idx):
        return dict(self.data_list[idx % len(self.data_list)])

    # ------------------------------------------------------------------ sampling
    def sample_pair(self, info, rng=np.random):
        """Draw ``(t1, t2)`` inside one shot of the source described by ``info`` (among the
        cached pairs when the dataset has a ``flow_cache``)."""
        if 'pairs' in info:
            t1, t2 = (int(t) for t in info['pairs'][int(rng.randint(len(info['pairs'])))])
            if self.random_order and rng.rand() < 0.5:
                t1, t2 = t2, t1
            return t1, t2
        lo, hi = info['interval']
        d = int(rng.randint(lo, hi + 1))
        shots = [(s, e) for s, e in info['shots'] if e - s > d]
        if not shots:  # a longer interval than this source allows: fall back to the shortest
            d = lo
            shots = info['shots']
        weights = np.array([e - s - d for s, e in shots], dtype=np.float64)
        s, e = shots[int(rng.choice(len(shots), p=weights / weights.sum()))]
        t1 = int(rng.randint(s, e - d)) if e - d > s else s
        t2 = t1 + d
        if self.random_order and rng.rand() < 0.5:
            t1, t2 = t2, t1
        return t1, t2

    def prepare_data(self, idx):
        info = self.get_data_info(idx)
        t1, t2 = self.sample_pair(info)
        src = self._sources[info['source']]
        img = src.read(t1)
        img2 = img.copy() if t2 == t1 else src.read(t2)
        results = dict(img=img, img2=img2, frame_ids=(t1, t2), source=info['source'],
                       data_root=self.data_root,
                       img_path=f'{src.path}#{t1}', ori_shape=img.shape[:2],
                       img_shape=img.shape[:2], sample_idx=idx)
        return self.pipeline(results)
