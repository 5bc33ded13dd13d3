# Ablation "clustering only": inter-instance pairs only, from a graph built with
#   tools/transitive/build_graph.py ... data/transitive_inter --pairs inter
_base_ = './triplet-siamese_vgg16_1xb100-200k_video-graph.py'
train_dataloader = dict(dataset=dict(graph_file='data/transitive_inter/graph.json',
                                     kinds=('inter', )))
