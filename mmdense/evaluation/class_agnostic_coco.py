"""Class-agnostic COCO box AP: does a detection readout find the objects, whatever their class?

A frozen-encoder detection readout can miss in two ways: its boxes are wrong, or its boxes are
right and its classes are wrong. MMDet's ``CocoMetric`` mixes the two. This metric scores the
same predictions with every ground-truth object and every prediction put in one category
``object``, so that, next to ``CocoMetric``'s per-class mAP, a readout's localisation and its
classification can be told apart (the learning benchmark's detection rows, issue 17).

Predictions are not merged again: two boxes of different classes on one object count as one
true and one false positive, as they would within one class (MMDet's detectors run NMS per
class). Used as a second metric of the evaluator::

    val_evaluator = [
        dict(type='CocoMetric', ann_file=ann, metric='bbox'),
        dict(type='ClassAgnosticCocoMetric', ann_file=ann, metric='bbox'),  # coco_agnostic/...
    ]
"""
from mmdet.evaluation.metrics import CocoMetric
from mmdet.registry import METRICS as MMDET_METRICS

from mmdense.registry import METRICS


class ClassAgnosticCocoMetric(CocoMetric):
    """MMDet's ``CocoMetric`` with one category for all objects (prefix ``coco_agnostic``).

    Args:
        ann_file (str): the COCO annotation file (required: the categories are merged in its
            ground truth). Every other argument is ``CocoMetric``'s.
    """
    default_prefix = 'coco_agnostic'

    def __init__(self, ann_file=None, **kwargs):
        if ann_file is None:
            raise ValueError('ClassAgnosticCocoMetric needs ann_file: the COCO annotation file '
                             'whose categories it merges (set ann_file=... as for CocoMetric)')
        super().__init__(ann_file=ann_file, **kwargs)
        api = self._coco_api
        cats = sorted(api.dataset['categories'], key=lambda c: c['id'])
        if not cats:
            raise ValueError(f'{ann_file} has no categories: nothing to evaluate')
        self.object_id = cats[0]['id']
        api.dataset['categories'] = [dict(id=self.object_id, name='object')]
        for ann in api.dataset.get('annotations', []):  # MMDet omits the key for no objects
            ann['category_id'] = self.object_id
        api.createIndex()
        # MMDet's COCO wrapper keeps aliases of the index it built first
        api.img_ann_map, api.cat_img_map = api.imgToAnns, api.catToImgs
        self.cat_ids = [self.object_id]  # prediction label 0 -> the one category

    def process(self, data_batch, data_samples):
        """``CocoMetric.process``, with every prediction's label set to the one category."""
        start = len(self.results)
        super().process(data_batch, data_samples)
        for _, result in self.results[start:]:
            result['labels'] = result['labels'] * 0


for _reg in {METRICS, MMDET_METRICS}:
    _reg.register_module(module=ClassAgnosticCocoMetric)
