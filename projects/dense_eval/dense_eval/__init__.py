"""Dense-feature evaluations without a trained head: video mask propagation (DAVIS-2017),
segment retrieval, feature pictures. See ../README.md."""
from mmdense.evaluation import DenseEncoder
from .davis import boundary_f_measure, db_eval_boundary, db_eval_iou, read_davis_sequence
from .pictures import DenseFeatureVisHook, correspondence_overlay, pca_rgb, similarity_map
from .propagation import propagate_labels
from .retrieval import segment_retrieval

__all__ = ['boundary_f_measure', 'db_eval_boundary', 'db_eval_iou', 'read_davis_sequence',
           'DenseEncoder', 'DenseFeatureVisHook', 'correspondence_overlay', 'pca_rgb',
           'similarity_map', 'propagate_labels', 'segment_retrieval']
