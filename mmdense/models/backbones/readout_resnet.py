"""Encoders for frozen readout in MMSeg / MMDet, initialised strictly from an mmdense checkpoint."""
import re

from mmdet.models.backbones import ResNet as MMDetResNet
from mmdet.models.necks import FPN as MMDetFPN
from mmdet.models.roi_heads.shared_heads import ResLayer as MMDetResLayer
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmpretrain.models.backbones import VGG as MMPretrainVGG
from mmpretrain.models.backbones import ResNet as MMPretrainResNet
from mmseg.models.backbones import ResNet as MMSegResNet
from mmseg.registry import MODELS as MMSEG_MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from mmdense.registry import MODELS
from mmdense.utils.checkpoint import (load_pretrained_matching, load_pretrained_strict,
                                      load_state_dict_file)
from ..necks.fpn_decoder import FPNDecoder
from ..necks.hypercolumn import HypercolumnNeck

_STAGE = re.compile(r'layer(\d+)')


def _stage_group(key):
    """The part of a parameter name that names its stage: ``'layer4.0.conv1.weight'`` ->
    ``'layer4'``, ``'backbone.layer3.1.bn2.bias'`` -> ``'backbone.layer3'``; names outside a
    ``layerN`` stage give their first component (``'conv1'``, ``'neck'``, ``'features'``)."""
    parts = key.split('.')
    for i, part in enumerate(parts[:-1]):
        if _STAGE.fullmatch(part):
            return '.'.join(parts[:i + 1])
    return parts[0]


def missing_stages_message(module, checkpoint, prefix):
    """Why ``checkpoint`` cannot initialise ``module`` when whole stages are absent from it, or
    None when nothing the module reads is missing as a whole stage (then the generic
    missing-key / shape message applies).

    A pretraining config builds no stage its loss never reaches (e.g. HierGroup:
    ``num_stages=3``), so its checkpoint has no ``backbone.layer4.*``; a readout that asks for
    that stage must stop here instead of reading random weights."""
    state = load_state_dict_file(checkpoint)
    held = {k[len(prefix):] for k in state if k.startswith(prefix)}
    if not held:
        return None  # wrong prefix: load_pretrained_strict's message lists the prefixes
    groups = {}
    for key in module.state_dict():
        groups.setdefault(_stage_group(key), []).append(key)
    absent = sorted(g for g, keys in groups.items() if not any(k in held for k in keys))
    if not absent:
        return None
    depth = [int(m.group(1)) for k in held for m in [_STAGE.search(k)] if m]
    built = f'it was pretrained with num_stages={max(depth)}' if depth else \
        'its pretraining built no such stage'
    names = ', '.join(f'{prefix}{g}.*' for g in absent)
    return (f'checkpoint {checkpoint} has no {names} (asked for by {type(module).__name__}): '
            f'{built}, so its loss never reached {", ".join(absent)}. Read out only the stages '
            'the checkpoint holds (num_stages / out_indices of the pretraining config); a '
            'HierGroup checkpoint (Res3 + Res4 hypercolumn) with ReadoutHypercolumn, e.g. '
            'configs/readout/seg/deeplabv3_r50-hypercolumn-frozen_4xb5-20k_voc12aug-384x384.py')


class StrictPretrainedMixin:
    """``init_weights`` = the module's own initialisation, then a strict load of
    ``pretrained_ckpt`` (so nothing overwrites the loaded weights), then ``_freeze``.

    Args:
        pretrained_ckpt (str, optional): checkpoint to load; None keeps the initialisation.
        ckpt_prefix (str, optional): key prefix in the checkpoint; None: the class's
            ``default_ckpt_prefix`` ('backbone.').
    """

    default_ckpt_prefix = 'backbone.'

    def __init__(self, pretrained_ckpt=None, ckpt_prefix=None, **kwargs):
        super().__init__(**kwargs)
        self.pretrained_ckpt = pretrained_ckpt
        self.ckpt_prefix = self.default_ckpt_prefix if ckpt_prefix is None else ckpt_prefix

    def init_weights(self):
        super().init_weights()
        if self.pretrained_ckpt:
            try:
                n = load_pretrained_strict(self, self.pretrained_ckpt, self.ckpt_prefix)
            except KeyError as e:
                msg = missing_stages_message(self, self.pretrained_ckpt, self.ckpt_prefix)
                if msg is None:
                    raise
                raise KeyError(msg) from e
            print_log(f'{type(self).__name__}: loaded {n} tensors from {self.pretrained_ckpt}',
                      logger='current')
        self._freeze()

    def checkpoint_keys(self, params_only=False):
        """The checkpoint keys this module reads (``ckpt_prefix`` + its own state-dict names;
        ``params_only``: parameters only, no buffers)."""
        names = dict(self.named_parameters()) if params_only else self.state_dict()
        return [self.ckpt_prefix + k for k in names]


