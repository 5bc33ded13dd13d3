# CACL Table 1(b) "decide by global head", stride 4.
_base_ = './cacl_resnet18-d8_16xb32-200e_kinetics400.py'
model = dict(heads=('global_', 'pixel'))
train_dataloader = dict(dataset=dict(interval_frames=4))
