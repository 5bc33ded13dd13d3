# FlowE on any folder of videos and/or frame folders (data/videos), pairs 0.5 s apart, DIS flow
# cached in data/videos_flow:
#   python tools/flow/compute_flow.py data/videos data/videos_flow --interval-seconds 0.5 \
#       --index-file .mmdense_index.json --workers 8
# Frame folders need their frame rate: --cfg-options train_dataloader.dataset.fps=30
_base_ = ['./flowe_resnet50-d8_64xb2-lars-60k_bdd100k.py']
data_root = 'data/videos'
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        pipeline=[
            dict(type='LoadFlow', flow_root='data/videos_flow'),
            dict(type='PairRandomResizedCrop', crop_size=(512, 512), scale_range=(0.5, 1.0)),
            dict(type='FramePairToViews', transforms={{_base_.view_pipeline}}),
            dict(type='PackFlowInputs'),
        ]))
