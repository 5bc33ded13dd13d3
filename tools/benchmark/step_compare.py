"""Train-step time and peak memory of two self-supervised models, measured in one run.

Each model runs in its own child process (so each peak memory is its own: CUDA max allocated,
or CPU peak RSS growth), on the same random inputs, with SGD steps after two warm-up steps.
Used by ``flowe_vs_byol.py``, ``cacl_vs_mocov2.py``, ``vader_vs_mocov2.py`` and
``hiergroup_vs_supervised.py``: ``step_parser`` gives their shared options, ``run_children`` runs
each model with the parent's own options, ``compare`` prints the ratio.
"""
import json
import os.path as osp
import subprocess
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def dilated_backbone(depth):
    """ResNet with the last two stages dilated (output stride 8) and its output channels."""
    return (dict(type='ResNet', depth=depth, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)),
            2048 if depth >= 50 else 512)


def time_steps(cfg, make_samples, batch, size, steps, device):
    """Build ``cfg`` in scope mmdense (or call it, when it is a function returning a model with
    ``loss(views, samples)``), run ``steps`` SGD steps on two random views (``batch`` x 3 x
    ``size``); returns ``dict(sec=..., peak_mb=...)``."""
    import resource

    import torch
    from mmengine.logging import MessageHub
    from mmengine.registry import init_default_scope

    import mmdense  # noqa: F401
    from mmdense.registry import MODELS
    init_default_scope('mmdense')
    dev = torch.device(device)
    model = (cfg() if callable(cfg) else MODELS.build(cfg)).to(dev).train()
    MessageHub.get_current_instance().update_info('max_iters', 1000)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)
    torch.manual_seed(0)
    views = [torch.randn(batch, 3, *size, device=dev) for _ in range(2)]
    samples = make_samples(batch, size)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def step():
        loss = sum(v for k, v in model.loss(views, samples).items() if 'loss' in k)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(2):
        step()
    if dev.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if dev.type == 'cuda':
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    return dict(sec=(time.perf_counter() - t0) / steps, peak_mb=peak)


def step_parser(doc, depth=50, size=(224, 224), batch=4):
    """The options every comparison script shares (``--depth --size --batch --steps --device``
    and the hidden ``--child`` that :func:`run_children` adds); scripts add their own."""
    import argparse
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--depth', type=int, default=depth)
    parser.add_argument('--size', type=int, nargs=2, default=tuple(size))
    parser.add_argument('--batch', type=int, default=batch)
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    return parser


def run_children(script, names, argv=None):
    """Run ``script --child NAME ARGV...`` for each name, ``argv`` being the parent's own
    options (default: this process's command line), so each child parses exactly what the
    parent did; returns {name: result dict}."""
    argv = sys.argv[1:] if argv is None else list(argv)
    res = {}
    for name in names:
        out = subprocess.run([sys.executable, script, '--child', name, *argv],
                             capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f'{name} benchmark failed')
        res[name] = json.loads(out.stdout.strip().splitlines()[-1])
    return res


def compare(res, base, new, target=None):
    """Print both rows and the ``new / base`` ratios."""
    width = max(len(base), len(new))
    for name in (base, new):
        print(f"{name:<{width}} step {res[name]['sec']:.3f} s   "
              f"peak memory {res[name]['peak_mb']:.0f} MB")
    goal = f' (target <= {target})' if target else ''
    print(f"{new} / {base}: time x{res[new]['sec'] / res[base]['sec']:.2f}{goal}, "
          f"memory x{res[new]['peak_mb'] / max(res[base]['peak_mb'], 1e-6):.2f}")
