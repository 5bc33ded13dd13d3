"""The demo's picture: val frames of the demo world with, for each encoder (pretrained, random
init, ...), what its frozen segmentation readout predicts and a PCA picture of its features.

    .venv/bin/python tools/misc/demo_picture.py READOUT_CONFIG LABEL=RUN [LABEL=RUN ...] \
        --out work_dirs/demo/demo.png [--frames 3] [--data-root data/demo_world] [--scale 2]

RUN is a readout work dir (its ``last_checkpoint`` is read) or a readout checkpoint (.pth):
the whole MMSeg model, frozen encoder included, as ``tools/readout/readout.sh`` trained it.
Columns: input | ground truth | then, per run, prediction | PCA of the features the readout
head reads (the 3 leading principal components as RGB, one basis per run for all frames).
Rows: ``--frames`` val frames spread over the val split. Prints the PNG's path.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path[:0] = [ROOT, osp.join(ROOT, 'projects', 'dense_eval')]

HEADER = 22  # pixels of the label bar above each column


def parse_runs(specs):
    """['pretrained=work_dirs/x', ...] -> [(label, checkpoint path)]."""
    runs = []
    for spec in specs:
        label, _, path = spec.rpartition('=')
        label = label or osp.basename(osp.normpath(path))
        if osp.isdir(path):
            last = osp.join(path, 'last_checkpoint')
            if not osp.isfile(last):
                raise FileNotFoundError(f'{path} has no last_checkpoint: train the readout '
                                        'first (tools/readout/readout.sh CONFIG CKPT 1)')
            path = open(last).read().strip()
        if not osp.isfile(path):
            raise FileNotFoundError(f'readout checkpoint {path} does not exist')
        runs.append((label, path))
    return runs


def load_readout(cfg, ckpt):
    """The readout model of ``cfg`` with every weight from ``ckpt`` (strict)."""
    from mmengine.registry import MODELS
    from mmengine.runner import load_checkpoint
    model_cfg = cfg.model.copy()
    for part in ('backbone', 'neck'):  # the readout checkpoint carries the encoder already
        if isinstance(model_cfg.get(part), dict) and 'pretrained_ckpt' in model_cfg[part]:
            model_cfg[part] = dict(model_cfg[part], pretrained_ckpt=None)
    model = MODELS.build(model_cfg)
    load_checkpoint(model, ckpt, map_location='cpu', strict=True, logger='silent')
    return model.eval()


def colour_labels(labels, palette):
    """(H, W) class indices -> (H, W, 3) BGR; ignore (255) and unknown labels are black."""
    import numpy as np
    lut = np.zeros((256, 3), np.uint8)
    lut[:len(palette)] = np.asarray(palette, np.uint8)[:, ::-1]
    return lut[labels.astype(np.uint8)]


def _tile(img, scale, nearest):
    import cv2
    h, w = img.shape[:2]
    return cv2.resize(img, (w * scale, h * scale),
                      interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR)


def make_picture(config, runs, out, frames=3, data_root=None, scale=2):
    """Write the picture; returns dict(path, columns, rows, tile=(h, w), header) so callers can
    find each tile: column ``c``, row ``r`` starts at (header + r * h, c * w)."""
    import cv2
    import numpy as np
    import torch
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DATASETS, init_default_scope

    import mmdense  # noqa: F401  (registries, safe checkpoint loading)
    from mmdense.utils.checkpoint import atomic_write_bytes
    from dense_eval import pca_rgb

    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    ds_cfg = cfg.val_dataloader.dataset.copy()
    if data_root is not None:
        ds_cfg.data_root = data_root
    dataset = DATASETS.build(ds_cfg)
    palette = dataset.metainfo['palette']
    picks = sorted({int(round(i)) for i in np.linspace(0, len(dataset) - 1, frames)})
    items = [dataset[i] for i in picks]

    columns = ['input', 'ground truth']
    grid = [[] for _ in items]
    for r, item in enumerate(items):
        img = item['inputs'].permute(1, 2, 0).numpy()  # BGR as loaded
        gt = item['data_samples'].gt_sem_seg.data[0].numpy()
        grid[r] += [_tile(img, scale, False), _tile(colour_labels(gt, palette), scale, True)]
    for label, ckpt in runs:
        model = load_readout(cfg, ckpt)
        head = model.decode_head
        basis = None
        columns += [f'{label}: prediction', f'{label}: features (PCA)']
        for r, item in enumerate(items):
            batch = pseudo_collate([item])
            with torch.no_grad():
                pred = model.test_step(batch)[0].pred_sem_seg.data[0].numpy()
                data = model.data_preprocessor(batch, False)
                feats = model.extract_feat(data['inputs'])
            if isinstance(feats, (list, tuple)):
                feats = feats[head.in_index if isinstance(head.in_index, int) else -1]
            pca, basis = pca_rgb(feats[0].float(), basis)
            h, w = pred.shape
            pca = cv2.resize(np.ascontiguousarray(pca[..., ::-1]), (w, h),
                             interpolation=cv2.INTER_NEAREST)
            grid[r] += [_tile(colour_labels(pred, palette), scale, True),
                        _tile(pca, scale, True)]
    th, tw = grid[0][0].shape[:2]
    canvas = np.full((HEADER + th * len(grid), tw * len(columns), 3), 255, np.uint8)
    for c, name in enumerate(columns):
        cv2.putText(canvas, name, (c * tw + 4, HEADER - 7), cv2.FONT_HERSHEY_SIMPLEX,
                    min(0.5, 0.95 * tw / max(1, 11 * len(name))), (0, 0, 0), 1, cv2.LINE_AA)
        for r, row in enumerate(grid):
            tile = row[c]
            if tile.shape[:2] != (th, tw):
                tile = cv2.resize(tile, (tw, th), interpolation=cv2.INTER_NEAREST)
            canvas[HEADER + r * th:HEADER + (r + 1) * th, c * tw:(c + 1) * tw] = tile
    ok, png = cv2.imencode('.png', canvas)
    if not ok:
        raise OSError(f'could not encode {out} as PNG')
    atomic_write_bytes(png.tobytes(), out)
    return dict(path=out, columns=columns, rows=[dataset.get_data_info(i)['img_path']
                                                 for i in picks],
                tile=(th, tw), header=HEADER)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='the segmentation readout config the runs trained')
    parser.add_argument('runs', nargs='+', metavar='LABEL=RUN',
                        help='readout work dir or checkpoint, with a column label')
    parser.add_argument('--out', required=True, help='PNG to write')
    parser.add_argument('--frames', type=int, default=3, help='val frames (rows)')
    parser.add_argument('--data-root', default=None, help="override the config's data_root")
    parser.add_argument('--scale', type=int, default=2, help='pixel zoom of each tile')
    args = parser.parse_args(argv)
    if not osp.isfile(args.config):
        sys.exit(f'error: config {args.config} does not exist')
    try:
        runs = parse_runs(args.runs)
        res = make_picture(args.config, runs, args.out, args.frames, args.data_root, args.scale)
    except (FileNotFoundError, OSError) as e:
        sys.exit(f'error: {e}')
    print(res['path'])
    return res


if __name__ == '__main__':
    main()
