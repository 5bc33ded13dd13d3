"""Convert an original RAFT checkpoint (princeton-vl/RAFT: raft-things.pth, raft-sintel.pth,
raft-small.pth, ...) to torchvision's RAFT key names, for ``model.flow_net.checkpoint``.

    python tools/model_converters/raft_to_torchvision.py raft-sintel.pth \
        checkpoints/raft/raft-sintel_torchvision.pth [--arch raft_large|raft_small]

The original repository names its modules ``fnet`` / ``cnet`` / ``update_block.{encoder,gru,
mask}`` (and saves them under DataParallel's ``module.``); torchvision calls them
``feature_encoder`` / ``context_encoder`` / ``update_block.{motion_encoder,recurrent_block}`` /
``mask_predictor``. The result is checked by loading it strictly into torchvision's
``raft_large`` (or ``raft_small``, detected from the keys) and written atomically as a bare state
dict (``weights_only`` loadable). ``RAFTFlow`` also converts such files on the fly.
"""
import argparse
import io
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint', help='original RAFT .pth (e.g. raft-sintel.pth)')
    parser.add_argument('out', help='output .pth (torchvision key names)')
    parser.add_argument('--arch', choices=['raft_large', 'raft_small'],
                        help='default: detected (raft_small when the GRU is not separable)')
    args = parser.parse_args(argv)
    import torch

    from mmdense.models.flow.raft import (_princeton_is_small, build_torchvision_raft,
                                          is_princeton_raft, load_raft_weights,
                                          princeton_to_torchvision)
    from mmdense.utils.checkpoint import atomic_write_bytes
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'{args.checkpoint} does not exist')
    state = torch.load(args.checkpoint, map_location='cpu', weights_only=True)
    if isinstance(state, dict) and isinstance(state.get('state_dict'), dict):
        state = state['state_dict']
    if not is_princeton_raft(state):
        raise SystemExit(f'{args.checkpoint} has no fnet.* / cnet.* keys: not an original-RAFT '
                         "checkpoint (torchvision's RAFT files load as they are)")
    arch = args.arch or ('raft_small' if _princeton_is_small(state) else 'raft_large')
    converted = {k: v.detach().clone() for k, v in princeton_to_torchvision(state).items()}
    buf = io.BytesIO()
    torch.save(converted, buf)
    atomic_write_bytes(buf.getvalue(), args.out)
    try:  # the written file must load strictly into torchvision's model
        load_raft_weights(build_torchvision_raft(arch), args.out, arch, config_key='out')
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(str(e))
    print(f'wrote {len(converted)} tensors ({arch}, torchvision names) to {args.out}')
    return args.out


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
