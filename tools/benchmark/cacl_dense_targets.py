"""What CACL's dense targets point at on the world: the soft-cycle target and eq. 4's positive,
read off the global head's per-pixel outputs of the benchmark's CACL encoders and of random
init (a measurement on the val clips; nothing is fitted).

    python tools/benchmark/cacl_dense_targets.py [--work work_dirs/learning [...]]
        [--seeds 0 [...]] [--iters 300] [--demo-lr]
        [--out tools/benchmark/results/cacl_dense_targets.json]

In CACL's full setting (Pang et al., AAAI 2022, "Global and Pixel Head" eq. 4, and the soft
cycle of "Cycle-Attention Head") both dense targets come from the global head's per-pixel outputs
``u`` (online network, frame ``v``) and ``u+`` (momentum network, frame ``v+``), each (hw, 128),
L2-normalised per pixel:

* eq. 4: the pixel head's positive for the anchor pixel ``i`` of ``v`` is the pixel
  ``argmax_j cos(u^i, u+^j)`` of ``v+``;
* the soft cycle: the cycle head's walk ``v -> v+ -> v`` is trained towards
  ``T_i = softmax_j(<u^i, u+^j> / tau)`` (tau: the model's, 0.07), whose column ``j`` (a pixel of
  ``v+``) stands for the pixel of ``v`` at the same position: the views share their crop box
  and flip. ``soft_cycle=False`` trains it towards the identity (all of ``T_i`` on ``i``).

Every CACL run of each of ``--seeds`` that ``learning.py`` left in the ``--work`` folders with an
``iter_{iters}.pth`` is measured (``instance_vs_class.encoders``; a variant and seed found in two
folders, from the first), and random init of the first one's config (the same model seeded
with the seed: its global head is untrained). The folders must share one world. The pairs
are the world's val clips' frames ``interval_frames`` apart (the run config's), each frame's
central square resized to the pretraining crop (64x64 on the benchmark, an 8x8 grid), with no
pixel shuffle. Each
encoder is measured twice (``bn``): with BN's running statistics (``'running'``, eval mode) and
with each batch's (``'batch'``, as in pretraining; batches of the run's pretraining batch size,
in clip order, where pretraining draws them at random and splits the momentum pass into
shuffle-BN sub-batches). The world's instance and class maps, read at the cells'
centres, say what each cell shows. Over the anchor cells of every pair (every cell for
``soft_entropy``, ``soft_same_position`` and ``eq4_same_position``; the other figures over the
object anchors, the cells on an object that ``v+`` shows):

* ``soft_entropy``: ``H(T_i) / ln(hw)``: 1 is the uniform target, which says nothing about where
  ``i`` went;
* ``soft_same_position``: ``T_ii``, the identity target's cell (chance ``1 / hw``);
* ``soft_same_object``: ``T_i``'s mass on the cells of ``v+`` that show ``i``'s object (anchors
  on an object that is in ``v+``), against ``chance_same_object``, the share of ``v+``'s cells
  that show it (what the uniform target gives);
* ``soft_same_class``: the same for ``i``'s shape class (the readouts' target), against
  ``chance_same_class``;
* ``eq4_same_position``, ``eq4_same_object``, ``eq4_same_class``: how often eq. 4's positive is
  ``i``'s cell, a cell of ``i``'s object, of ``i``'s class.

An object moves a few pixels between the two frames, so the identity target's cell shows the
anchor's object most of the time (``identity_same_object``, ``identity_same_class``: how often
``v+``'s cell at ``i``'s position shows ``i``'s object, class). Prints a table and writes it as
JSON to ``--out`` (atomically).
"""
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

#: the measured figures, in the table's order
KEYS = ('soft_entropy', 'soft_same_position', 'soft_same_object', 'chance_same_object',
        'soft_same_class', 'chance_same_class', 'eq4_same_position', 'eq4_same_object',
        'eq4_same_class', 'identity_same_object', 'identity_same_class')
#: BN statistics the encoders are measured with: running (eval mode), each batch's (training)
BN_MODES = ('running', 'batch')


def val_pairs(root, interval, crop):
    """Pairs of the world's val clips' frames ``interval`` apart.

    Returns:
        tuple: ``(frames, inst, sem)``: (P, 2, crop, crop, 3) BGR uint8, and (P, 2, S, S) uint8
        instance and class maps of the frames' central S x S squares (S: the frames' height).
    """
    import cv2
    import numpy as np
    import learning as lb
    names = lb.read_split_lines(root, 'val_frames')  # clip/frame.png, in clip order
    clips = {}
    for name in names:
        clip, frame = name.split('/')
        clips.setdefault(clip, []).append(frame)
    frames, inst, sem = [], [], []
    for clip, clip_frames in clips.items():
        clip_frames = sorted(clip_frames)
        for a, b in zip(clip_frames, clip_frames[interval:]):
            pair = [[lb.read_world_map(root, kind, f'{clip}/{f}') for f in (a, b)]
                    for kind in ('frames', 'inst', 'sem')]
            h, w = pair[0][0].shape[:2]
            x0 = (w - h) // 2
            frames.append([cv2.resize(im[:, x0:x0 + h], (crop, crop),
                                      interpolation=cv2.INTER_AREA) for im in pair[0]])
            inst.append([m[:, x0:x0 + h] for m in pair[1]])
            sem.append([m[:, x0:x0 + h] for m in pair[2]])
    if not frames:
        raise RuntimeError(f'{root}/splits/val_frames.txt has no two frames {interval} apart in '
                           'one clip: regenerate the world')
    return np.stack(frames), np.stack(inst), np.stack(sem)


