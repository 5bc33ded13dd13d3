# CACL Table 1(c) "simple model": no pixel shuffle, hard cycle target.
_base_ = './cacl_resnet18-d8_16xb32-200e_kinetics400.py'
model = dict(pixel_shuffle=False, soft_cycle=False)
