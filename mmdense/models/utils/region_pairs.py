"""Pixel pairs sampled from a region tree (hierarchical grouping, Zhang & Maire 2020, eqs. 2-3).

For an anchor pixel ``i`` in region ``R_a`` the positive set draws regions ``R_b`` with

    P(b | a) = exp(-d(a, b) / s) / (sum_{m != a} exp(-d(a, m) / s) + 1),   P(a | a) = 1 / (... + 1)

(the self-similarity cast to one), the negative set with

    P(b | a) = exp(d(a, b) / s) / sum_{m != a} exp(d(a, m) / s),   b != a,

and a pixel uniformly inside each drawn region; ``d`` is the tree (ultrametric) distance and
``s = sigma_p`` (0.8). Only regions visible in at least one of the image's views are drawn;
each sampled pixel comes from a random view that shows its region (augmented pairs).
"""
import numpy as np


def positive_probs(dist, a, sigma=0.8, available=None):
    """P(b in Pos | a) over all regions (zero for unavailable ones), eq. 2."""
    w = np.exp(-np.asarray(dist[a], np.float64) / sigma)
    w[a] = 0.0
    if available is not None:
        w = w * available
    w[a] = 1.0  # self-similarity cast to one
    return w / w.sum()


def negative_probs(dist, a, sigma=0.8, available=None):
    """P(b in Neg | a) over all regions (zero for ``a`` and unavailable ones), eq. 3; None when
    no other region is available."""
    w = np.exp(np.asarray(dist[a], np.float64) / sigma)
    w[a] = 0.0
    if available is not None:
        w = w * available
    return w / w.sum() if w.sum() > 0 else None


def sample_region_pairs(label_views, dist, num_regions=7, num_pos=10, num_neg=5, sigma=0.8,
                        rng=None, ignore_index=255):
    """Anchor, positive and negative pixels of one image.

    Args:
        label_views (list[ndarray]): region maps (h, w) of the image's views at feature
            resolution (``ignore_index`` = no region, e.g. outside the view).
        dist (ndarray): (M, M) tree distances.
        num_regions, num_pos, num_neg (int): anchors (one per region), positives and negatives
            per anchor (7, 10, 5 in the paper).

    Returns:
        tuple: ``anchors`` (A, 2), ``positives`` (A, num_pos, 2), ``negatives``
        (A, num_neg, 2) int64 rows ``(view, flat pixel index)``; A <= num_regions (regions of
        view 0). ``negatives`` is None when the image shows a single region.
    """
    rng = rng or np.random.default_rng()
    m = dist.shape[0]
    pixels = [[np.flatnonzero(lv == r) for r in range(m)] for lv in label_views]
    counts = np.array([[len(p) for p in pv] for pv in pixels])  # (V, M)
    available = (counts.sum(0) > 0).astype(np.float64)
    anchor_regions = np.flatnonzero(counts[0] > 0)
    if anchor_regions.size == 0:
        raise ValueError('the first view shows no region of the UCM map (all ignore_index)')
    anchor_regions = rng.choice(anchor_regions, size=min(num_regions, anchor_regions.size),
                                replace=False)

    def pixel_in(region):
        views = np.flatnonzero(counts[:, region] > 0)
        v = int(rng.choice(views))
        return v, int(rng.choice(pixels[v][region]))

    anchors, pos, neg = [], [], []
    have_neg = True
    for a in anchor_regions:
        anchors.append((0, int(rng.choice(pixels[0][a]))))
        p = positive_probs(dist, a, sigma, available)
        pos.append([pixel_in(b) for b in rng.choice(m, size=num_pos, p=p)])
        q = negative_probs(dist, a, sigma, available)
        if q is None:
            have_neg = False
        else:
            neg.append([pixel_in(b) for b in rng.choice(m, size=num_neg, p=q)])
    anchors = np.array(anchors, np.int64)
    pos = np.array(pos, np.int64)
    neg = np.array(neg, np.int64) if have_neg else None
    return anchors, pos, neg