class _FrozenWholeMixin(StrictPretrainedMixin):
    """A readout part frozen as a whole (``frozen=True``: no parameter gets gradients), from
    construction on."""

    def __init__(self, frozen=True, **kwargs):
        super().__init__(**kwargs)
        self.frozen = frozen
        self._freeze()

    def _freeze(self):
        if self.frozen:
            for p in self.parameters():
                p.requires_grad = False


class _StagesMixin(StrictPretrainedMixin):
    """Backbones frozen by their own ``frozen_stages`` (``_freeze_stages``)."""

    def _freeze(self):
        self._freeze_stages()


class _ReadoutResNetMixin(_StagesMixin):
    """The MMSeg and MMDet ResNets share their constructor arguments and ``_freeze_stages``."""

    def __init__(self, **kwargs):
        kwargs.setdefault('zero_init_residual', False)
        super().__init__(**kwargs)


class ReadoutResNet(_ReadoutResNetMixin, MMSegResNet):
    """MMSeg's ``ResNet`` (torchvision-style stem: ``conv1``/``bn1``/``layer1..4``, the parameter
    names of mmdense's pretraining backbones) that loads ``pretrained_ckpt`` strictly *after*
    its own initialisation, so nothing (e.g. ``zero_init_residual``) overwrites the loaded weights.

    For frozen readout set ``frozen_stages=4`` and ``norm_eval=True``: stem and all stages get no
    gradients and BN layers stay in eval mode, so the weights are bit-identical after training.

    Args:
        pretrained_ckpt (str, optional): mmdense (or any mmengine) checkpoint; None keeps the
            random initialisation (the random-init baseline).
        ckpt_prefix (str): key prefix of the encoder in the checkpoint. Defaults to 'backbone.'.
        **kwargs: MMSeg ``ResNet`` arguments (``depth``, ``strides``, ``dilations``, ...).

    Shapes: input (N, 3, H, W); outputs the feature maps of ``out_indices`` (e.g. (N, 2048, H/8,
    W/8) for a dilated ResNet-50's last stage).
    """


class DetReadoutResNet(_ReadoutResNetMixin, MMDetResNet):
    """:class:`ReadoutResNet` for MMDet (registered there as ``ReadoutResNet``): e.g. the C4
    encoder (``num_stages=3, out_indices=(2, ), frozen_stages=3, norm_eval=True``) whose fourth
    stage becomes the RoI head, see :class:`ReadoutResLayer`."""


class ReadoutResLayer(_FrozenWholeMixin, MMDetResLayer):
    """MMDet's C4 shared RoI head (the encoder's last stage, ``layer4``) loaded strictly from the
    same pretraining checkpoint (``backbone.layer4.*``) and, with ``frozen=True``, frozen too:
    no gradients, BN in eval mode (``norm_eval``). Shapes: RoI features (K, 1024 or 256, 14, 14)
    -> (K, 2048 or 512, 7, 7)."""


class ReadoutVGG(_StagesMixin, MMPretrainVGG):
    """MMPretrain's ``VGG`` loaded strictly from a pretraining checkpoint (``backbone.*``, e.g.
    a ``TripletSiamese`` tower) after its own initialisation, for detectors (registered in MMDet
    as ``ReadoutVGG``): ``with_last_pool=False, out_indices=(4, )`` gives conv5_3 at stride 16,
    the Fast / Faster R-CNN VGG16 backbone. ``frozen_stages`` freezes as VGG does (-1: all
    layers fine-tuned, transitive invariance sec. 6).

    Shapes: (N, 3, H, W) -> tuple with (N, 512, H/16, W/16).
    """


class ReadoutFPNDecoder(_FrozenWholeMixin, FPNDecoder):
    """VADeR's :class:`FPNDecoder` loaded strictly from a pretraining checkpoint (``neck.*``)
    and, with ``frozen=True``, frozen: the linear readout "on the decoder output" (VADeR sec. 4)
    in MMSeg. Shapes as :class:`FPNDecoder`: 4 stage maps -> (N, 128, H/4, W/4)."""

    default_ckpt_prefix = 'neck.'


