"""Optimizer-wrapper constructor excluding every normalisation parameter and bias from weight
decay and LARS adaptation, whatever the layers are called.

BYOL (Grill et al. 2020, appendix) and so FlowE's schedule exclude "biases and batch
normalization parameters" from the LARS adaptation and the weight decay. MMPretrain's BYOL
config does it by name (``custom_keys`` ``'bn'``, ``'bias'``, ``'downsample.1'``), which misses
BN layers whose names lack those strings, e.g. the dense projector / predictor's ``mlp.1``. This
constructor finds them by type instead.
"""
from mmengine.optim import DefaultOptimWrapperConstructor
from torch.nn import GroupNorm, LayerNorm
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from mmdense.registry import OPTIM_WRAPPER_CONSTRUCTORS

NORM_TYPES = (_BatchNorm, _InstanceNorm, GroupNorm, LayerNorm)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class NormBiasExcludeOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``DefaultOptimWrapperConstructor`` (``paramwise_cfg`` as usual), then every parameter of a
    normalisation layer (BN / SyncBN / GN / LN / IN, by type) and every bias gets
    ``weight_decay=0`` and ``lars_exclude=True`` (MMPretrain's ``LARS`` then skips both).

    Config: ``optim_wrapper = dict(constructor='NormBiasExcludeOptimWrapperConstructor', ...)``.
    """

    def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
        # a non-empty paramwise_cfg: the base class only walks the modules (add_params) then
        paramwise_cfg = dict(paramwise_cfg or {})
        paramwise_cfg.setdefault('bypass_duplicate', False)
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def add_params(self, params, module, prefix='', is_dcn_module=None):
        super().add_params(params, module, prefix=prefix, is_dcn_module=is_dcn_module)
        if prefix:  # the recursion into children; post-process once, at the root
            return
        excluded = {id(p) for m in module.modules() if isinstance(m, NORM_TYPES)
                    for p in m.parameters(recurse=False)}
        excluded |= {id(p) for name, p in module.named_parameters()
                     if name.rsplit('.', 1)[-1] == 'bias'}
        for group in params:
            if any(id(p) in excluded for p in group['params']):
                group['weight_decay'] = 0.0
                group['lars_exclude'] = True
