# FlowE on BDD100K with OpenCV DIS flow computed in the dataloader workers (ComputeFlow, no
# weights, no cache) instead of the online RAFT: for machines without a GPU for the flow
# network. DIS medium costs ~30 ms per 512x1024 pair on 2 threads (configs/flowe/README.md);
# raise num_workers to keep up. Flow is computed on the full frames before the pair crop.
_base_ = ['./flowe_resnet50-d8_64xb2-lars-60k_bdd100k.py']
model = dict(flow_net=None)
train_dataloader = dict(
    num_workers=8,
    dataset=dict(
        pipeline=[
            dict(type='ComputeFlow', method='dis_medium'),
            dict(type='PairRandomResizedCrop', crop_size=(512, 512), scale_range=(0.5, 1.0),
                 short_side=1024),
            dict(type='FramePairToViews', transforms={{_base_.view_pipeline}}),
            dict(type='PackFlowInputs'),
        ]))
