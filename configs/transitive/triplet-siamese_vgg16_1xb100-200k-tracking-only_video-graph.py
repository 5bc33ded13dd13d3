# Ablation "tracking only": intra-instance pairs only (same graph).
_base_ = './triplet-siamese_vgg16_1xb100-200k_video-graph.py'
train_dataloader = dict(dataset=dict(kinds=('intra', )))
