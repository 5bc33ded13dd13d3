"""VADeR train-step cost relative to MMPretrain's MoCo-v2, measured in one run.

    python tools/benchmark/vader_vs_mocov2.py [--depth 50] [--size 224 224] [--batch 4]
        [--steps 5] [--device cpu|cuda]

Same encoder (ResNet, standard strides) and inputs; MoCo-v2 pools the encoder output, VADeR adds
its FPN decoder (1/4-scale 128-d embedding) and the pixel NCE over 32 matched pixels per pair
(queue 65536 for both). Each model runs in its own process (peak memory is its own).
"""
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from step_compare import compare, run_children, step_parser, time_steps  # noqa: E402


def _models(depth):
    c = 2048 if depth >= 50 else 512
    stages = [c // 8, c // 4, c // 2, c]
    mocov2 = dict(
        type='MoCo', queue_len=65536, feat_dim=128, momentum=0.001,
        backbone=dict(type='ResNet', depth=depth),
        neck=dict(type='MoCoV2Neck', in_channels=c, hid_channels=2048, out_channels=128,
                  with_avg_pool=True),
        head=dict(type='ContrastiveHead', loss=dict(type='CrossEntropyLoss'), temperature=0.2))
    vader = dict(type='VADeR', queue_len=65536,
                 backbone=dict(type='ResNet', depth=depth, out_indices=(0, 1, 2, 3)),
                 neck=dict(type='FPNDecoder', in_channels=stages))
    return dict(mocov2=mocov2, vader=vader)


def _samples(batch, size):
    import torch
    from mmpretrain.structures import DataSample
    out = []
    for _ in range(batch):  # the two views are the same crop: every pixel corresponds
        s = DataSample()
        s.set_field(torch.eye(3), 'affine_v1', field_type='metainfo')
        s.set_field(torch.eye(3), 'affine_v2', field_type='metainfo')
        s.set_field(tuple(size), 'frame_shape', field_type='metainfo')
        out.append(s)
    return out


def main(argv=None):
    parser = step_parser(__doc__, depth=50, size=(224, 224), batch=4)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(time_steps(_models(args.depth)[args.child], _samples, args.batch,
                                    tuple(args.size), args.steps, args.device)))
        return None
    res = run_children(__file__, ('mocov2', 'vader'), argv)
    print(f"ResNet-{args.depth}, {args.batch} x 2 views of {args.size[0]}x{args.size[1]}, "
          f"{args.device}")
    compare({'MoCo-v2': res['mocov2'], 'VADeR': res['vader']}, 'MoCo-v2', 'VADeR')
    return res


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
