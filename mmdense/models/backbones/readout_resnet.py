"""ResNet for frozen readout in MMSeg, initialised strictly from an mmdense checkpoint."""
from mmengine.logging import print_log
from mmseg.models.backbones import ResNet as MMSegResNet
from mmseg.registry import MODELS as MMSEG_MODELS

from mmdense.registry import MODELS
from mmdense.utils.checkpoint import load_pretrained_strict


class ReadoutResNet(MMSegResNet):
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

    def __init__(self, pretrained_ckpt=None, ckpt_prefix='backbone.', **kwargs):
        kwargs.setdefault('zero_init_residual', False)
        super().__init__(**kwargs)
        self.pretrained_ckpt = pretrained_ckpt
        self.ckpt_prefix = ckpt_prefix

    def init_weights(self):
        super().init_weights()
        if self.pretrained_ckpt:
            n = load_pretrained_strict(self, self.pretrained_ckpt, self.ckpt_prefix)
            print_log(f'ReadoutResNet: loaded {n} tensors from {self.pretrained_ckpt}',
                      logger='current')
        self._freeze_stages()


for _reg in (MODELS, MMSEG_MODELS):
    _reg.register_module(module=ReadoutResNet)
