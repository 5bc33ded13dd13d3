"""A frozen, off-the-shelf RAFT inside the training step (FlowE sec. 3.1, 3.3, Algorithm 1).

FlowE computes the flow of every pair with "a frozen flow network" (RAFT, Teed & Deng 2020)
inside the training loop (``with no_grad(): flow = flownet(I1, I2)``). :class:`RAFTFlow` wraps
torchvision's RAFT (``raft_large``, or ``raft_small``) built with random initialisation and
filled from a local weights file; nothing is ever downloaded. It accepts torchvision's RAFT state
dicts and the original RAFT repository's (princeton-vl/RAFT) ``raft-*.pth`` files, whose key names
differ (converted on load; ``tools/model_converters/raft_to_torchvision.py`` converts them once).

FlowE keeps the network outside its own parameters (see ``FlowE.flow_net``): no optimizer group,
no SyncBN conversion, not in checkpoints; this module stays in eval mode and runs under
``no_grad`` whatever mode it is asked for.
"""
import os.path as osp
import re

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdense.registry import MODELS

ARCHS = ('raft_large', 'raft_small')

#: torchvision weights matching each architecture (download them on a machine with internet)
WEIGHTS_HINT = {
    'raft_large': 'https://download.pytorch.org/models/raft_large_C_T_SKHT_V1-0b8c9e55.pth '
                  "(torchvision's port of the RAFT repo's raft-sintel.pth, Chairs+Things+Sintel "
                  'mix, the FlowE paper\'s setting)',
    'raft_small': 'https://download.pytorch.org/models/raft_small_C_T_V2-01064c6d.pth',
}


def weights_help(arch):
    return (f'get {WEIGHTS_HINT.get(arch, "torchvision RAFT weights")} on a machine with '
            "internet, or convert the original RAFT repo's raft-things.pth / raft-sintel.pth "
            '(raft-small.pth for raft_small) with tools/model_converters/raft_to_torchvision.py')


# ---------------------------------------------------------------- original RAFT -> torchvision
def is_princeton_raft(state):
    """True for a state dict in the original RAFT repository's naming (``fnet.*``,
    ``update_block.encoder.*``, optionally with DataParallel's ``module.`` prefix)."""
    return any(k.replace('module.', '', 1).startswith(('fnet.', 'cnet.')) for k in state)


def _princeton_is_small(state):
    return any(k.endswith('update_block.gru.convz.weight') for k in state)


def princeton_to_torchvision(state):
    """Rename an original-RAFT state dict (``raft-things.pth`` / ``raft-sintel.pth`` /
    ``raft-small.pth``) to torchvision's ``raft_large`` / ``raft_small`` key names.

    The original encoders register the downsample norm twice (``normK`` and ``downsample.1``);
    only ``downsample.1`` is kept. Returns a new dict (tensors shared).
    """
    small = _princeton_is_small(state)
    ds_norm = '4' if small else '3'  # the norm that is also downsample.1
    out = {}
    for key, val in state.items():
        k = key[len('module.'):] if key.startswith('module.') else key
        m = re.match(r'([fc])net\.(.*)$', k)
        if m:
            enc = 'feature_encoder' if m.group(1) == 'f' else 'context_encoder'
            rest = m.group(2)
            blk = re.match(r'(layer\d\.\d)\.(conv|norm)(\d)\.(.*)$', rest)
            if blk:
                if blk.group(2) == 'norm' and blk.group(3) == ds_norm:
                    continue  # duplicate of downsample.1
                idx = '0' if blk.group(2) == 'conv' else '1'
                new = f'{blk.group(1)}.convnormrelu{blk.group(3)}.{idx}.{blk.group(4)}'
            elif rest.startswith('conv1.'):
                new = 'convnormrelu.0.' + rest[len('conv1.'):]
            elif rest.startswith('norm1.'):
                new = 'convnormrelu.1.' + rest[len('norm1.'):]
            elif rest.startswith('conv2.'):
                new = 'conv.' + rest[len('conv2.'):]
            else:  # layerX.Y.downsample.{0,1}.*
                new = rest
            out[f'{enc}.{new}'] = val
            continue
        m = re.match(r'update_block\.(encoder|gru|flow_head|mask)\.(.*)$', k)
        if not m:
            raise KeyError(f'unexpected key {key!r} in an original-RAFT state dict')
        part, rest = m.groups()
        if part == 'encoder':
            name, _, tail = rest.partition('.')
            names = dict(convc1='convcorr1', convc2='convcorr2', convf1='convflow1',
                         convf2='convflow2', conv='conv')
            new = f'update_block.motion_encoder.{names[name]}.0.{tail}'
        elif part == 'gru':
            g = re.match(r'conv([zrq])([12]?)\.(.*)$', rest)
            new = (f'update_block.recurrent_block.convgru{g.group(2) or "1"}.'
                   f'conv{g.group(1)}.{g.group(3)}')
        elif part == 'flow_head':
            new = f'update_block.flow_head.{rest}'
        else:  # mask: Sequential(conv 3x3, ReLU, conv 1x1)
            idx, _, tail = rest.partition('.')
            new = {'0': 'mask_predictor.convrelu.0.', '2': 'mask_predictor.conv.'}[idx] + tail
        out[new] = val
    return out


