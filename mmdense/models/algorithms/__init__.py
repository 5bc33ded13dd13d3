from .cacl import CACL
from .flowe import FlowE
from .hiergroup import HierGroup
from .vader import VADeR

__all__ = ['CACL', 'FlowE', 'HierGroup', 'VADeR']
