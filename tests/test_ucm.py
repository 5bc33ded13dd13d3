"""UCM hierarchy: merge heights are OWT-UCM's mean boundary strength (issue 15, item 4)."""
import numpy as np
import pytest

from mmdense.datasets.ucm import is_ultrametric, ucm_boundaries, ucm_from_edges

OBJ = slice(24, 72)  # the square object's outline rows / columns 24 and 71


def _gapped_object_edges(specks=False):
    """96x96 edge map: a square object outlined by a strong boundary (1.0) with three one-pixel
    weak gaps (0.05); a full-height background line of strength 0.4 at column 86; weak noise
    (< 0.1) elsewhere. ``specks``: plus 24 small strong rings (radius 2, 0.8) in the
    background, each enclosing a speck of ~9 pixels (0.1% of the image)."""
    rng = np.random.default_rng(0)
    e = 0.1 * rng.random((96, 96))
    e[24, OBJ] = e[71, OBJ] = e[OBJ, 24] = e[OBJ, 71] = 1.0
    e[24, 40] = e[71, 55] = e[50, 71] = 0.05  # the gaps
    e[:, 86] = 0.4
    if specks:
        yy, xx = np.mgrid[-2:3, -2:3]
        ring = np.abs(np.hypot(yy, xx) - 2) < 0.5
        centres = [(y, x) for y in range(5, 92, 10) for x in (5, 15, 78)][:24]
        for y, x in centres:
            e[y - 2:y + 3, x - 2:x + 3][ring] = 0.8
    return e


def test_a_long_strong_boundary_with_weak_gaps_stays_a_high_merge():
    labels, dist = ucm_from_edges(_gapped_object_edges())
    assert 2 <= dist.shape[0] <= 40 and is_ultrametric(dist)
    inside, outside, far = labels[48, 48], labels[10, 60], labels[48, 92]
    # the object joins the background last (its mean boundary strength ~0.94), above the
    # uniform background line (0.4); by the weakest point it would merge at the 0.05 gaps
    assert dist[inside, outside] == pytest.approx(1.0)
    assert dist[outside, far] < 0.7
    # just below the top, the object's region lies inside the square and holds most of it (a
    # superpixel at a gap may leak out locally; the boundary as a whole stays strong)
    obj = dist[labels, inside] < 0.999
    assert obj[25:71, 25:71].mean() > 0.75
    assert not obj[:23].any() and not obj[73:].any()
    assert not obj[:, :23].any() and not obj[:, 73:].any()
    strength = ucm_boundaries(labels, dist)
    assert strength[23:25, 48].max() == pytest.approx(1.0)  # above the object
    assert strength[47:49, 70:72].max() == pytest.approx(1.0)  # right of it


def test_the_weakest_point_option_merges_the_object_through_its_gaps():
    labels, dist = ucm_from_edges(_gapped_object_edges(), merge='dynamics')
    assert is_ultrametric(dist)
    inside, outside, far = labels[48, 48], labels[10, 60], labels[48, 92]
    assert dist[inside, outside] < dist[outside, far]


def test_specks_under_the_superpixel_floor_are_no_regions():
    edges = _gapped_object_edges(specks=True)
    labels, dist = ucm_from_edges(edges)  # floor: 0.25% of the image (23 pixels)
    area = np.bincount(labels.ravel(), minlength=dist.shape[0])
    assert is_ultrametric(dist) and area.min() >= 0.0025 * labels.size
    inside, outside, far = labels[48, 48], labels[10, 60], labels[48, 92]
    assert dist[inside, outside] > dist[outside, far]  # the object still outranks the line
    # without the floor (every watershed basin a superpixel) the rings' specks hold on to
    # their strong mean boundaries and take a share of the 40 regions
    labels0, dist0 = ucm_from_edges(edges, min_area=0)
    area0 = np.bincount(labels0.ravel(), minlength=dist0.shape[0])
    assert is_ultrametric(dist0) and (area0 < 0.0025 * labels0.size).sum() >= 10


def test_unknown_merge_is_refused():
    with pytest.raises(ValueError, match='merge must be one of'):
        ucm_from_edges(np.zeros((8, 8)), merge='min')


