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


def test_feature_grid_puts_cell_j_on_pixel_stride_times_j():
    from mmdense.structures import feature_grid_coords
    g = feature_grid_coords(1, 2, 3, (4, 8))
    # x centres of 3 columns at stride 8: 0, 8, 16; y at stride 4: 0, 4
    np.testing.assert_allclose(g[0, 0, 0].numpy(), [0, 8, 16])
    np.testing.assert_allclose(g[0, 1, :, 0].numpy(), [0, 4])
    # a single stride is used for both axes
    np.testing.assert_allclose(feature_grid_coords(1, 1, 2, 8)[0, :, 0, 1].numpy(), [8, 0])


def _cell_centres(encoder, size=128, row=64):
    """Measured x centre (image px) of each cell of the middle row of ``encoder``'s output: with
    non-negative averaging weights and identity BN every layer is symmetric and monotone, so a
    cell responds most to a dot at its centre (the plateau of largest responses is averaged)."""
    import torch.nn as nn
    for m in encoder.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.constant_(m.weight, 1.0 / m.weight[0].numel())
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    encoder.eval()
    x = torch.zeros(size, 3, size, size)
    x[torch.arange(size), :, row, torch.arange(size)] = 1.0  # image p has a dot at (p, row)
    with torch.no_grad():
        out = encoder(x).abs().sum(1)  # (dot position, h, w)
    resp = out[:, out.shape[1] // 2].double()  # (dot position, cell)
    top = resp >= resp.max(0, keepdim=True).values * (1 - 1e-9)
    pos = torch.arange(size, dtype=torch.float64)[:, None]
    return size / out.shape[-1], (top * pos).sum(0) / top.sum(0)


def test_feature_grid_is_where_the_resnet_centres_its_cells():
    """Content: the encoder the correspondences are measured on (FlowE's dilated ResNet-18 at
    stride 8) centres cell j on pixel s * j, where feature_grid_coords says, not at the
    half-pixel convention's (j + 0.5) * s - 0.5 (3.5 px off at stride 8)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmdense  # noqa: F401
    from mmdense.registry import MODELS
    from mmdense.structures import feature_grid_coords
    init_default_scope('mmdense')
    cfg = Config.fromfile('configs/flowe/flowe_resnet18-d8_1xb8-300iters_demo-world.py')
    backbone = MODELS.build(cfg.model.backbone)

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone

        def forward(self, x):
            return self.backbone(x)[-1]

    stride, measured = _cell_centres(Encoder())
    grid = feature_grid_coords(1, 1, len(measured), stride, dtype=torch.float64)[0, 0, 0]
    cells = (grid >= 32) & (grid <= 96)  # away from the zero padding of the borders
    assert (measured - grid)[cells].abs().max() == 0, (measured, grid)


def test_upsample_cells_keeps_every_cell_on_its_pixel():
    from mmdense.structures import feature_grid_coords, upsample_cells
    for factor, (h, w) in ((2, (3, 5)), (4, (2, 3)), (8, (4, 4))):
        ramp = feature_grid_coords(2, h, w, 8.0, dtype=torch.float64)  # cell j holds pixel 8j
        up = upsample_cells(ramp, factor)
        assert up.shape == (2, 2, factor * h, factor * w)
        want = feature_grid_coords(2, factor * h, factor * w, 8.0 / factor, dtype=torch.float64)
        inside = (want <= 8.0 * (torch.tensor([w, h]).view(1, 2, 1, 1) - 1)).all(1, keepdim=True)
        torch.testing.assert_close(up * inside, want * inside)
        # past the last input cell: the last cell's value (a replicated border)
        torch.testing.assert_close(up[:, 0, :, -1], ramp[:, 0, :, -1].repeat_interleave(factor, 1))
    # a ResNet map of an input not divisible by its stride keeps its first rows
    ramp = feature_grid_coords(1, 4, 4, 32.0, dtype=torch.float64)
    torch.testing.assert_close(upsample_cells(ramp, 8, size=(25, 25))[..., :13, :13],
                               feature_grid_coords(1, 13, 13, 4.0, dtype=torch.float64))
    with pytest.raises(ValueError, match='cannot bring a 4x4 map to 33x33'):
        upsample_cells(ramp, 8, size=(33, 33))


def test_stride_ratio_is_the_resnet_stride_of_any_input_size():
    """A ResNet's stride-s map of an H-row input has ceil(H / s) rows; the ratio must come out
    as s for every H, also where round(H / h) does not (H = 20 at stride 8: 3 rows, 6.7; a
    hypercolumn's 10-row stride-4 grid from a 3-row stride-16 map: 3.3)."""
    from mmdense.structures import feature_grid_coords, stride_ratio, upsample_cells
    for H in range(1, 130):
        for s in (1, 2, 4, 8, 16, 32):
            h = -(-H // s)
            got = stride_ratio((h, -(-(H + 7) // s)), (H, H + 7))
            assert got == s or (h == 1 and got >= H), (H, s, got)  # one cell: any f >= H fits
    assert stride_ratio((3, 5), (20, 40)) == 8 and stride_ratio((3, 3), (10, 10)) == 4
    for shape, size in (((5, 5), (12, 12)), ((3, 3), (12, 48))):
        with pytest.raises(ValueError, match='not a power-of-two stride of 12x'):
            stride_ratio(shape, size)
    # upsample_cells infers it from the output size: a 3-row stride-8 map of a 20-row input
    ramp = feature_grid_coords(1, 3, 3, 8.0, dtype=torch.float64)
    torch.testing.assert_close(upsample_cells(ramp, size=(20, 20))[..., :17, :17],
                               feature_grid_coords(1, 17, 17, 1.0, dtype=torch.float64))
    with pytest.raises(ValueError, match='give the factor or the output size'):
        upsample_cells(ramp)


@pytest.mark.parametrize('config,size', [
    ('configs/vader/vader_resnet18-fpn_1xb8-300iters_demo-world.py', size) for size in (100, 40)
] + [('configs/hiergroup/hiergroup_resnet18-hypercolumn_1xb8-300iters_demo-world.py', size)
     for size in (100, 40, 24)])
def test_dense_necks_keep_every_cell_on_its_pixel(config, size):
    """Content: VADeR's FPN decoder and HierGroup's hypercolumn give cell i of their stride-4
    output the features of image pixel 4i, where feature_grid_coords (and so every
    correspondence) places it. Probe: each backbone stage's cell j holds its own pixel
    coordinate s * j in every channel, every conv passes its input's mean at the centre tap
    (no border effect) and the norms are identities; the output must then be one multiple of
    the pixel coordinate 4i, the same for every cell. MMDet's nearest top-down path and
    ``align_corners=False`` upsampling fail this (cells 1-7 px behind 4i), and so does a stride
    taken as round(H / h) on small inputs."""
    import torch.nn as nn
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmdense  # noqa: F401
    from mmdense.registry import MODELS
    from mmdense.structures import feature_grid_coords
    init_default_scope('mmdense')
    cfg = Config.fromfile(config)
    neck = MODELS.build(cfg.model.neck).eval()
    for m in neck.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.zeros_(m.weight)
            kh, kw = m.kernel_size
            m.weight.data[:, :, kh // 2, kw // 2] = 1.0 / m.in_channels
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        if isinstance(m, (nn.GroupNorm, nn.modules.batchnorm._BatchNorm)):
            m.forward = lambda x: x
    # none divisible by 32: the coarse maps' extra cells are cut; at 40 and 24 px the stride
    # of the hypercolumn's Res4 part is not round(H / h) (3.3 and 3; it crashed, then was 3)
    chans = cfg.model.neck.in_channels
    strides = (4, 8, 16, 32) if len(chans) == 4 else (8, 16)
    feats = []
    for c, s in zip(chans, strides):
        n = -(-size // s)  # a ResNet's ceil
        feats.append(feature_grid_coords(1, n, n, float(s))[:, :1].expand(1, c, n, n).clone())
    if len(chans) == 2:  # HierGroup reads (Res3, Res4) at in_index
        feats = [None] * min(neck.in_index) + feats
    with torch.no_grad():
        out = neck(feats)[0][0].mean(0)  # (h, w): a multiple of each cell's x = 4i
    x = feature_grid_coords(1, *out.shape, 4.0)[0, 0]
    inside = x <= 32 * (-(-size // 32) - 1) if len(chans) == 4 else x <= 16 * (-(-size // 16) - 1)
    assert (inside & (x > 0)).sum() >= 4
    ratio = out[inside & (x > 0)] / x[inside & (x > 0)]
    assert out.shape == (-(-size // 4),) * 2 or len(chans) == 2, out.shape
    torch.testing.assert_close(ratio, ratio.mean().expand_as(ratio), rtol=1e-5, atol=0)
    torch.testing.assert_close(out[:, 0], torch.zeros_like(out[:, 0]), atol=1e-5, rtol=0)


def test_pixel_to_grid_inverts_the_feature_grid():
    from mmdense.structures import coords_grid, feature_grid_coords, pixel_to_grid
    g = feature_grid_coords(2, 3, 5, (4, 8))
    np.testing.assert_allclose(pixel_to_grid(g, (4, 8)).numpy(), coords_grid(2, 3, 5).numpy(),
                               atol=1e-6)
    # (x, y) along dim 0: pixel (8, 2) at strides (y 4, x 8) is grid (1, 0.5)
    np.testing.assert_allclose(pixel_to_grid(torch.tensor([[8.], [2.]]), (4, 8), dim=0)
                               .numpy(), [[1.0], [0.5]])
    np.testing.assert_allclose(pixel_to_grid(torch.tensor([[8.], [0.]]), 8, dim=0).numpy(),
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


def test_losses_place_cells_on_their_stride_for_views_not_divisible_by_it():
    """Content: FlowE's warp, VADeR's matcher and HierGroup's region labels put feature cell j
    on view pixel s*j also for a view size that is not a multiple of the stride (a 100 px view:
    13 cells at stride 8, 25 or 26 at stride 4), so a flipped pair still pairs one scene point.
    A stride taken as H / h (7.7 at stride 8) pairs cells 4 px apart across a flip."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.structures import BaseDataElement

    from helpers import tiny_flowe
    from mmdense.models.algorithms.hiergroup import HierGroup
    from mmdense.registry import MODELS
    from mmdense.structures import feature_grid_coords
    H = W = 100
    eye = torch.eye(3, dtype=torch.float64)[None]
    flip = torch.tensor([[[-1., 0., W - 1], [0., 1., 0.], [0., 0., 1.]]], dtype=torch.float64)

    # FlowE, feature resolution: a stride-8 target holding each cell's own view-2 pixel
    flowe = tiny_flowe()
    target = feature_grid_coords(1, 13, 13, 8.0)
    warped, valid = flowe.warp_target(target, (H, W), eye.float(), flip.float(), None, None,
                                      (H, W))
    want = feature_grid_coords(1, 13, 13, 8.0)
    want[:, 0] = W - 1 - want[:, 0]  # cell j of view 1 is pixel 8j; view 2 shows it at 99 - 8j
    assert valid.sum() >= 100
    torch.testing.assert_close(warped * valid, want * valid, atol=1e-4, rtol=0)

    # VADeR's matcher on its stride-4 decoder grid (26 cells for a 102 px view)
    init_default_scope('mmdense')
    vader = MODELS.build(Config.fromfile(
        'configs/vader/vader_resnet18-fpn_1xb8-300iters_demo-world.py').model)
    size = 102
    flip[0, 0, 2] = size - 1
    ds = BaseDataElement(affine_v1=eye[0], affine_v2=flip[0], metainfo=dict(
        frame_shape=(size, size)))
    idx, coords = vader.match([ds], (size, size), (26, 26), torch.Generator().manual_seed(0))
    y, x = idx[0] // 26, idx[0] % 26
    torch.testing.assert_close(coords[0, 0, 0], (size - 1 - 4.0 * x.double()) / 4)
    torch.testing.assert_close(coords[0, 1, 0], y.double())

    # HierGroup's labels: cell i takes view pixel 4i (the last cell of a 26-cell grid of a
    # 100 px view lies past the edge and takes the last row), by the neck's stride or the ratio
    lab = torch.arange(H)[:, None] * 1000 + torch.arange(W)
    sample = BaseDataElement(ucm_labels_v1=lab)
    i = (torch.arange(26) * 4).clamp(max=H - 1)
    torch.testing.assert_close(torch.from_numpy(HierGroup._labels(sample, 0, (26, 26), 4)),
                               i[:, None] * 1000 + i)
    torch.testing.assert_close(torch.from_numpy(HierGroup._labels(sample, 0, (25, 25))),
                               i[:25, None] * 1000 + i[:25])
