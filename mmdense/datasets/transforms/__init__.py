import mmpretrain.datasets  # noqa: F401  (register MMPretrain's transforms, our parent registry)

from .flow import (ComputeFlow, LoadFlow, PackFlowInputs, PairRandomResizedCrop,
                   RandomAffineView, read_flow, write_flow)
from .loading import CheckedLoadImageFromFile  # noqa: F401  (LoadImageFromFile, checked)
from .pair import DuplicateAsPair, FramePairToViews, PairRandomFlip, PairRandomResizedBoxCrop
from .ucm import LoadUCM, PackUCMInputs, RandomUCM
from .views import CorrespondingViews, RandomResizedCropAffine

__all__ = ['FramePairToViews', 'PairRandomResizedBoxCrop', 'PairRandomFlip', 'DuplicateAsPair',
           'ComputeFlow', 'LoadFlow', 'PackFlowInputs', 'PairRandomResizedCrop', 'RandomAffineView',
           'read_flow', 'write_flow', 'CorrespondingViews', 'RandomResizedCropAffine', 'LoadUCM',
           'PackUCMInputs', 'RandomUCM']