def test_a_cache_of_an_older_hierarchy_is_recomputed(tmp_path):
    """A valid tree written by an earlier hierarchy (no ``tree`` tag) is not reused as done."""
    import cv2

    from mmdense.datasets.ucm import UCM_TREE, compute_ucm_cache, save_ucm, ucm_tree_tag
    img_root, out = tmp_path / 'img', tmp_path / 'ucm'
    img_root.mkdir()
    img = np.zeros((32, 32, 3), np.uint8)
    img[8:24, 8:24] = 200
    cv2.imwrite(str(img_root / 'a.png'), img)
    out.mkdir()
    labels = np.zeros((32, 32), np.uint8)
    labels[16:] = 1
    save_ucm(str(out / 'a.npz'), labels, np.array([[0, .5], [.5, 0]], np.float32), tree='')
    summary = compute_ucm_cache(str(img_root), str(out))
    assert summary['computed'] == 1 and ucm_tree_tag(str(out / 'a.npz')) == UCM_TREE
    assert compute_ucm_cache(str(img_root), str(out))['skipped'] == 1  # now current: resumed


def _square_picture(y, x, size=16, shape=(32, 32)):
    img = np.full(shape + (3,), 30, np.uint8)
    img[y:y + size, x:x + size] = (40, 200, 120)
    return img


def test_a_changed_picture_under_the_same_path_is_recomputed(tmp_path):
    """Same path, same size, new picture (e.g. a regenerated demo world): its stale tree is not
    reused; the unchanged image is resumed."""
    import cv2

    from mmdense.datasets.ucm import (color_gradient_edges, compute_ucm_cache, file_sha1,
                                      load_ucm, ucm_source_sha1)
    img_root, out = tmp_path / 'img', tmp_path / 'ucm'
    img_root.mkdir()
    cv2.imwrite(str(img_root / 'a.png'), _square_picture(4, 4))
    cv2.imwrite(str(img_root / 'b.png'), _square_picture(4, 4))
    first = compute_ucm_cache(str(img_root), str(out))
    assert (first['computed'], first['skipped']) == (2, 0)
    assert ucm_source_sha1(str(out / 'b.npz')) == file_sha1(str(img_root / 'b.png'))
    a_bytes = (out / 'a.npz').read_bytes()
    old_b, _ = load_ucm(str(out / 'b.npz'))
    new_b = _square_picture(14, 10)  # the square moved: same size, another picture
    cv2.imwrite(str(img_root / 'b.png'), new_b)
    again = compute_ucm_cache(str(img_root), str(out))
    assert (again['images'], again['computed'], again['skipped']) == (2, 1, 1)
    assert not again['failed'] and (out / 'a.npz').read_bytes() == a_bytes
    labels, dist = load_ucm(str(out / 'b.npz'))
    fresh, fresh_dist = ucm_from_edges(color_gradient_edges(new_b))
    np.testing.assert_array_equal(labels, fresh)
    np.testing.assert_allclose(dist, fresh_dist)
    assert not np.array_equal(labels, old_b)  # the old tree was really of another picture
    assert compute_ucm_cache(str(img_root), str(out))['skipped'] == 2  # now current


def test_a_ucm_file_without_a_digest_is_recomputed(tmp_path):
    import cv2

    from mmdense.datasets.ucm import (UCM_TREE, compute_ucm_cache, file_sha1, save_ucm,
                                      ucm_source_sha1)
    img_root, out = tmp_path / 'img', tmp_path / 'ucm'
    img_root.mkdir()
    out.mkdir()
    img = _square_picture(8, 8)
    cv2.imwrite(str(img_root / 'a.png'), img)
    save_ucm(str(out / 'a.npz'), *ucm_from_edges(np.zeros((32, 32))), tree=UCM_TREE)
    assert compute_ucm_cache(str(img_root), str(out))['computed'] == 1
    assert ucm_source_sha1(str(out / 'a.npz')) == file_sha1(str(img_root / 'a.png'))


def test_load_ucm_refuses_a_region_map_of_another_size(tmp_path):
    from mmdense.datasets.ucm import UCMError, save_ucm
    from mmdense.registry import TRANSFORMS
    (tmp_path / 'u').mkdir()
    save_ucm(str(tmp_path / 'u' / 'a.npz'), np.zeros((16, 16), np.uint8), np.zeros((1, 1)))
    load = TRANSFORMS.build(dict(type='LoadUCM', ucm_root=str(tmp_path / 'u'),
                                 img_root=str(tmp_path / 'img')))
    results = dict(img_path=str(tmp_path / 'img' / 'a.png'), img=np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(UCMError, match=r'a\.npz is \(16, 16\), the image .*a\.png is \(32, 32\).*'
                       r'python tools/ucm/compute_ucm\.py'):
        load.transform(results)
