from .dense_mlp import DenseNonLinearNeck
from .fpn_decoder import FPNDecoder
from .hypercolumn import HypercolumnNeck

__all__ = ['DenseNonLinearNeck', 'FPNDecoder', 'HypercolumnNeck']
