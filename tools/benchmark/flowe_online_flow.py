"""Cost of FlowE's online flow: one train step with the frozen RAFT inside it against the same
step with the flow given (cache / exact flow), measured in one run.

    python tools/benchmark/flowe_online_flow.py [--depth 50] [--size 512 512] [--batch 2]
        [--steps 5] [--arch raft_large|raft_small] [--num-flow-updates 12]
        [--autocast bfloat16|float16] [--num-pixels 0] [--device cpu|cuda] [--out FILE.json]

Both steps use the same FlowE model (ResNet with output stride 8, BYOL channel counts; loss at
every location unless ``--num-pixels K``) and the same inputs; the online step also computes
forward and backward flow of the two frames of each pair with ``RAFTFlow`` (random weights
written to a temporary file: the cost of RAFT does not depend on its weights). Each runs in its
own process (``step_compare``). Prints seconds per step, the ratio online / given (goal on a
GPU: <= 1.25) and the flow network's share of the online step; ``--out`` also writes them as
JSON.
"""
import json
import os
import os.path as osp
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from flowe_vs_byol import _flow_samples, _models  # noqa: E402
from step_compare import compare, run_children, step_parser, time_steps  # noqa: E402


def _frame_samples(batch, size):
    """Data samples of the online step: identity affines and the two frames (uint8 RGB)."""
    import torch
    samples = _flow_samples(batch, size)
    g = torch.Generator().manual_seed(0)
    for s in samples:
        del s.flow_fw, s.flow_bw
        s.set_field(torch.randint(0, 256, (2, 3, *size), dtype=torch.uint8, generator=g),
                    'frames', field_type='metainfo')
    return samples


def _child(args):
    import torch
    cfg = _models(args.depth)['flowe']
    cfg['num_pixels'] = args.num_pixels or None
    if args.child == 'given':
        res = time_steps(cfg, _flow_samples, args.batch, tuple(args.size), args.steps,
                         args.device)
        res['flow_sec'] = 0.0
        return res
    from torchvision.models import optical_flow
    tmp = tempfile.mkdtemp()
    ckpt = osp.join(tmp, f'{args.arch}_random.pth')
    torch.save(getattr(optical_flow, args.arch)(weights=None).state_dict(), ckpt)
    cfg['flow_net'] = dict(type='RAFTFlow', arch=args.arch, checkpoint=ckpt,
                           num_flow_updates=args.num_flow_updates,
                           autocast_dtype=args.autocast)
    durations = []

    def build():
        import mmdense  # noqa: F401
        from mmdense.registry import MODELS
        model = MODELS.build(cfg)
        net = model.flow_net
        inner = net.forward_backward

        def timed(*a, **kw):  # the flow network's own time inside the step
            if args.device.startswith('cuda'):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            out = inner(*a, **kw)
            if args.device.startswith('cuda'):
                torch.cuda.synchronize()
            durations.append(time.perf_counter() - t0)
            return out

        net.forward_backward = timed
        return model

    res = time_steps(build, _frame_samples, args.batch, tuple(args.size), args.steps,
                     args.device)
    os.remove(ckpt)
    os.rmdir(tmp)
    timed = durations[-args.steps:]
    res['flow_sec'] = sum(timed) / len(timed)
    return res


def build_parser():
    parser = step_parser(__doc__, depth=50, size=(512, 512), batch=2)
    parser.add_argument('--arch', default='raft_large', choices=['raft_large', 'raft_small'])
    parser.add_argument('--num-flow-updates', type=int, default=12)
    parser.add_argument('--autocast', choices=['bfloat16', 'float16'], default=None)
    parser.add_argument('--num-pixels', type=int, default=0,
                        help='FlowE num_pixels (0: every location, the paper config)')
    parser.add_argument('--out', help='also write the results to this JSON file')
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.child:
        print(json.dumps(_child(args)))
        return None
    return summarize(run_children(__file__, ('given', 'online'), argv), args)


def summarize(res, args):
    """Print the two rows, the ratio and the flow network's share; write ``args.out``."""
    print(f"ResNet-{args.depth} (output stride 8), {args.batch} pairs of "
          f"{args.size[0]}x{args.size[1]}, {args.device}, loss at "
          f"{args.num_pixels or 'all'} locations per image; flow network {args.arch}, "
          f"{args.num_flow_updates} updates, autocast {args.autocast}")
    rows = {'flow given': res['given'], 'online RAFT': res['online']}
    compare(rows, 'flow given', 'online RAFT', target=1.25)
    ratio = res['online']['sec'] / res['given']['sec']
    share = res['online']['flow_sec'] / res['online']['sec']
    print(f"flow network: {res['online']['flow_sec']:.3f} s per step, "
          f'{100 * share:.0f}% of the online step')
    summary = dict(args={k: v for k, v in vars(args).items() if k not in ('child', 'out')},
                   given=res['given'], online=res['online'], ratio=ratio, flow_share=share)
    if args.out:
        from mmdense.utils.checkpoint import atomic_write_bytes
        atomic_write_bytes(json.dumps(summary, indent=1).encode(), args.out)
        print(f'results written to {args.out}')
    return summary


if __name__ == '__main__':
    main()
