# Cityscapes leftImg8bit_sequence (30-frame snippets at 17 Hz, all snippets of a city in one
# folder: split into sequences by file name), pairs 0.5 s apart (9 frames), DIS flow cache:
#   python tools/flow/compute_flow.py data/cityscapes/leftImg8bit_sequence/train \
#       data/cityscapes/flow_dis/train --interval-frames 9 --workers 32 \
#       --group-pattern '(.+_\d{6})_\d{6}_leftImg8bit\.png'
_base_ = ['./bdd100k_flow_pairs.py']
data_root = 'data/cityscapes/leftImg8bit_sequence/train'
flow_root = 'data/cityscapes/flow_dis/train'
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        interval_seconds=None,
        interval_frames=9,
        index_file=None,
        group_pattern=r'(.+_\d{6})_\d{6}_leftImg8bit\.png',
        pipeline=[
            dict(type='LoadFlow', flow_root=flow_root),
            dict(type='PairRandomResizedCrop', crop_size=(512, 512), scale_range=(0.5, 1.0)),
            dict(type='FramePairToViews', transforms={{_base_.view_pipeline}}),
            dict(type='PackFlowInputs'),
        ]))
