import mmpretrain.datasets  # noqa: F401  (register MMPretrain's transforms, our parent registry)

from .pair import FramePairToViews

__all__ = ['FramePairToViews']
