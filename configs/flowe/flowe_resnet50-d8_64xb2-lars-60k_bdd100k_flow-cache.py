# FlowE on BDD100K with a precomputed flow cache instead of the online RAFT (fixed pair sets,
# small runs, machines where the flow network does not fit). The dataset draws only the pairs
# the cache lists in flow_index.json (a --step N cache works) and refuses at start-up a cache
# that does not cover it. Compute it first (DIS needs no weights; --method raft:/path/weights.pth
# for RAFT):
#   python tools/flow/compute_flow.py data/bdd100k/videos/train data/bdd100k/flow_dis/train \
#       --interval-seconds 0.5 --index-file .mmdense_index.json --workers 32 [--step 15]
_base_ = ['./flowe_resnet50-d8_64xb2-lars-60k_bdd100k.py']
model = dict(flow_net=None)
train_dataloader = dict(
    dataset=dict(
        flow_cache={{_base_.flow_root}},
        pipeline=[
            dict(type='LoadFlow', flow_root={{_base_.flow_root}}),
            dict(type='PairRandomResizedCrop', crop_size=(512, 512), scale_range=(0.5, 1.0),
                 short_side=1024),
            dict(type='FramePairToViews', transforms={{_base_.view_pipeline}}),
            dict(type='PackFlowInputs'),
        ]))
