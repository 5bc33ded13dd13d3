"""UCM quality on the demo world: the former min-based hierarchy against OWT-UCM's mean boundary
strength, in one run, on the same edges.

    python tools/benchmark/ucm_quality.py [--data data/demo_world] [--workers 2] [--views 4]
        [--out work_dirs/benchmark/ucm_quality.json]

For every frame of the demo world (generated if missing): colour-gradient edges, then the
40-region tree of :func:`mmdense.datasets.ucm.ucm_from_edges` with each ``merge`` variant:

* ``min`` (before): ``merge='dynamics'`` (watershed by dynamics: regions merge at the weakest
  point of their boundary; the former hierarchy);
* ``mean`` (after, the default): ``merge='mean'`` (greedy merging by the mean strength along each
  boundary, as OWT-UCM, on watershed superpixels of at least 0.25% of the image);
* ``mean-floor-0.1%``: the same with ``min_area=0.001``;
* ``mean-all-minima``: ``min_area=0`` (every watershed basin a superpixel).

Figures per variant:

* boundary F-measure at the optimal dataset scale (ODS) of the UCM (the 40-region map's
  boundaries weighted by merge height, :func:`ucm_boundaries`) against the ground-truth object
  boundaries (the demo world's instance maps), over 99 thresholds; a boundary pixel matches
  when one of the other side lies within 0.0075 x the image diagonal (the BSDS tolerance;
  nearest-neighbour matching, not BSDS's one-to-one assignment);
* the share of HierGroup anchors in regions under 0.5% of the image: ``--views`` draws of the
  demo config's two views per frame (its ``CorrespondingViews``, ``PackUCMInputs``), region
  maps at the 1/4-scale feature grid as ``HierGroup`` reads them, and its anchor sampling
  (:func:`sample_region_pairs`, 7 regions per image);
* regions per image, share of regions under 0.5%, seconds per tree.

Prints a table and writes the figures as JSON to ``--out`` (atomically).
"""
import argparse
import json
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

DEMO_CFG = 'configs/hiergroup/hiergroup_resnet18-hypercolumn_1xb8-300iters_demo-world.py'
VARIANTS = {'min': dict(merge='dynamics'), 'mean': dict(merge='mean'),
            'mean-floor-0.1%': dict(merge='mean', min_area=0.001),
            'mean-all-minima': dict(merge='mean', min_area=0)}
THRESHOLDS = [(k + 1) / 100 for k in range(99)]
SPECK = 0.005  # regions under 0.5% of the image


