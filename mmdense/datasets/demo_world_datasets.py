"""The demo world's labels through stock MMSeg / MMDet dataset classes.

Both classes are registered in mmdense's registry *and* in MMSeg's / MMDet's, so readout configs
run by MMSeg's or MMDet's own ``tools/train.py`` find them with
``custom_imports=dict(imports=['mmdense'])``.
"""
import os.path as osp

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS as MMSEG_DATASETS

from mmdense.registry import DATASETS
from .demo_world import CLASSES, PALETTE, THING_CLASSES


def _check_root(data_root, cls):
    if data_root and not osp.isdir(data_root):
        raise FileNotFoundError(
            f'{cls}: demo world not found at {data_root}. Generate it with '
            f'`python tools/misc/make_demo_world.py {data_root}` (a few seconds on a CPU).')


class DemoWorldSegDataset(BaseSegDataset):
    """Semantic segmentation of the demo world (5 classes, background included).

    Layout: ``frames/<clip>/<t>.png`` images, ``sem/<clip>/<t>.png`` uint8 class maps, split
    files ``splits/{train,val}.txt`` listing ``<clip>/<t>``.
    """
    METAINFO = dict(classes=CLASSES, palette=PALETTE)

    def __init__(self, data_root='', ann_file='splits/train.txt',
                 data_prefix=dict(img_path='frames', seg_map_path='sem'), **kwargs):
        _check_root(data_root, type(self).__name__)
        super().__init__(data_root=data_root, ann_file=ann_file, data_prefix=data_prefix,
                         img_suffix='.png', seg_map_suffix='.png', reduce_zero_label=False,
                         **kwargs)


class DemoWorldDetDataset(CocoDataset):
    """Instances of the demo world (4 thing classes), COCO json with RLE masks.

    Layout: ``annotations/instances_{train,val}.json`` whose ``file_name`` is relative to
    ``frames/``.
    """
    METAINFO = dict(classes=THING_CLASSES, palette=[tuple(p) for p in PALETTE[1:]])

    def __init__(self, data_root='', ann_file='annotations/instances_train.json',
                 data_prefix=dict(img='frames/'), **kwargs):
        _check_root(data_root, type(self).__name__)
        super().__init__(data_root=data_root, ann_file=ann_file, data_prefix=data_prefix,
                         **kwargs)


for _cls, _registries in ((DemoWorldSegDataset, (DATASETS, MMSEG_DATASETS)),
                          (DemoWorldDetDataset, (DATASETS, MMDET_DATASETS))):
    for _reg in _registries:
        _reg.register_module(module=_cls)
