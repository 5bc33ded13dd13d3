# CACL Table 1(a): global + cycle-attention heads.
_base_ = './cacl_resnet18-d8_16xb32-200e_kinetics400.py'
model = dict(heads=('global_', 'cycle'))
