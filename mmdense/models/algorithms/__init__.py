from .cacl import CACL
from .flowe import FlowE
from .vader import VADeR

__all__ = ['CACL', 'FlowE', 'VADeR']
