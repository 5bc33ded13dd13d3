from .geometry import (compose_affine, coords_grid, feature_grid_coords, flow_warp,
                       forward_backward_consistency, pixel_to_grid, sample_at,
                       to_homogeneous, view_correspondence)

__all__ = ['compose_affine', 'coords_grid', 'feature_grid_coords', 'flow_warp',
           'forward_backward_consistency', 'pixel_to_grid', 'sample_at', 'to_homogeneous',
           'view_correspondence']
