# CACL Table 1(a): global head only (MoCo-v2 on frame pairs).
_base_ = './cacl_resnet18-d8_16xb32-200e_kinetics400.py'
model = dict(heads=('global_', ))
