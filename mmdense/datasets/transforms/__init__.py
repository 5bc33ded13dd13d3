import mmpretrain.datasets  # noqa: F401  (register MMPretrain's transforms, our parent registry)

from .flow import (ComputeFlow, LoadFlow, PackFlowInputs, PairRandomResizedCrop,
                   RandomAffineView, read_flow, write_flow)
from .pair import FramePairToViews

__all__ = ['FramePairToViews', 'ComputeFlow', 'LoadFlow', 'PackFlowInputs',
           'PairRandomResizedCrop', 'RandomAffineView', 'read_flow', 'write_flow']
