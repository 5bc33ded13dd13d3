from .dense_probe import dense_linear_probe, extract_dense_features
from .encoder import DenseEncoder

__all__ = ['dense_linear_probe', 'extract_dense_features', 'DenseEncoder']
