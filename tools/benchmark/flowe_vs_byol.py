"""FlowE train-step cost relative to MMPretrain's BYOL, measured in one run.

    python tools/benchmark/flowe_vs_byol.py [--depth 50] [--size 512 512] [--batch 2]
        [--steps 5] [--resolution feature|image] [--num-pixels 512] [--device cpu|cuda]

Both models use the same backbone (ResNet with the last two stages dilated, output stride 8),
the same BYOL channel counts and the same inputs; the defaults are the paper config's (512x512
crops, 2 pairs per GPU, ``num_pixels=512``; ``--num-pixels 0``: the loss at every location;
``--resolution image`` always uses every location). Each runs in its own process so its peak memory
(CUDA: max allocated; CPU: peak RSS growth) is its own. Prints seconds per step, the ratio
FlowE / BYOL (target <= 1.2) and peak memory of both.
"""
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from step_compare import (compare, dilated_backbone, run_children, step_parser,  # noqa: E402
                          time_steps)


def _models(depth):
    backbone, c = dilated_backbone(depth)
    byol = dict(
        type='BYOL', base_momentum=0.004, backbone=backbone,
        neck=dict(type='NonLinearNeck', in_channels=c, hid_channels=4096, out_channels=256,
                  num_layers=2, with_avg_pool=True),
        head=dict(type='LatentPredictHead', loss=dict(type='CosineSimilarityLoss'),
                  predictor=dict(type='NonLinearNeck', in_channels=256, hid_channels=4096,
                                 out_channels=256, num_layers=2, with_avg_pool=False)))
    flowe = dict(
        type='FlowE', base_momentum=0.004, backbone=backbone,
        neck=dict(type='DenseNonLinearNeck', in_channels=c, hid_channels=4096, out_channels=256),
        predictor=dict(type='DenseNonLinearNeck', in_channels=256, hid_channels=4096,
                       out_channels=256))
    return dict(byol=byol, flowe=flowe)


def _flow_samples(batch, size):
    import torch
    from mmpretrain.structures import DataSample
    samples = []
    for _ in range(batch):
        s = DataSample()
        s.set_field(torch.eye(3), 'affine_v1', field_type='metainfo')
        s.set_field(torch.eye(3), 'affine_v2', field_type='metainfo')
        s.set_field(torch.randn(2, *size) * 2, 'flow_fw', field_type='metainfo')
        s.set_field(torch.randn(2, *size) * 2, 'flow_bw', field_type='metainfo')
        samples.append(s)
    return samples


def main(argv=None):
    parser = step_parser(__doc__, depth=50, size=(512, 512), batch=2)
    parser.add_argument('--resolution', default='feature', choices=['feature', 'image'])
    parser.add_argument('--num-pixels', type=int, default=512,
                        help='FlowE num_pixels: online MLPs on K sampled valid locations per '
                        'image (0: every location)')
    args = parser.parse_args(argv)
    num_pixels = args.num_pixels if args.resolution == 'feature' else 0  # 0: every location
    if args.child:
        cfg = _models(args.depth)[args.child]
        if args.child == 'flowe':
            cfg['resolution'] = args.resolution
            cfg['num_pixels'] = num_pixels or None
        print(json.dumps(time_steps(cfg, _flow_samples, args.batch, tuple(args.size),
                                    args.steps, args.device)))
        return None
    res = run_children(__file__, ('byol', 'flowe'), argv)
    print(f"ResNet-{args.depth} (output stride 8), {args.batch} x 2 views of "
          f"{args.size[0]}x{args.size[1]}, {args.device}, loss at {args.resolution} resolution, "
          f"{num_pixels or 'all'} locations per image")
    compare({'BYOL': res['byol'], 'FlowE': res['flowe']}, 'BYOL', 'FlowE', target=1.2)
    return res


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
