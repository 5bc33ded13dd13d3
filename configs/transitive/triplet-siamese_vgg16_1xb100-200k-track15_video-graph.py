# Ablation: 15-frame tracks, graph built with
#   tools/transitive/build_graph.py ... data/transitive_track15 --track-frames 15
_base_ = './triplet-siamese_vgg16_1xb100-200k_video-graph.py'
train_dataloader = dict(dataset=dict(graph_file='data/transitive_track15/graph.json'))
