"""Deterministic label-limited subsets (FlowE Table 5, CACL Table 4: 1% / 5% / 10% / 100%)."""
import math
import os.path as osp

import numpy as np


def nested_subsets(names, fractions=(1, 5, 10, 100), seed=0):
    """``{percent: sorted names}`` drawn from one seeded permutation, so smaller subsets are
    contained in larger ones and a seed always gives the same files. Each subset holds
    ``ceil(percent / 100 * N)`` (at least one) names."""
    names = sorted(set(names))
    if not names:
        raise ValueError('no images to draw label subsets from')
    order = np.random.default_rng(seed).permutation(len(names))
    out = {}
    for pct in sorted(fractions):
        if not 0 < pct <= 100:
            raise ValueError(f'fractions are percentages in (0, 100], got {pct}')
        k = max(1, math.ceil(pct / 100 * len(names)))
        out[pct] = sorted(names[i] for i in order[:k])
    return out


def seg_dataset_names(dataset):
    """MMSeg ``ann_file`` names (image path relative to ``data_prefix.img_path``, without the
    image suffix) of every sample of a built MMSeg dataset."""
    img_dir = dataset.data_prefix['img_path']
    suffix = dataset.img_suffix
    names = []
    for info in (dataset.get_data_info(i) for i in range(len(dataset))):
        rel = osp.relpath(info['img_path'], img_dir)
        if not rel.endswith(suffix):
            raise ValueError(f'{info["img_path"]} does not end with {suffix}')
        names.append(rel[:-len(suffix)])
    return names