def torchvision_to_princeton(state, prefix='module.'):
    """The inverse of :func:`princeton_to_torchvision` (with the duplicate downsample norms and
    DataParallel's ``module.`` prefix the original checkpoints carry); used to test it."""
    small = 'update_block.recurrent_block.convgru1.convz.weight' in state and \
        'update_block.recurrent_block.convgru2.convz.weight' not in state
    ds_norm = '4' if small else '3'
    out = {}
    for key, val in state.items():
        m = re.match(r'(feature|context)_encoder\.(.*)$', key)
        if m:
            enc = 'fnet' if m.group(1) == 'feature' else 'cnet'
            rest = m.group(2)
            blk = re.match(r'(layer\d\.\d)\.convnormrelu(\d)\.([01])\.(.*)$', rest)
            if blk:
                kind = 'conv' if blk.group(3) == '0' else 'norm'
                new = f'{blk.group(1)}.{kind}{blk.group(2)}.{blk.group(4)}'
            elif rest.startswith('convnormrelu.0.'):
                new = 'conv1.' + rest[len('convnormrelu.0.'):]
            elif rest.startswith('convnormrelu.1.'):
                new = 'norm1.' + rest[len('convnormrelu.1.'):]
            elif rest.startswith('conv.'):
                new = 'conv2.' + rest[len('conv.'):]
            else:
                new = rest
                ds = re.match(r'(layer\d\.\d)\.downsample\.1\.(.*)$', rest)
                if ds:
                    out[f'{prefix}{enc}.{ds.group(1)}.norm{ds_norm}.{ds.group(2)}'] = val
            out[f'{prefix}{enc}.{new}'] = val
            continue
        if key.startswith('update_block.motion_encoder.'):
            name, _, tail = key[len('update_block.motion_encoder.'):].partition('.')
            names = dict(convcorr1='convc1', convcorr2='convc2', convflow1='convf1',
                         convflow2='convf2', conv='conv')
            new = f'update_block.encoder.{names[name]}.{tail.partition(".")[2]}'
        elif key.startswith('update_block.recurrent_block.'):
            g = re.match(r'update_block\.recurrent_block\.convgru([12])\.conv([zrq])\.(.*)$',
                         key)
            num = '' if small else g.group(1)
            new = f'update_block.gru.conv{g.group(2)}{num}.{g.group(3)}'
        elif key.startswith('update_block.flow_head.'):
            new = key
        elif key.startswith('mask_predictor.convrelu.0.'):
            new = 'update_block.mask.0.' + key[len('mask_predictor.convrelu.0.'):]
        elif key.startswith('mask_predictor.conv.'):
            new = 'update_block.mask.2.' + key[len('mask_predictor.conv.'):]
        else:
            raise KeyError(key)
        out[prefix + new] = val
    return out


# ---------------------------------------------------------------- loading
def build_torchvision_raft(arch):
    """torchvision's RAFT with random initialisation (``weights=None``: nothing downloaded)."""
    from torchvision.models import optical_flow
    if arch not in ARCHS:
        raise ValueError(f'RAFT arch must be one of {ARCHS}, got {arch!r}')
    return getattr(optical_flow, arch)(weights=None, progress=False)


def load_raft_weights(model, path, arch, config_key='model.flow_net.checkpoint'):
    """Fill ``model`` (torchvision RAFT of ``arch``) from the local file ``path``: a torchvision
    RAFT state dict, or an original-RAFT one (renamed on the fly). Every failure is one line
    naming ``config_key``, the file and how to get the weights."""
    where = f'{config_key}={path!r}'
    if not path or not osp.isfile(str(path)):
        raise FileNotFoundError(f'{where}: RAFT weights file not found (nothing is downloaded); '
                                f'{weights_help(arch)}')
    try:
        state = torch.load(str(path), map_location='cpu', weights_only=True)
    except Exception as e:  # noqa: BLE001 -- any unreadable file gets the same message
        raise ValueError(f'{where} is not a readable PyTorch state dict '
                         f'({type(e).__name__}: {str(e).splitlines()[0][:120]}); '
                         f'{weights_help(arch)}') from None
    for wrapper in ('state_dict', 'model'):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not state:
        raise ValueError(f'{where} holds no state dict; {weights_help(arch)}')
    if is_princeton_raft(state):
        try:
            state = princeton_to_torchvision(state)
        except (KeyError, AttributeError) as e:
            raise ValueError(f'{where} looks like an original-RAFT checkpoint but a key does not '
                             f'convert ({e}); {weights_help(arch)}') from None
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state)
                   if tuple(state[k].shape) != tuple(own[k].shape))
    if missing or unexpected or wrong:
        problems = (('missing keys', missing), ('unexpected keys', unexpected),
                    ('shape mismatches', wrong))
        detail = '; '.join(f'{len(keys)} {what} (e.g. {keys[0]})' for what, keys in problems
                           if keys)
        raise ValueError(f'{where} does not fit torchvision {arch}: {detail}; set '
                         f"model.flow_net.arch to the file's architecture or "
                         f'{weights_help(arch)}')
    model.load_state_dict(state, strict=True)
    return model