def global_head_maps(model, frames, batch_size, bn='running'):
    """The online ``u`` of the pairs' first frames and the momentum ``u+`` of their second:
    (P, hw, D) each, L2-normalised per pixel, and the grid (h, w). ``bn``: ``'running'`` (BN's
    running statistics) or ``'batch'`` (each batch's; the model's running statistics move)."""
    import numpy as np
    import torch
    from mmdense.models.utils.dense_contrast import normalize_pixels
    pre = model.data_preprocessor
    mean, std = pre.mean.view(1, 3, 1, 1), pre.std.view(1, 3, 1, 1)
    x = torch.from_numpy(np.ascontiguousarray(frames[..., ::-1])).float()  # BGR -> RGB
    x = (x.permute(0, 1, 4, 2, 3) - mean[:, None]) / std[:, None]  # (P, 2, 3, H, W)
    head = model.train_heads.index('global_')
    model.eval()  # no pixel shuffle
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.train(bn == 'batch')
    u, up = [], []
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            u.append(model._encode(model, x[s:s + batch_size, 0])[head])
            up.append(model._encode(model.momentum_net.module, x[s:s + batch_size, 1])[head])
    u, up = torch.cat(u), torch.cat(up)
    return normalize_pixels(u), normalize_pixels(up), tuple(u.shape[2:])


def target_stats(u, up, tau, inst, sem):
    """The figures of :data:`KEYS` for (P, hw, D) maps ``u``, ``up`` and (P, 2, hw) instance and
    class ids of the cells (0 = background)."""
    import math
    import torch
    n, hw, _ = u.shape
    logits = torch.einsum('pid,pjd->pij', u, up) / tau
    t = logits.softmax(-1)  # (P, hw, hw): the soft-cycle target of every anchor
    ent = -(t * t.clamp_min(1e-30).log()).sum(-1) / math.log(hw)
    pos = torch.argmax(logits, -1)  # eq. 4's positive
    inst, sem = torch.as_tensor(inst).long(), torch.as_tensor(sem).long()
    same_obj = inst[:, 0, :, None] == inst[:, 1, None, :]  # (P, hw anchors, hw cells of v+)
    same_cls = sem[:, 0, :, None] == sem[:, 1, None, :]
    on_obj = inst[:, 0] > 0
    anchors = on_obj & same_obj.any(-1)  # on an object that v+ shows
    eye = torch.arange(hw)
    out = dict(soft_entropy=ent.mean(), soft_same_position=t[:, eye, eye].mean(),
               eq4_same_position=(pos == eye).float().mean())
    for name, same in (('object', same_obj), ('class', same_cls)):
        sel = same[anchors].float()  # (A, hw)
        out[f'soft_same_{name}'] = (t[anchors] * sel).sum(-1).mean()
        out[f'chance_same_{name}'] = sel.mean()
        out[f'eq4_same_{name}'] = torch.gather(same, 2, pos[..., None])[..., 0][anchors].float(
        ).mean()
        out[f'identity_same_{name}'] = same[:, eye, eye][anchors].float().mean()
    return {k: float(out[k]) for k in KEYS}, int(anchors.sum())


