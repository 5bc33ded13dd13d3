from .cacl import CACL
from .context_prediction import ContextPrediction
from .flowe import FlowE
from .hiergroup import HierGroup
from .triplet_siamese import TripletSiamese
from .vader import VADeR

__all__ = ['CACL', 'ContextPrediction', 'FlowE', 'HierGroup', 'TripletSiamese', 'VADeR']
