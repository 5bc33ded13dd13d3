"""Precompute the flow cache that :class:`LoadFlow` reads (``tools/flow/compute_flow.py``).

For every source (video or frame folder) under a data root and every pair ``(t, t + d)`` inside a
shot, forward (t -> t+d) and backward (t+d -> t) flows are written to
``{out}/{source}/{t:06d}_{t+d:06d}_{fw|bw}.{flo|png}``. Work is split into chunks of consecutive
pairs run by parallel worker processes; every file is written atomically, so an interrupted run
resumes by skipping the pairs whose two files exist. ``flow_meta.json`` records the estimator and
interval: a second run with different settings refuses to mix them unless forced.

``flow_index.json`` lists the pairs the cache holds (both files present), ``{source: [[t1, t2],
...]}``; it is rewritten atomically at the end of every run. ``FramePairDataset(flow_cache=...)``
reads it and draws only those pairs, so a ``--step N`` cache (every N-th start frame) trains.
"""
import json
import os
import os.path as osp
from collections import defaultdict

from mmdense.utils.checkpoint import atomic_write_bytes
from mmdense.utils.jobs import run_jobs
from .flow_estimators import build_flow_estimator
from .frame_pair import FramePairDataset
from .transforms.flow import write_flow
from .video_io import FrameReadError, skip_bad_videos


INDEX_NAME = 'flow_index.json'


def pair_paths(out_dir, source, t1, t2, ext='flo'):
    base = osp.join(out_dir, source, f'{t1:06d}_{t2:06d}')
    return f'{base}_fw.{ext}', f'{base}_bw.{ext}'


def cached_pairs(out_dir, source, pairs, ext='flo'):
    """The ``(t1, t2)`` of ``pairs`` whose two files exist (one directory listing)."""
    folder = osp.join(out_dir, source)
    try:
        names = set(os.listdir(folder))
    except FileNotFoundError:
        return []
    return [(t1, t2) for t1, t2 in pairs
            if all(osp.basename(p) in names for p in pair_paths('', '', t1, t2, ext))]


def load_flow_index(out_dir):
    """``(meta, {source: [(t1, t2), ...]})`` of a cache written by :func:`compute_flow_cache`.

    Raises:
        FileNotFoundError: naming the index file and how to write it.
    """
    path = osp.join(out_dir, INDEX_NAME)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'flow cache {out_dir} has no {INDEX_NAME} (the list of the pairs it holds): run '
            f'tools/flow/compute_flow.py DATA_ROOT {out_dir} with the settings of the cache; '
            'it skips the pairs already computed and writes the index')
    with open(path) as f:
        index = json.load(f)
    return index.get('meta', {}), {k: [tuple(p) for p in v] for k, v in index['pairs'].items()}


def write_flow_index(out_dir, meta, pairs):
    """Write ``flow_index.json`` atomically."""
    index = dict(meta=meta, pairs={k: sorted(v) for k, v in sorted(pairs.items())})
    atomic_write_bytes(json.dumps(index).encode(), osp.join(out_dir, INDEX_NAME))


def _work(args):
    """Worker: compute the flows of one chunk of pairs of one source. Returns (#pairs,
    #pairs written, [(file, message) of the frames that could not be read]): a bad frame skips
    its pairs (listed at the end), not the job."""
    sources, name, pairs, out_dir, method, ext = args
    est = build_flow_estimator(method)
    src = sources[name]
    os.makedirs(osp.join(out_dir, name), exist_ok=True)
    cache = {}
    done = 0
    failed = []
    for t1, t2 in pairs:
        fw_path, bw_path = pair_paths(out_dir, name, t1, t2, ext)
        if osp.exists(fw_path) and osp.exists(bw_path):
            continue
        try:
            for t in (t1, t2):
                if t not in cache:
                    cache[t] = src.read(t)
        except FrameReadError as e:
            failed.append((f'{src.path} frame {t}', str(e)))
            continue
        a, b = cache[t1], cache[t2]
        write_flow(fw_path, est(a, b))
        write_flow(bw_path, est(b, a))
        for t in [k for k in cache if k < t1]:
            cache.pop(t)
        done += 1
    return len(pairs), done, failed


def compute_flow_cache(data_root, out_dir, interval_frames=None, interval_seconds=None, fps=0.0,
                       sources=None, shots_file=None, group_pattern=None, index_file=None,
                       method='dis_medium', fmt='flo', step=1, workers=0, chunk=64, force=False):
    """Compute (or complete) the flow cache. Returns a summary dict.

    Args mirror :class:`FramePairDataset` (which enumerates the sources and shots);
    ``step`` keeps every ``step``-th start frame; ``workers`` processes (0 = in-process).
    """
    if (interval_frames is None) == (interval_seconds is None):
        raise ValueError('give exactly one of interval_frames / interval_seconds')
    with skip_bad_videos() as bad_videos:  # listed at the end, the rest is computed
        ds = FramePairDataset(data_root, interval_frames=interval_frames or 1,
                              interval_seconds=interval_seconds, fps=fps, sources=sources,
                              shots_file=shots_file, group_pattern=group_pattern,
                              index_file=index_file)
    meta = dict(method=method, format=fmt, interval_frames=interval_frames,
                interval_seconds=interval_seconds)
    os.makedirs(out_dir, exist_ok=True)
    meta_path = osp.join(out_dir, 'flow_meta.json')
    if osp.exists(meta_path) and not force:
        with open(meta_path) as f:
            old = json.load(f)
        if old != meta:
            raise FileExistsError(f'{out_dir} holds flows computed with {old}; this run asks for '
                                  f'{meta}. Use another output folder or --force to mix them.')
    with open(meta_path, 'w') as f:
        json.dump(meta, f, indent=1)
    jobs = []
    total = 0
    for info in ds.data_list:
        d = info['interval'][0]
        pairs = [(t, t + d) for s, e in info['shots'] for t in range(s, e - d, step)]
        if force:
            for t1, t2 in pairs:
                for p in pair_paths(out_dir, info['source'], t1, t2, fmt):
                    if osp.exists(p):
                        os.remove(p)
        total += len(pairs)
        for i in range(0, len(pairs), chunk):
            jobs.append(({info['source']: ds._sources[info['source']]}, info['source'],
                         pairs[i:i + chunk], out_dir, method, fmt))
    results = run_jobs(_work, jobs, workers, total, size=lambda job, res: res[0])
    written = sum(r[1] for r in results)
    failed = list(bad_videos) + [f for r in results for f in r[2]]
    # the index: every pair of this run and of earlier runs whose two files exist
    wanted = defaultdict(set)
    if osp.exists(osp.join(out_dir, INDEX_NAME)):
        for name, old_pairs in load_flow_index(out_dir)[1].items():
            wanted[name].update(old_pairs)
    for info in ds.data_list:
        d = info['interval'][0]
        wanted[info['source']].update(
            (t, t + d) for s, e in info['shots'] for t in range(s, e - d, step))
    index = {name: cached_pairs(out_dir, name, sorted(p), fmt) for name, p in wanted.items()}
    write_flow_index(out_dir, dict(meta, step=step), {k: v for k, v in index.items() if v})
    return dict(pairs=total, computed=written, skipped=total - written, out_dir=out_dir,
                indexed=sum(len(v) for v in index.values()), failed=failed)
