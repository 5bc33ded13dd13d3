from .dense_mlp import DenseNonLinearNeck

__all__ = ['DenseNonLinearNeck']
