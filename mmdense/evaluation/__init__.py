from .dense_probe import class_areas, dense_linear_probe, extract_dense_features
from .encoder import DenseEncoder

__all__ = ['class_areas', 'dense_linear_probe', 'extract_dense_features', 'DenseEncoder']
