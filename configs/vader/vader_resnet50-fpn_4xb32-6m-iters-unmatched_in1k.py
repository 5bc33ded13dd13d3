# VADeR Table 3 "unmatch": different views, but each view-1 pixel is paired with a random pixel
# of view 2 instead of its correspondence.
_base_ = './vader_resnet50-fpn_4xb32-6m-iters_in1k.py'
model = dict(matching='random')
