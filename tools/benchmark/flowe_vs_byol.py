"""FlowE train-step cost relative to MMPretrain's BYOL, measured in one run.

    python tools/benchmark/flowe_vs_byol.py [--depth 50] [--size 256 256] [--batch 2]
        [--steps 5] [--resolution feature|image] [--device cpu|cuda]

Both models use the same backbone (ResNet with the last two stages dilated, output stride 8),
the same BYOL channel counts and the same inputs; each runs in its own process so its peak memory
(CUDA: max allocated; CPU: peak RSS growth) is its own. Prints seconds per step, the ratio
FlowE / BYOL (target <= 1.2) and peak memory of both.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def _models(depth):
    c = 2048 if depth >= 50 else 512
    backbone = dict(type='ResNet', depth=depth, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4))
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


def child(args):
    import resource

    import torch
    from mmengine.logging import MessageHub
    from mmengine.registry import init_default_scope
    from mmpretrain.structures import DataSample

    import mmdense  # noqa: F401
    from mmdense.registry import MODELS
    init_default_scope('mmdense')
    cfg = _models(args.depth)[args.child]
    if args.child == 'flowe':
        cfg['resolution'] = args.resolution
    dev = torch.device(args.device)
    model = MODELS.build(cfg).to(dev).train()
    MessageHub.get_current_instance().update_info('max_iters', 1000)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)
    h, w = args.size
    torch.manual_seed(0)
    views = [torch.randn(args.batch, 3, h, w, device=dev) for _ in range(2)]
    samples = []
    for _ in range(args.batch):
        s = DataSample()
        s.set_field(torch.eye(3), 'affine_v1', field_type='metainfo')
        s.set_field(torch.eye(3), 'affine_v2', field_type='metainfo')
        s.set_field(torch.randn(2, h, w) * 2, 'flow_fw', field_type='metainfo')
        s.set_field(torch.randn(2, h, w) * 2, 'flow_bw', field_type='metainfo')
        samples.append(s)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def step():
        loss = model.loss(views, samples)['loss']
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(2):
        step()
    if dev.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    if dev.type == 'cuda':
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    print(json.dumps(dict(sec=(time.perf_counter() - t0) / args.steps, peak_mb=peak)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--depth', type=int, default=50)
    parser.add_argument('--size', type=int, nargs=2, default=(256, 256))
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--resolution', default='feature', choices=['feature', 'image'])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    res = {}
    for name in ('byol', 'flowe'):
        cmd = [sys.executable, __file__, '--child', name, '--depth', str(args.depth), '--size',
               *map(str, args.size), '--batch', str(args.batch), '--steps', str(args.steps),
               '--resolution', args.resolution, '--device', args.device]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f'{name} benchmark failed')
        res[name] = json.loads(out.stdout.strip().splitlines()[-1])
    b, f = res['byol'], res['flowe']
    print(f"ResNet-{args.depth} (output stride 8), {args.batch} x 2 views of "
          f"{args.size[0]}x{args.size[1]}, {args.device}, loss at {args.resolution} resolution")
    print(f"BYOL  step {b['sec']:.3f} s   peak memory {b['peak_mb']:.0f} MB")
    print(f"FlowE step {f['sec']:.3f} s   peak memory {f['peak_mb']:.0f} MB")
    print(f"FlowE / BYOL: time x{f['sec'] / b['sec']:.2f} (target <= 1.2), "
          f"memory x{f['peak_mb'] / max(b['peak_mb'], 1e-6):.2f}")
    return res


if __name__ == '__main__':
    main()
