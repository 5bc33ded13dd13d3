# CACL Table 1(b) "cross video frames", stride 2: pixel positives at the same crop position
# of the other frame (no matching).
_base_ = './cacl_resnet18-d8_16xb32-200e_kinetics400.py'
model = dict(heads=('global_', 'pixel'), pixel_positive='same_position')
train_dataloader = dict(dataset=dict(interval_frames=2))
