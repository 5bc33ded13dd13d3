"""Encoders for frozen readout in MMSeg / MMDet, initialised strictly from an mmdense checkpoint."""
from mmdet.models.backbones import ResNet as MMDetResNet
from mmdet.models.necks import FPN as MMDetFPN
from mmdet.models.roi_heads.shared_heads import ResLayer as MMDetResLayer
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.logging import print_log
from mmpretrain.models.backbones import VGG as MMPretrainVGG
from mmseg.models.backbones import ResNet as MMSegResNet
from mmseg.registry import MODELS as MMSEG_MODELS

from mmdense.registry import MODELS
from mmdense.utils.checkpoint import load_pretrained_matching, load_pretrained_strict
from ..necks.fpn_decoder import FPNDecoder


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
            n = load_pretrained_strict(self, self.pretrained_ckpt, self.ckpt_prefix)
            print_log(f'{type(self).__name__}: loaded {n} tensors from {self.pretrained_ckpt}',
                      logger='current')
        self._freeze()


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
MMDET_MODELS.register_module(name='ReadoutResNet', module=DetReadoutResNet)
MMDET_MODELS.register_module(module=ReadoutResLayer)
MMDET_MODELS.register_module(module=ReadoutFPN)
MMDET_MODELS.register_module(module=ReadoutVGG)
