# Linear 1x1 readout (CACL / VADeR protocol) of the frozen encoder on the demo world.
_base_ = ['./deeplabv1_r18-d8-frozen_1xb8-400iters_demo-world.py']
model = dict(decode_head=dict(kernel_size=1))