def measure(works, seed, iters, log=print, lr_scales=None):
    """Two rows (:data:`BN_MODES`) per CACL encoder of ``instance_vs_class.encoders`` in the
    folders ``works`` (``lr_scales``: its), random init of the first one's config first: the
    figures of :data:`KEYS`."""
    import torch
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint
    from instance_vs_class import cell_labels, encoders
    from mmdense.registry import MODELS
    found = {}  # variant -> checkpoint, from the first folder that has it
    for work in works:
        for m, v, _, ckpt in encoders(work, seed, iters, lr_scales):
            if m == 'cacl':
                found.setdefault(v, ckpt)
    if not found:
        raise FileNotFoundError(f'{" / ".join(works)}: no CACL run of seed {seed} with an '
                                f'iter_{iters}.pth: run tools/benchmark/learning.py --methods '
                                'cacl --out-dir FOLDER first (or pass its --iters)')
    first = next(iter(found.values()))
    cfg = Config.fromfile(osp.join(osp.dirname(first), 'config.py'))
    data = cfg.train_dataloader.dataset
    frames, inst, sem = val_pairs(osp.join(works[0], 'world'), data.interval_frames,
                                  _pipeline_crop(data.pipeline, first))
    rows, cells, t0 = [], {}, time.time()  # cells: grid -> the cells' (instance, class) ids
    todo = [('random', 'main', None)] + [('cacl', v, ckpt) for v, ckpt in found.items()]
    for k, (method, variant, ckpt) in enumerate(todo):
        run_cfg = cfg if ckpt is None else Config.fromfile(
            osp.join(osp.dirname(ckpt), 'config.py'))
        torch.manual_seed(seed)
        model = MODELS.build(run_cfg.model)
        if ckpt is not None:
            load_checkpoint(model, ckpt, map_location='cpu', strict=True, logger='silent')
        # 'running' first: the 'batch' pass moves the model's running statistics
        for bn in BN_MODES:
            u, up, grid = global_head_maps(model, frames, run_cfg.train_dataloader.batch_size,
                                           bn)
            if grid not in cells:
                cells[grid] = [cell_labels(m.reshape(-1, *m.shape[2:]), grid).reshape(
                    len(m), 2, -1) for m in (inst, sem)]
            stats, anchors = target_stats(u, up, model.temperature, *cells[grid])
            rows.append(dict(method=method, variant=variant, seed=seed, bn=bn,
                             checkpoint=ckpt and osp.relpath(ckpt), grid=list(grid),
                             pairs=len(frames), object_anchors=anchors, **stats))
            log(f'{method}/{variant}, BN {bn} statistics: soft target entropy '
                f"{stats['soft_entropy']:.3f} of uniform's, on the same object "
                f"{stats['soft_same_object']:.3f} (chance {stats['chance_same_object']:.3f})")
        eta = (time.time() - t0) / (k + 1) * (len(todo) - k - 1)
        log(f'[{k + 1}/{len(todo)}] eta {eta:.0f} s')
    return rows


def _pipeline_crop(pipeline, ckpt):
    """The pretraining crop's side: the ``scale`` of the ``PairRandomResizedBoxCrop`` of the
    train pipeline of ``ckpt``'s run (CACL's pair crop, the pipeline's first transform)."""
    for t in pipeline:
        if t['type'] == 'PairRandomResizedBoxCrop':
            return int(t['scale'])
    raise ValueError(f'{ckpt}: its config.py has no PairRandomResizedBoxCrop, so it is not a '
                     'CACL run of learning.py')


def table(rows):
    """Markdown: every encoder's figures, in percent (the entropy: of the uniform target's)."""
    lines = ['| method | variant | seed | BN | ' + ' | '.join(KEYS) + ' |',
             '|---|---|---|---|' + '---|' * len(KEYS)]
    for r in rows:
        lines.append(f"| {r['method']} | {r['variant']} | {r['seed']} | {r['bn']} | "
                     + ' | '.join(f'{100 * r[k]:.1f}' for k in KEYS) + ' |')
    if rows:
        h, w = rows[0]['grid']
        lines.append(f"\n% of the anchors' figures over {rows[0]['pairs']} pairs "
                     f"({rows[0]['object_anchors']} object anchors); same position by chance: "
                     f'{100 / (h * w):.1f}%')
    return '\n'.join(lines)


def main(argv=None):
    import argparse
    import json
    here = osp.dirname(osp.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work', nargs='+',
                        default=[osp.join(osp.dirname(osp.dirname(here)), 'work_dirs/learning')],
                        help='learning.py --out-dir folders with their runs, sharing one world')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--iters', type=int, default=None,
                        help="the runs' pretraining iterations (default: learning.py's)")
    parser.add_argument('--demo-lr', action='store_true',
                        help="the runs learning.py --demo-lr made (every method at its demo "
                        "config's lr); default: the table's TABLE_LR_SCALES")
    parser.add_argument('--out', default=osp.join(here, 'results', 'cacl_dense_targets.json'))
    args = parser.parse_args(argv)
    metas = []
    for work in args.work:
        path = osp.join(work, 'world', 'meta.json')
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path} does not exist: run tools/benchmark/learning.py '
                                    f'--out-dir {work} first')
        with open(path) as f:
            metas.append(json.load(f))
    if any(m != metas[0] for m in metas):
        raise ValueError(f'the --work folders {args.work} hold different worlds (meta.json): '
                         'measure each alone')
    import mmdense  # noqa: F401
    from mmengine.registry import init_default_scope
    init_default_scope('mmdense')
    import learning
    iters = learning.PRETRAIN_ITERS if args.iters is None else args.iters
    lr_scales = {} if args.demo_lr else learning.TABLE_LR_SCALES
    rows = [r for seed in args.seeds
            for r in measure(args.work, seed, iters, lr_scales=lr_scales)]
    print(table(rows))
    from mmdense.utils.checkpoint import atomic_write_bytes
    atomic_write_bytes(json.dumps(dict(work=args.work, seeds=args.seeds, iters=iters,
                                       lr_scales=lr_scales, rows=rows), indent=1).encode(),
                       args.out)


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli
    run_cli(main)
