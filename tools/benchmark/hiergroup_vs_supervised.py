"""HierGroup train-step cost relative to a plain supervised segmentation step, in one run.

    python tools/benchmark/hiergroup_vs_supervised.py [--depth 50] [--size 224 224] [--batch 4]
        [--steps 5] [--device cpu|cuda]

Both: the same ResNet (Res3 + Res4) + hypercolumn head on the same inputs. Supervised: a 1x1
classifier (21 classes) and cross entropy on a label map, one view. HierGroup: both views,
7 regions x (10 + 5 + cns 5) sampled pixels per image from a synthetic 40-region tree.
"""
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from step_compare import compare, run_children, step_parser, time_steps  # noqa: E402


def _parts(depth):
    c3, c4 = (512, 1024) if depth >= 50 else (128, 256)
    return (dict(type='ResNet', depth=depth, num_stages=3, strides=(1, 2, 2),
                 dilations=(1, 1, 1), out_indices=(1, 2)),  # no Res5, as HierGroup builds it
            dict(type='HypercolumnNeck', in_channels=(c3, c4)))


def _supervised(depth):
    def build():
        import torch.nn as nn
        import torch.nn.functional as F

        from mmdense.registry import MODELS
        backbone_cfg, neck_cfg = _parts(depth)

        class Supervised(nn.Module):
            def __init__(self):
                super().__init__()
                self.backbone = MODELS.build(backbone_cfg)
                self.neck = MODELS.build(neck_cfg)
                self.cls = nn.Conv2d(32, 21, 1)

            def loss(self, views, samples):
                logits = self.cls(self.neck(self.backbone(views[0]))[0])
                labels = samples['labels'].to(logits.device)
                up = F.interpolate(logits, size=labels.shape[-2:], mode='bilinear',
                                   align_corners=False)
                return dict(loss=F.cross_entropy(up, labels))
        return Supervised()
    return build


def _ucm_samples(batch, size):
    import numpy as np
    import torch
    from mmpretrain.structures import DataSample
    rng = np.random.default_rng(0)
    h, w = size
    # a 40-region grid with a random ultrametric (merge heights of a random binary tree)
    grid = (np.arange(h)[:, None] * 5 // h) * 8 + (np.arange(w)[None] * 8 // w)
    d = np.zeros((40, 40), np.float32)
    order = rng.permutation(40)
    for k in range(1, 40):  # chain merges: region order[k] joins the others at height k/39
        a, b = order[:k], order[k]
        d[a, b] = d[b, a] = k / 39
    out = []
    for _ in range(batch):
        s = DataSample()
        for v in (1, 2):
            s.set_field(torch.from_numpy(grid.astype(np.int64)), f'ucm_labels_v{v}',
                        field_type='metainfo')
        s.set_field(torch.from_numpy(d), 'ucm_dist', field_type='metainfo')
        out.append(s)
    return out


def main(argv=None):
    parser = step_parser(__doc__, depth=50, size=(224, 224), batch=4)
    args = parser.parse_args(argv)
    size = tuple(args.size)
    if args.child == 'supervised':
        import torch
        labels = lambda b, s: dict(labels=torch.randint(21, (b, *s)))  # noqa: E731
        print(json.dumps(time_steps(_supervised(args.depth), labels, args.batch, size,
                                    args.steps, args.device)))
        return None
    if args.child == 'hiergroup':
        backbone, neck = _parts(args.depth)
        cfg = dict(type='HierGroup', backbone=backbone, neck=neck, cns=5)
        print(json.dumps(time_steps(cfg, _ucm_samples, args.batch, size, args.steps,
                                    args.device)))
        return None
    res = run_children(__file__, ('supervised', 'hiergroup'), argv)
    print(f'ResNet-{args.depth} + hypercolumn, batch {args.batch}, {size[0]}x{size[1]}, '
          f'{args.device}')
    compare({'supervised': res['supervised'], 'HierGroup': res['hiergroup']}, 'supervised',
            'HierGroup')
    return res


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
