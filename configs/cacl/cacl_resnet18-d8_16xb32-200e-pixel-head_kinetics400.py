# CACL Table 1(a): pixel head only (positives at the same crop position; no global head
# to pick them).
_base_ = './cacl_resnet18-d8_16xb32-200e_kinetics400.py'
model = dict(heads=('pixel', ), pixel_positive='same_position')
