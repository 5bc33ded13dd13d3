# CACL Table 1(b) "+ cycle-attention head", stride 4 (all three heads).
_base_ = './cacl_resnet18-d8_16xb32-200e_kinetics400.py'
train_dataloader = dict(dataset=dict(interval_frames=4))
