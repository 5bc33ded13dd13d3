# FlowE on any folder of videos and/or frame folders (data/videos), pairs 0.5 s apart, flow from
# the model's frozen RAFT in the train step (no cache; model.flow_net.checkpoint must exist).
# Frame folders need their frame rate: --cfg-options train_dataloader.dataset.fps=30
_base_ = ['./flowe_resnet50-d8_64xb2-lars-60k_bdd100k.py']
data_root = 'data/videos'
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        pipeline=[
            dict(type='PairRandomResizedCrop', crop_size=(512, 512), scale_range=(0.5, 1.0)),
            dict(type='KeepFlowFrames'),
            dict(type='FramePairToViews', transforms={{_base_.view_pipeline}}),
            dict(type='PackFlowInputs'),
        ]))
