# Ablation: HOG features for the clustering, graph built with
#   tools/transitive/build_graph.py ... data/transitive_hog --features hog
_base_ = './triplet-siamese_vgg16_1xb100-200k_video-graph.py'
train_dataloader = dict(dataset=dict(graph_file='data/transitive_hog/graph.json'))
