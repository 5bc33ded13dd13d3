"""Export the encoder of an mmdense checkpoint as a clean state dict for other toolboxes.

    python tools/model_converters/extract_backbone.py CKPT OUT.pth [--prefix backbone.]
        [--add-prefix ''] [--torchvision]

The output holds only tensors (``{'state_dict': {...}}``, loadable with ``weights_only=True``),
keys with ``--prefix`` stripped (and ``--add-prefix`` prepended). ``--torchvision`` writes the
bare dict torchvision's ``resnet50().load_state_dict`` expects (mmdense encoders already use
torchvision's parameter names). Written atomically.
"""
import argparse
import io
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint')
    parser.add_argument('out')
    parser.add_argument('--prefix', default='backbone.')
    parser.add_argument('--add-prefix', default='')
    parser.add_argument('--torchvision', action='store_true')
    args = parser.parse_args(argv)
    import torch

    from mmdense.utils.checkpoint import (atomic_write_bytes, extract_prefixed,
                                          load_state_dict_file)
    state = extract_prefixed(load_state_dict_file(args.checkpoint), args.prefix, args.checkpoint)
    state = {args.add_prefix + k: v.detach().clone() for k, v in state.items()}
    obj = state if args.torchvision else dict(state_dict=state)
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(buf.getvalue(), args.out)
    print(f'wrote {len(state)} tensors to {args.out}')


if __name__ == '__main__':
    from mmdense.utils.launch import run_cli  # one-line user errors unless --debug
    run_cli(main)
