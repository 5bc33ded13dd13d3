from .dense_mlp import DenseNonLinearNeck
from .flatten_fc import FlattenFCNeck
from .fpn_decoder import FPNDecoder
from .hypercolumn import HypercolumnNeck

__all__ = ['DenseNonLinearNeck', 'FlattenFCNeck', 'FPNDecoder', 'HypercolumnNeck']
