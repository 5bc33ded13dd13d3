"""Print the ``--cfg-options`` that point a readout config at a pretraining checkpoint.

    python tools/readout/readout_options.py READOUT_CONFIG PRETRAIN_CKPT

One option per line: ``model.backbone.pretrained_ckpt=CKPT``; for ResNet-C4 detectors whose
RoI head is the encoder's last stage, ``model.roi_head.shared_head.pretrained_ckpt=CKPT``; for
readouts whose neck comes from the checkpoint too (VADeR's decoder, a detector FPN),
``model.neck.pretrained_ckpt=CKPT``.
``PRETRAIN_CKPT=none`` gives ``None`` (the random-init baseline). Used by ``readout.sh`` and
``slurm_readout.sh``; exits 2 with a message when the checkpoint does not exist.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def readout_options(config, ckpt):
    from mmengine.config import Config
    if ckpt != 'none' and not osp.isfile(ckpt):
        raise FileNotFoundError(f'pretraining checkpoint {ckpt} does not exist')
    val = 'None' if ckpt == 'none' else ckpt
    cfg = Config.fromfile(config)
    if 'pretrained_ckpt' not in cfg.model.get('backbone', {}):
        raise KeyError(f'{config}: model.backbone has no pretrained_ckpt; readout configs use '
                       "mmdense's ReadoutResNet backbone")
    opts = [f'model.backbone.pretrained_ckpt={val}']
    shared = cfg.model.get('roi_head', {}).get('shared_head')
    if shared and 'pretrained_ckpt' in shared:
        opts.append(f'model.roi_head.shared_head.pretrained_ckpt={val}')
    neck = cfg.model.get('neck')
    if isinstance(neck, dict) and 'pretrained_ckpt' in neck:
        opts.append(f'model.neck.pretrained_ckpt={val}')
    return opts


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    try:
        print('\n'.join(readout_options(sys.argv[1], sys.argv[2])))
    except (FileNotFoundError, KeyError) as e:
        print(f'error: {e.args[0]}', file=sys.stderr)
        sys.exit(2)
