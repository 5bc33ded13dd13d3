from .dense_probe import dense_linear_probe, extract_dense_features

__all__ = ['dense_linear_probe', 'extract_dense_features']
