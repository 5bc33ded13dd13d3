# CACL Table 1(a) / (b) "decide by global head", stride 8: pixel + global heads.
_base_ = './cacl_resnet18-d8_16xb32-200e_kinetics400.py'
model = dict(heads=('global_', 'pixel'))