def _boundary(labels):
    """(H, W) bool: pixels whose right / lower neighbour has another label."""
    import numpy as np
    out = np.zeros(labels.shape, bool)
    out[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    out[:-1] |= labels[:-1] != labels[1:]
    return out


def _near(mask, radius):
    """(H, W) bool: within ``radius`` pixels of a True pixel of ``mask``."""
    import cv2
    import numpy as np
    if not mask.any():
        return np.zeros(mask.shape, bool)
    dt = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return dt <= radius


def _views(frame, img, seed, num):
    """``num`` draws of the demo config's two views of ``img`` (its ``CorrespondingViews``;
    geometry only: the colour jitter moves no pixel), shared by all variants."""
    import random

    import numpy as np
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmdense.registry import TRANSFORMS
    init_default_scope('mmdense')
    cfg = Config.fromfile(DEMO_CFG)
    step = [s for s in cfg.train_pipeline if s['type'] == 'CorrespondingViews'][0]
    step['appearance'] = []
    views = TRANSFORMS.build(step)
    random.seed(seed)
    np.random.seed(seed)
    return [views(dict(img=img.copy(), img_path=frame, img_shape=img.shape[:2],
                       ori_shape=img.shape[:2])) for _ in range(num)]


def _anchor_specks(views, labels, dist, seed):
    """(anchors, anchors in regions under 0.5% of the frame) over the drawn views: each view
    pair packed by ``PackUCMInputs`` (the region map warped into both views), read at the
    1/4-scale feature grid by ``HierGroup`` and sampled by its ``sample_region_pairs``."""
    import numpy as np

    from mmdense.datasets.transforms.ucm import PackUCMInputs
    from mmdense.models.algorithms.hiergroup import HierGroup
    from mmdense.models.utils.region_pairs import sample_region_pairs
    area = np.bincount(labels.ravel(), minlength=dist.shape[0]) / labels.size
    rng = np.random.default_rng(seed)
    anchors = specks = 0
    for res in views:
        packed = PackUCMInputs()(dict(res, ucm_labels=labels.astype(np.int64), ucm_dist=dist))
        sample = packed['data_samples']
        h, w = (s // 4 for s in packed['inputs'][0].shape[-2:])  # hypercolumn at 1/4
        maps = [HierGroup._labels(sample, v, (h, w)) for v in range(2)]
        a, _, _ = sample_region_pairs(maps, dist, 7, 10, 5, 0.8, rng)
        regions = maps[0].ravel()[a[:, 1]]
        anchors += len(regions)
        specks += int((area[regions] < SPECK).sum())
    return anchors, specks


def _job(job):
    """All figures of one frame, for every variant (runs in a worker process)."""
    import cv2
    import numpy as np

    import mmdense  # noqa: F401  (registers the transforms)
    from mmdense.datasets.ucm import color_gradient_edges, ucm_boundaries, ucm_from_edges
    frame, inst, seed, num_views, variants = job
    img = cv2.imread(frame, cv2.IMREAD_COLOR)
    gt = _boundary(cv2.imread(inst, cv2.IMREAD_UNCHANGED))
    radius = 0.0075 * float(np.hypot(*img.shape[:2]))
    near_gt = _near(gt, radius)
    views = _views(frame, img, seed, num_views)
    edges = color_gradient_edges(img)
    out = {}
    for name, kw in variants.items():
        t0 = time.perf_counter()
        labels, dist = ucm_from_edges(edges, **kw)
        sec = time.perf_counter() - t0
        ucm = ucm_boundaries(labels, dist)
        pred, pred_hit, gt_hit = [], [], []
        for t in THRESHOLDS:
            b = ucm > t
            pred.append(int(b.sum()))
            pred_hit.append(int((b & near_gt).sum()))
            gt_hit.append(int((gt & _near(b, radius)).sum()))
        area = np.bincount(labels.ravel(), minlength=dist.shape[0]) / labels.size
        anchors, specks = _anchor_specks(views, labels, dist, seed)
        out[name] = dict(pred=pred, pred_hit=pred_hit, gt=int(gt.sum()), gt_hit=gt_hit,
                         regions=int(dist.shape[0]), speck_regions=int((area < SPECK).sum()),
                         anchors=anchors, speck_anchors=specks, sec=sec)
    return out


def summarise(results):
    """Per variant: ODS (F, P, R, threshold), anchor and region speck shares, timing."""
    import numpy as np
    summary = {}
    for name in results[0]:
        rs = [r[name] for r in results]
        pred = np.sum([r['pred'] for r in rs], 0)
        pred_hit = np.sum([r['pred_hit'] for r in rs], 0)
        gt_hit = np.sum([r['gt_hit'] for r in rs], 0)
        gt = sum(r['gt'] for r in rs)
        p = pred_hit / np.maximum(pred, 1)
        r = gt_hit / max(gt, 1)
        f = 2 * p * r / np.maximum(p + r, 1e-12)
        k = int(np.argmax(f))
        summary[name] = dict(
            ods_f=round(float(f[k]), 4), ods_precision=round(float(p[k]), 4),
            ods_recall=round(float(r[k]), 4), ods_threshold=THRESHOLDS[k],
            anchors=int(sum(x['anchors'] for x in rs)),
            speck_anchor_share=round(sum(x['speck_anchors'] for x in rs)
                                     / max(sum(x['anchors'] for x in rs), 1), 4),
            regions_per_image=round(float(np.mean([x['regions'] for x in rs])), 2),
            speck_region_share=round(sum(x['speck_regions'] for x in rs)
                                     / max(sum(x['regions'] for x in rs), 1), 4),
            sec_per_tree=round(float(np.mean([x['sec'] for x in rs])), 4))
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data', default='data/demo_world')
    parser.add_argument('--views', type=int, default=4, help='view draws per frame (anchors)')
    parser.add_argument('--max-frames', type=int, default=0, help='0: every frame')
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default='work_dirs/benchmark/ucm_quality.json')
    args = parser.parse_args(argv)
    from mmdense.datasets import generate_demo_world
    from mmdense.datasets.ucm import list_images
    from mmdense.utils.checkpoint import atomic_write_bytes
    from mmdense.utils.jobs import run_jobs
    if not osp.exists(osp.join(args.data, 'meta.json')):
        generate_demo_world(args.data)
    rels = list_images(osp.join(args.data, 'frames'))
    if args.max_frames:  # evenly spread over the clips
        rels = rels[::max(1, len(rels) // args.max_frames)][:args.max_frames]
    jobs = [(osp.join(args.data, 'frames', rel), osp.join(args.data, 'inst', rel),
             args.seed * 100003 + i, args.views, VARIANTS) for i, rel in enumerate(rels)]
    t0 = time.perf_counter()
    results = run_jobs(_job, jobs, args.workers)
    summary = summarise(results)
    report = dict(data=args.data, frames=len(jobs), views_per_frame=args.views,
                  edges='color_gradient_edges', max_regions=40, speck_area=SPECK,
                  seconds=round(time.perf_counter() - t0, 1), variants=summary)
    atomic_write_bytes(json.dumps(report, indent=2).encode(), args.out)
    print(f'UCM quality on {args.data} ({len(jobs)} frames, colour-gradient edges, '
          f'40 regions; {report["seconds"]} s):')
    print(f'{"variant":<18} {"ODS F":>6} {"P":>6} {"R":>6} {"thr":>5} '
          f'{"anchors<0.5%":>13} {"regions":>8} {"regions<0.5%":>13} {"s/tree":>7}')
    for name, s in summary.items():
        print(f'{name:<18} {s["ods_f"]:>6.3f} {s["ods_precision"]:>6.3f} '
              f'{s["ods_recall"]:>6.3f} {s["ods_threshold"]:>5.2f} '
              f'{100 * s["speck_anchor_share"]:>12.1f}% {s["regions_per_image"]:>8.1f} '
              f'{100 * s["speck_region_share"]:>12.1f}% {s["sec_per_tree"]:>7.3f}')
    print(f'figures -> {args.out}')
    return report


if __name__ == '__main__':
    main()
