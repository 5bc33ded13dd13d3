"""mmdense registries: children of MMPretrain's, scope ``mmdense``.

With ``default_scope='mmdense'`` (all mmdense pretraining configs) every mmdense component and
every MMPretrain / mmengine component resolves by its plain name. Configs run by MMPretrain's,
MMSeg's or MMDet's own ``tools/train.py`` only need ``custom_imports=dict(imports=['mmdense'])``:
importing :mod:`mmdense` registers everything here, and the readout components that MMSeg / MMDet
models build (heads, datasets) are *also* registered into those toolboxes' registries (see
:mod:`mmdense.readout_registry`), since mmengine only resolves ``scope.Name`` for direct children
of its root registry.
"""
import difflib

from mmengine.registry import Registry
from mmpretrain import registry as pretrain

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS', 'OPTIMIZERS',
    'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'DATASETS',
    'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS',
    'BATCH_AUGMENTS', 'TASK_UTILS', 'METRICS', 'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS'
]


#: the last name an mmdense registry did not find: (name, registry). mmengine sometimes goes on
#: with ``None`` (``DefaultOptimWrapperConstructor`` ends in "None is not a callable object");
#: :func:`mmdense.utils.launch.friendly_errors` turns that into :func:`unknown_type_message`.
LAST_MISS = [None]


def registered_names(registry):
    """Names ``registry`` resolves without a scope prefix: its own and its ancestors'."""
    names = set()
    while registry is not None:
        names.update(registry.module_dict)
        registry = registry.parent
    return sorted(names)


def unknown_type_message(name, registry):
    """``unknown type 'X' in the mmdense::optimizer registry (closest: A, B, C)``."""
    names = registered_names(registry)
    lower = {n.lower(): n for n in names}
    close = [lower[n] for n in difflib.get_close_matches(str(name).lower(), list(lower), n=3,
                                                         cutoff=0.5)]
    hint = f'closest registered names: {", ".join(close)}' if close else \
        f'{len(names)} names are registered, none close'
    return f'unknown type {name!r} in the {registry.scope}::{registry.name} registry ({hint})'


class MMDenseRegistry(Registry):
    """mmengine ``Registry`` that remembers the last name it did not find and, when a build
    fails on an unknown type, names the type, the registry and the closest registered names."""

    def get(self, key):
        obj = super().get(key)
        if obj is None and isinstance(key, str):
            LAST_MISS[0] = (key, self)
        return obj

    def build(self, cfg, *args, **kwargs):
        try:
            return super().build(cfg, *args, **kwargs)
        except KeyError as e:
            miss = LAST_MISS[0]
            if miss is not None and 'is not in the' in str(e) and f'{miss[0]} is not' in str(e):
                raise KeyError(unknown_type_message(*miss) + '. Fix the spelling, or import the '
                               'module that registers it (custom_imports in the config)') from e
            raise


def _child(name, parent, location=None):
    # the parent's locations too: a child registry's lookup reads its parents' module dicts
    # without importing their modules, so MMPretrain's components must be imported from here
    locations = ([location] if location else []) + list(parent._locations)
    return MMDenseRegistry(name, parent=parent, scope='mmdense', locations=locations)


RUNNERS = _child('runner', pretrain.RUNNERS)
RUNNER_CONSTRUCTORS = _child('runner constructor', pretrain.RUNNER_CONSTRUCTORS)
LOOPS = _child('loop', pretrain.LOOPS, 'mmdense.engine')
HOOKS = _child('hook', pretrain.HOOKS, 'mmdense.engine')
LOG_PROCESSORS = _child('log processor', pretrain.LOG_PROCESSORS)
OPTIMIZERS = _child('optimizer', pretrain.OPTIMIZERS, 'mmdense.engine')
OPTIM_WRAPPERS = _child('optim_wrapper', pretrain.OPTIM_WRAPPERS, 'mmdense.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    pretrain.OPTIM_WRAPPER_CONSTRUCTORS, 'mmdense.engine')
PARAM_SCHEDULERS = _child('parameter scheduler', pretrain.PARAM_SCHEDULERS, 'mmdense.engine')
DATASETS = _child('dataset', pretrain.DATASETS, 'mmdense.datasets')
DATA_SAMPLERS = _child('data sampler', pretrain.DATA_SAMPLERS, 'mmdense.datasets')
TRANSFORMS = _child('transform', pretrain.TRANSFORMS, 'mmdense.datasets')
MODELS = _child('model', pretrain.MODELS, 'mmdense.models')
MODEL_WRAPPERS = _child('model_wrapper', pretrain.MODEL_WRAPPERS, 'mmdense.engine')
WEIGHT_INITIALIZERS = _child('weight initializer', pretrain.WEIGHT_INITIALIZERS)
BATCH_AUGMENTS = _child('batch augment', pretrain.BATCH_AUGMENTS)
TASK_UTILS = _child('task util', pretrain.TASK_UTILS, 'mmdense.models')
METRICS = _child('metric', pretrain.METRICS, 'mmdense.evaluation')
EVALUATORS = _child('evaluator', pretrain.EVALUATORS, 'mmdense.evaluation')
VISUALIZERS = _child('visualizer', pretrain.VISUALIZERS)
VISBACKENDS = _child('vis_backend', pretrain.VISBACKENDS)
