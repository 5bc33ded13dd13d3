"""CACL train-step cost relative to MMPretrain's MoCo-v2, measured in one run.

    python tools/benchmark/cacl_vs_mocov2.py [--depth 18] [--size 224 224] [--batch 4]
        [--steps 5] [--device cpu|cuda] [--hard-cycle]

Both models use the same backbone (ResNet, last two stages dilated, output stride 8), MoCo-v2's
hyper-parameters (dim 128, tau 0.07 / 0.2 as each method, queues 65536 for MoCo-v2 and 3 x 16384
for CACL) and the same inputs, each in its own process (peak memory is its own). CACL's
hw x hw affinities run in chunks of at most ``--max-affinity-elems`` elements.
"""
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from step_compare import (compare, dilated_backbone, run_children, step_parser,  # noqa: E402
                          time_steps)


def _models(depth, soft_cycle, max_elems):
    backbone, c = dilated_backbone(depth)
    mocov2 = dict(
        type='MoCo', queue_len=65536, feat_dim=128, momentum=0.001, backbone=backbone,
        neck=dict(type='MoCoV2Neck', in_channels=c, hid_channels=2048, out_channels=128,
                  with_avg_pool=True),
        head=dict(type='ContrastiveHead', loss=dict(type='CrossEntropyLoss'), temperature=0.2))
    cacl = dict(type='CACL', backbone=backbone, queue_len=16384, soft_cycle=soft_cycle,
                max_affinity_elems=max_elems,
                head=dict(type='DenseNonLinearNeck', in_channels=c, hid_channels=c,
                          out_channels=128, norm_cfg=None))
    return dict(mocov2=mocov2, cacl=cacl)


def main(argv=None):
    parser = step_parser(__doc__, depth=18, size=(224, 224), batch=4)
    parser.add_argument('--hard-cycle', action='store_true', help='identity cycle target')
    parser.add_argument('--max-affinity-elems', type=int, default=2**26)
    args = parser.parse_args(argv)
    if args.child:
        cfg = _models(args.depth, not args.hard_cycle, args.max_affinity_elems)[args.child]
        print(json.dumps(time_steps(cfg, lambda b, s: None, args.batch, tuple(args.size),
                                    args.steps, args.device)))
        return None
    res = run_children(__file__, ('mocov2', 'cacl'), argv)
    print(f"ResNet-{args.depth} (output stride 8), {args.batch} x 2 views of "
          f"{args.size[0]}x{args.size[1]}, {args.device}, "
          f"{'hard' if args.hard_cycle else 'soft'} cycle")
    compare({'MoCo-v2': res['mocov2'], 'CACL': res['cacl']}, 'MoCo-v2', 'CACL')
    return res


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
