from .class_agnostic_coco import ClassAgnosticCocoMetric
from .dense_probe import (class_areas, dense_linear_probe, effective_rank, extract_dense_features,
                          segmentation_scores)
from .encoder import DenseEncoder
from .random_init import calibrate_bn, random_init_checkpoint

__all__ = ['ClassAgnosticCocoMetric', 'class_areas', 'dense_linear_probe', 'effective_rank',
           'extract_dense_features', 'segmentation_scores', 'DenseEncoder', 'calibrate_bn',
           'random_init_checkpoint']
