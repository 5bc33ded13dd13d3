# Runtime of the MMDet readouts: MMDet's own defaults; mmdense only adds its components.
_base_ = 'mmdet::_base_/default_runtime.py'
randomness = dict(seed=0)
