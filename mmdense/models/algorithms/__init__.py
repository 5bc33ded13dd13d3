from .cacl import CACL
from .flowe import FlowE
from .hiergroup import HierGroup
from .triplet_siamese import TripletSiamese
from .vader import VADeR

__all__ = ['CACL', 'FlowE', 'HierGroup', 'TripletSiamese', 'VADeR']
