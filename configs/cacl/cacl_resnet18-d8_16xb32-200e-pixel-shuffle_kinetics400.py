# CACL Table 1(c) "+ pixel shuffle trick" (hard cycle target; the full model adds the soft
# cycle).
_base_ = './cacl_resnet18-d8_16xb32-200e_kinetics400.py'
model = dict(pixel_shuffle=True, soft_cycle=False)
