# The paper's multi-task baseline: ranking loss + context prediction (3 x 3 grid of 32x32 cells
# on the anchor patch, 8-way relative position) on the same VGG16 tower.
_base_ = './triplet-siamese_vgg16_1xb100-200k_video-graph.py'
model = dict(context_weight=1.0, context_channels=512)
