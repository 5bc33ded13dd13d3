from .geometry import (compose_affine, coords_grid, flow_warp, sample_at, to_homogeneous)

__all__ = ['compose_affine', 'coords_grid', 'flow_warp', 'sample_at', 'to_homogeneous']
