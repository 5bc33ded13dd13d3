# The loss at image resolution (Algorithm 1: features upsampled to the flow) instead of the
# default feature resolution; tiny, to compare costs (see configs/flowe/README.md).
_base_ = ['./flowe_resnet18-d8_1xb8-300iters_demo-world.py']
model = dict(resolution='image')
