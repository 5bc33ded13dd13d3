from .dense_mlp import DenseNonLinearNeck
from .fpn_decoder import FPNDecoder

__all__ = ['DenseNonLinearNeck', 'FPNDecoder']
