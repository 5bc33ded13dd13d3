"""Where VADeR's matched pixels sit in their two views: the learning benchmark's views against
the paper's (a measurement of the view sampler, on no labels and no val data).

    python tools/benchmark/vader_view_geometry.py [--pairs 300] [--seed 0]
        [--out tools/benchmark/results/vader_view_geometry.json]

VADeR (Pinheiro et al. 2020, sec. 3.2) contrasts the embedding of a pixel in view 1 with the
momentum embedding of the same scene point in view 2, against pixels of other images. When a
matched pixel sits at nearly the same place in both views, an embedding that encodes the pixel's
position already tells the positive from most negatives: the collapse the learning benchmark
measured on its VADeR encoder (first principal component correlated -0.95 with the pixel row).
This script asks whether the benchmark's views make that shortcut easier than the paper's.

For each view pipeline it draws ``--pairs`` pairs with the config's own ``CorrespondingViews``
(crop, flip, redraw until >= ``min_shared`` grid pixels are shared) on a frame of the pipeline's
frame size, maps every view-1 grid pixel (stride 4) to view 2 through
:func:`mmdense.structures.geometry.view_correspondence`, and reports over the pixels seen in
both views:

* ``row_corr`` / ``col_corr``: correlation of the view-1 and view-2 row (column) of a matched
  pixel (1: the same row in both views; horizontal flips make the column's negative);
* ``median_shift``: median distance between the two positions, as a fraction of the view side;
* ``matched_per_pair``: mean number of matched grid pixels per pair.

Pipelines: ``benchmark`` (the VADeR demo config as the learning benchmark adapts it: 64x64 views
of 96x128 frames, ``tools/benchmark/learning.py``) and ``paper`` (the ImageNet config:
MoCo's ``RandomResizedCrop`` 224, scale 0.2-1, of a 375x500 frame, ImageNet's most common size).
Writes the figures as JSON to ``--out`` (atomically) and prints them with the ratio
benchmark / paper.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

PAPER_CFG = 'configs/vader/vader_resnet50-fpn_4xb32-6m-iters_in1k.py'
PAPER_FRAME = (375, 500)


def views_transform(pipeline):
    """The ``CorrespondingViews`` dict of a train pipeline."""
    for t in pipeline:
        if t['type'] == 'CorrespondingViews':
            return t
    raise ValueError('the pipeline has no CorrespondingViews')


def pipelines():
    """{name: (CorrespondingViews cfg, frame (H, W))} of the benchmark's and the paper's views."""
    from mmengine.config import Config

    import learning

    def pipeline(config):
        return Config.fromfile(osp.join(learning.REPO, config)).train_dataloader.dataset.pipeline

    bench = pipeline(learning.VADER)
    learning._fit_pipeline(bench, learning.CROP)
    paper = pipeline(PAPER_CFG)
    world = learning.WORLD
    return dict(benchmark=(views_transform(bench), (world['height'], world['width'])),
                paper=(views_transform(paper), PAPER_FRAME))


def measure(views_cfg, frame, pairs, seed):
    """The figures of one view pipeline (see the module docstring)."""
    import numpy as np
    import torch
    from mmengine.registry import init_default_scope

    from mmdense.registry import TRANSFORMS
    from mmdense.structures.geometry import feature_grid_coords, view_correspondence
    init_default_scope('mmdense')
    np.random.seed(seed)
    torch.manual_seed(seed)
    import random
    random.seed(seed)
    views = TRANSFORMS.build(dict(views_cfg, appearance=[]))  # geometry only
    img = np.random.default_rng(seed).integers(0, 256, (*frame, 3), dtype=np.uint8)
    stride = views.stride
    rows1, rows2, cols1, cols2, shifts = [], [], [], [], []
    for _ in range(pairs):
        out = views.transform(dict(img=img.copy(), img_path='noise'))
        size = out['img'][0].shape[:2]
        h, w = size[0] // stride, size[1] // stride
        a1 = torch.as_tensor(np.asarray(out['affine_v1']), dtype=torch.float64)[None]
        a2 = torch.as_tensor(np.asarray(out['affine_v2']), dtype=torch.float64)[None]
        q = feature_grid_coords(1, h, w, stride, dtype=torch.float64)
        tgt, valid = view_correspondence(q, a1, a2, tgt_size=size, frame_size=frame)
        ok = valid.flatten()
        p1, p2 = q.flatten(2)[0][:, ok], tgt.flatten(2)[0][:, ok]
        cols1.append(p1[0]), rows1.append(p1[1]), cols2.append(p2[0]), rows2.append(p2[1])
        shifts.append((p1 - p2).norm(dim=0) / max(size))
    cat = [torch.cat(x).numpy() for x in (rows1, rows2, cols1, cols2, shifts)]
    return dict(row_corr=float(np.corrcoef(cat[0], cat[1])[0, 1]),
                col_corr=float(np.corrcoef(cat[2], cat[3])[0, 1]),
                median_shift=float(np.median(cat[4])),
                matched_per_pair=len(cat[0]) / pairs, pairs=pairs, frame=list(frame),
                view=list(size))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--pairs', type=int, default=300)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default=osp.join(osp.dirname(osp.abspath(__file__)), 'results',
                                                  'vader_view_geometry.json'))
    args = parser.parse_args(argv)
    from mmdense.utils.checkpoint import atomic_write_bytes
    res = {name: measure(cfg, frame, args.pairs, args.seed)
           for name, (cfg, frame) in pipelines().items()}
    b, p = res['benchmark'], res['paper']
    print('| views | row corr | col corr | median shift (view side) | matched / pair |')
    print('|---|---|---|---|---|')
    for name, r in res.items():
        print(f"| {name} {r['view'][0]}px of {r['frame'][0]}x{r['frame'][1]} | "
              f"{r['row_corr']:.3f} | {r['col_corr']:.3f} | {r['median_shift']:.3f} | "
              f"{r['matched_per_pair']:.0f} |")
    print(f"benchmark / paper: row corr x{b['row_corr'] / p['row_corr']:.2f}, "
          f"median shift x{b['median_shift'] / p['median_shift']:.2f}")
    atomic_write_bytes(json.dumps(res, indent=1).encode(), args.out)
    print(f'-> {args.out}')


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli
    run_cli(main)
