# CACL Table 1(b) "only augmentation" (stride 0): both views from the same frame, pixel
# positives at the same position.
_base_ = './cacl_resnet18-d8_16xb32-200e_kinetics400.py'
model = dict(heads=('global_', 'pixel'), pixel_positive='same_position')
train_dataloader = dict(dataset=dict(interval_frames=0))