@MODELS.register_module()
class RAFTFlow(nn.Module):
    """Frozen RAFT computing forward and backward flow of frame pairs (FlowE sec. 3.3).

    Args:
        checkpoint (str): local weights file (torchvision RAFT or original-RAFT state dict).
        arch (str): ``'raft_large'`` (the RAFT of the paper) or ``'raft_small'``.
        num_flow_updates (int): RAFT's recurrent refinement steps (torchvision's and the RAFT
            repo's training default: 12).
        autocast_dtype (str, optional): ``'bfloat16'`` / ``'float16'``: run the network under
            ``torch.autocast`` on GPU (ignored on CPU). None: float32.
        min_size (int): inputs are padded (replicate, bottom / right) to a multiple of 8 and at
            least this size (RAFT's 4-level correlation pyramid needs 128 px).
        config_key (str): name of the config entry of ``checkpoint``, for error messages.

    Shapes:
        ``forward(img1, img2)``: (N, 3, H, W) RGB in [0, 255] (uint8 or float) each ->
        flow img1 -> img2, (N, 2, H, W) float32 in pixels (x, y).
    """

    def __init__(self, checkpoint, arch='raft_large', num_flow_updates=12, autocast_dtype=None,
                 min_size=128, config_key='model.flow_net.checkpoint'):
        super().__init__()
        if autocast_dtype not in (None, 'bfloat16', 'float16'):
            raise ValueError(f"autocast_dtype must be None, 'bfloat16' or 'float16', got "
                             f'{autocast_dtype!r}')
        if int(num_flow_updates) < 1:
            raise ValueError(f'num_flow_updates must be >= 1, got {num_flow_updates}')
        self.arch = arch
        self.checkpoint = checkpoint
        self.num_flow_updates = int(num_flow_updates)
        self.autocast_dtype = autocast_dtype
        self.min_size = int(min_size)
        self.raft = load_raft_weights(build_torchvision_raft(arch), checkpoint, arch, config_key)
        self.requires_grad_(False)
        super().train(False)

    def train(self, mode=True):
        """Always eval (frozen BN statistics in RAFT-large's context encoder)."""
        return super().train(False)

    def _pad(self, x):
        h, w = x.shape[-2:]
        ph = max(-(-h // 8) * 8, self.min_size) - h
        pw = max(-(-w // 8) * 8, self.min_size) - w
        return F.pad(x, (0, pw, 0, ph), mode='replicate') if ph or pw else x

    @torch.no_grad()
    def forward(self, img1, img2):
        if img1.shape != img2.shape or img1.dim() != 4 or img1.shape[1] != 3:
            raise ValueError(f'RAFTFlow needs two (N, 3, H, W) RGB batches of one shape, got '
                             f'{tuple(img1.shape)} and {tuple(img2.shape)}')
        self.train(False)
        h, w = img1.shape[-2:]
        a = self._pad(img1.float() / 127.5 - 1.0)
        b = self._pad(img2.float() / 127.5 - 1.0)
        dtype = dict(bfloat16=torch.bfloat16, float16=torch.float16).get(self.autocast_dtype)
        enabled = dtype is not None and a.device.type == 'cuda'
        with torch.autocast(device_type=a.device.type, dtype=dtype or torch.float32,
                            enabled=enabled):
            flow = self.raft(a, b, num_flow_updates=self.num_flow_updates)[-1]
        return flow[:, :, :h, :w].float()

    def forward_backward(self, img1, img2):
        """Forward (img1 -> img2) and backward (img2 -> img1) flow in one batched call."""
        n = img1.shape[0]
        flow = self(torch.cat([img1, img2]), torch.cat([img2, img1]))
        return flow[:n], flow[n:]

    def extra_repr(self):
        return (f'arch={self.arch}, checkpoint={self.checkpoint!r}, '
                f'num_flow_updates={self.num_flow_updates}, autocast={self.autocast_dtype}')
