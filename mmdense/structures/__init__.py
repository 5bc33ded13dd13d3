"""Data structures and geometry shared by datasets and models (the layer below both).

As MMDet keeps boxes in ``mmdet.structures``, mmdense keeps the dense geometry that its data
pipelines and its algorithms share here: pixel grids, affines, flow warping and the
correspondence between two views. ``mmdense.datasets`` and ``mmdense.models`` import from here;
this package imports from neither.
"""
from .geometry import (compose_affine, coords_grid, feature_grid_coords, flow_warp,
                       forward_backward_consistency, pixel_to_grid, sample_at,
                       stride_ratio, to_homogeneous, upsample_cells, view_correspondence)

__all__ = ['compose_affine', 'coords_grid', 'feature_grid_coords', 'flow_warp',
           'forward_backward_consistency', 'pixel_to_grid', 'sample_at', 'stride_ratio',
           'to_homogeneous', 'upsample_cells', 'view_correspondence']
