"""mmdense registries: children of MMPretrain's, scope ``mmdense``.

With ``default_scope='mmdense'`` (all mmdense pretraining configs) every mmdense component and
every MMPretrain / mmengine component resolves by its plain name. Configs run by MMPretrain's,
MMSeg's or MMDet's own ``tools/train.py`` only need ``custom_imports=dict(imports=['mmdense'])``:
importing :mod:`mmdense` registers everything here, and the readout components that MMSeg / MMDet
models build (heads, datasets) are *also* registered into those toolboxes' registries (see
:mod:`mmdense.readout_registry`), since mmengine only resolves ``scope.Name`` for direct children
of its root registry.
"""
from mmengine.registry import Registry
from mmpretrain import registry as pretrain

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS', 'OPTIMIZERS',
    'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'DATASETS',
    'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS',
    'BATCH_AUGMENTS', 'TASK_UTILS', 'METRICS', 'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS'
]


def _child(name, parent, location=None):
    # the parent's locations too: a child registry's lookup reads its parents' module dicts
    # without importing their modules, so MMPretrain's components must be imported from here
    locations = ([location] if location else []) + list(parent._locations)
    return Registry(name, parent=parent, scope='mmdense', locations=locations)


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
