import numpy as np
import pytest
import torch

from mmdense.structures import compose_affine, coords_grid, flow_warp, to_homogeneous


def test_flow_warp_translation_and_bounds():
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(2, 3, 4, 5)
    flow = torch.zeros(2, 2, 4, 5)
    flow[:, 0] = 1.0  # every pixel looks one pixel to the right
    out, inside = flow_warp(x, flow)
    torch.testing.assert_close(out[..., :4], x[..., 1:])
    assert inside[..., :4].all() and not inside[..., 4].any()
    assert (out[..., 4] == 0).all()
    half = torch.zeros(2, 2, 4, 5)
    half[:, 1] = 0.5
    out, _ = flow_warp(x, half)
    torch.testing.assert_close(out[:, :, :3], (x[:, :, :3] + x[:, :, 1:]) / 2)


def test_flow_warp_rejects_mismatched_flow():
    with pytest.raises(ValueError, match=r'flow of shape \(1, 2, 4, 4\) does not match'):
        flow_warp(torch.zeros(1, 3, 4, 5), torch.zeros(1, 2, 4, 4))


def test_affine_helpers():
    a = np.array([[2., 0, 1], [0, 2, 3]])
    b = np.array([[1., 0, -1], [0, 1, 2]])
    c = compose_affine(a, b)
    p = np.array([3., 4., 1.])
    np.testing.assert_allclose(c @ p, to_homogeneous(a) @ (to_homogeneous(b) @ p))
    t = compose_affine(torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(t.numpy(), c)
    g = coords_grid(1, 2, 3)
    assert g.shape == (1, 2, 2, 3) and g[0, 0, 1, 2] == 2 and g[0, 1, 1, 2] == 1


def test_feature_grid_matches_bilinear_upsampling_centres():
    from mmdense.structures import feature_grid_coords
    g = feature_grid_coords(1, 2, 3, (4, 8))
    # x centres of 3 columns at stride 8 over 24 pixels: 3.5, 11.5, 19.5; y at stride 4: 1.5, 5.5
    np.testing.assert_allclose(g[0, 0, 0].numpy(), [3.5, 11.5, 19.5])
    np.testing.assert_allclose(g[0, 1, :, 0].numpy(), [1.5, 5.5])
    # a single stride is used for both axes
    np.testing.assert_allclose(feature_grid_coords(1, 1, 2, 8)[0, :, 0, 1].numpy(), [11.5, 3.5])


def test_pixel_to_grid_inverts_the_feature_grid():
    from mmdense.structures import coords_grid, feature_grid_coords, pixel_to_grid
    g = feature_grid_coords(2, 3, 5, (4, 8))
    np.testing.assert_allclose(pixel_to_grid(g, (4, 8)).numpy(), coords_grid(2, 3, 5).numpy(),
                               atol=1e-6)
    # (x, y) along dim 0: pixel (11.5, 1.5) at strides (y 4, x 8) is grid (1, 0)
    np.testing.assert_allclose(pixel_to_grid(torch.tensor([[11.5], [1.5]]), (4, 8), dim=0)
                               .numpy(), [[1.0], [0.0]])
    np.testing.assert_allclose(pixel_to_grid(torch.tensor([[11.5], [3.5]]), 8, dim=0).numpy(),
                               [[1.0], [0.0]])


def test_datasets_and_structures_import_nothing_from_models():
    """Layering (as MMDet's ``structures/``): geometry sits below data and models, and the data
    pipeline never reaches into ``mmdense.models``."""
    import ast
    from pathlib import Path

    import mmdense
    root = Path(mmdense.__file__).parent
    offenders = []
    for pkg in ('datasets', 'structures'):
        for path in sorted((root / pkg).rglob('*.py')):
            rel_pkg = path.relative_to(root).parts[:-1]
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom):
                    if node.level:  # resolve relative imports against the file's package
                        base = list(rel_pkg[:len(rel_pkg) - node.level + 1])
                        name = '.'.join(['mmdense'] + base + ([node.module] if node.module else []))
                    else:
                        name = node.module or ''
                    names = [name]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                else:
                    continue
                offenders += [f'{path.relative_to(root)}: {n}' for n in names
                              if n.startswith('mmdense.models')]
    assert not offenders, offenders
