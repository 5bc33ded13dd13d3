from .cacl import CACL
from .flowe import FlowE

__all__ = ['CACL', 'FlowE']