class ReadoutHypercolumn(_FrozenWholeMixin, BaseModule):
    """Hierarchical grouping's pretrained encoder for frozen readout in MMSeg: the ResNet up to
    Res4 (``backbone.*``) and the hypercolumn head (``neck.*``) exactly as pretraining built
    them, loaded strictly from one checkpoint and frozen as a whole (no gradients, BN in eval
    mode). Zhang & Maire sec. 4.2: "we freeze all the base features and only update parameters
    of a newly added head" (ASPP); the base features are those the pixel loss shaped, i.e. the
    Res3 / Res4 hypercolumn, not Res5, which HierGroup does not build (``num_stages=3``).

    Args:
        backbone (dict): MMPretrain ``ResNet`` arguments of the pretraining config
            (``depth``, ``num_stages=3``, ``strides``, ``dilations``, ``out_indices=(1, 2)``,
            ``norm_cfg``); ``type`` may be given and must be ``'ResNet'``.
        neck (dict): :class:`HypercolumnNeck` arguments of the pretraining config.
        outputs (tuple[str]): maps to return, in this order, from ``'res3'``, ``'res4'``,
            ``'hypercolumn'`` (the projected Res3 + Res4 maps, concatenated) and
            ``'embedding'`` (the 32-d output the pixel loss sees, before L2 normalisation).
        frozen (bool): no gradients and BN in eval mode (True for the frozen readout).
        pretrained_ckpt (str, optional): HierGroup checkpoint; None: random initialisation
            (the random-init baseline).
        ckpt_prefix (str): '' (the checkpoint's ``backbone.*`` and ``neck.*`` keys as they are).

    Shapes (ResNet-50, input (N, 3, H, W)): res3 (N, 512, H/8, W/8), res4 (N, 1024, H/16,
    W/16), hypercolumn (N, 2 * mid_channels, H/4, W/4), embedding (N, 32, H/4, W/4).
    """

    default_ckpt_prefix = ''
    OUTPUTS = ('res3', 'res4', 'hypercolumn', 'embedding')

    def __init__(self, backbone, neck, outputs=('hypercolumn', ), frozen=True,
                 pretrained_ckpt=None, ckpt_prefix=None, init_cfg=None):
        super().__init__(frozen=frozen, pretrained_ckpt=pretrained_ckpt,
                         ckpt_prefix=ckpt_prefix, init_cfg=init_cfg)
        backbone, neck = dict(backbone), dict(neck)
        if backbone.pop('type', 'ResNet') != 'ResNet' or \
                neck.pop('type', 'HypercolumnNeck') != 'HypercolumnNeck':
            raise ValueError('ReadoutHypercolumn builds the ResNet + HypercolumnNeck of a '
                             'HierGroup pretraining config: give their arguments, type '
                             "'ResNet' / 'HypercolumnNeck' or none")
        bad = [o for o in outputs if o not in self.OUTPUTS]
        if bad or not outputs:
            raise ValueError(f'ReadoutHypercolumn outputs {tuple(outputs)}: choose from '
                             f'{self.OUTPUTS}')
        self.outputs = tuple(outputs)
        backbone.setdefault('zero_init_residual', False)
        self.backbone = MMPretrainResNet(**backbone)
        self.neck = HypercolumnNeck(**neck)
        self._freeze()

    def train(self, mode=True):
        super().train(mode)
        if self.frozen:  # BN statistics stay those of pretraining
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    def forward(self, x):
        feats = self.backbone(x)
        maps = dict(res3=feats[self.neck.in_index[0]], res4=feats[self.neck.in_index[1]])
        if 'hypercolumn' in self.outputs or 'embedding' in self.outputs:
            maps['hypercolumn'] = self.neck.hypercolumn(feats)
            if 'embedding' in self.outputs:
                maps['embedding'] = self.neck.out(maps['hypercolumn'])
        return tuple(maps[o] for o in self.outputs)


class ReadoutFPN(MMDetFPN):
    """MMDet's ``FPN`` whose weights start from a VADeR checkpoint's decoder FPN
    (``neck.fpn.*``) where names and shapes match, e.g. Mask R-CNN FPN fine-tuning (VADeR sec. 4:
    "VADeR initializes both the FPN's encoder and decoder"). Tensors that do not match (norm
    layers added for fine-tuning, conv biases the normed convs drop, the extra P6 level) keep
    their initialisation and are listed in the log; a checkpoint with no match is an error.
    Arguments: MMDet ``FPN``'s plus ``pretrained_ckpt`` and ``ckpt_prefix``."""

    def __init__(self, pretrained_ckpt=None, ckpt_prefix='neck.fpn.', **kwargs):
        super().__init__(**kwargs)
        self.pretrained_ckpt = pretrained_ckpt
        self.ckpt_prefix = ckpt_prefix

    def init_weights(self):
        super().init_weights()
        if self.pretrained_ckpt:
            loaded, skipped = load_pretrained_matching(self, self.pretrained_ckpt,
                                                       self.ckpt_prefix)
            print_log(f'ReadoutFPN: loaded {len(loaded)} tensors from {self.pretrained_ckpt}; '
                      f'not loaded: {skipped}', logger='current')


for _reg in (MODELS, MMSEG_MODELS):
    _reg.register_module(module=ReadoutResNet)
    _reg.register_module(module=ReadoutFPNDecoder)
    _reg.register_module(module=ReadoutHypercolumn)
MMDET_MODELS.register_module(name='ReadoutResNet', module=DetReadoutResNet)
MMDET_MODELS.register_module(module=ReadoutResLayer)
MMDET_MODELS.register_module(module=ReadoutFPN)
MMDET_MODELS.register_module(module=ReadoutVGG)
