# Cityscapes leftImg8bit_sequence (30-frame snippets at 17 Hz, all snippets of a city in one
# folder: split into sequences by file name), pairs 0.5 s apart (9 frames); flow from the model's
# frozen RAFT in the train step (no cache; KeepFlowFrames keeps the cropped frames for it).
_base_ = ['./bdd100k_flow_pairs.py']
data_root = 'data/cityscapes/leftImg8bit_sequence/train'
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        interval_seconds=None,
        interval_frames=9,
        index_file=None,
        group_pattern=r'(.+_\d{6})_\d{6}_leftImg8bit\.png',
        pipeline=[
            dict(type='PairRandomResizedCrop', crop_size=(512, 512), scale_range=(0.5, 1.0)),
            dict(type='KeepFlowFrames'),
            dict(type='FramePairToViews', transforms={{_base_.view_pipeline}}),
            dict(type='PackFlowInputs'),
        ]))
