"""FlowE: flow-equivariant dense BYOL.

Xiong, Ren, Zeng, Urtasun. *Self-Supervised Representation Learning from Flow Equivariance*,
ICCV 2021 (``shared/papers/flowe_flow_equivariance.txt``, Algorithm 1, sections 3.2-3.3).

Two frames ``I1, I2`` of a video with optical flow ``F`` (frame 1 -> 2) become two views
``v1 = A1(I1)``, ``v2 = A2(I2)`` by per-view random affines (plus colour distortion and blur).
The online network (encoder, 1x1-conv projector and predictor) on ``v1`` predicts, at every
pixel, the target network's projection of ``v2`` warped into ``v1`` by the composed transform
``T = A2 . F . A1^-1`` (bilinear sampling). The loss is BYOL's normalised squared distance averaged
over pixels that have a correspondence (eq. 5): pixels that leave frame 1 or view 2, and pixels
failing the forward-backward flow check (occlusions), are ignored. The target network is an EMA of
the online one with BYOL's cosine momentum schedule. The loss is symmetrised by default.

Table 3 ablations are config switches, not code forks:

* ``correspondence='flow'`` (full model) | ``'identity'`` (adjacent frames matched without flow,
  ``T = A2 . A1^-1``; with ``interval_frames=0`` in the data this is image-only BYOL on frames);
* ``pixel=False``: the non-pixel variant (global average pooling, BYOL's vector loss);
* no random affine: set the data pipeline's ``RandomAffineView`` ranges to identity.

Shapes (batch N, views H x W, frames Hf x Wf, backbone output h x w = H/8 x W/8 for a dilated
ResNet): ``inputs = [v1, v2]`` each (N, 3, H, W); data samples carry ``affine_v1``, ``affine_v2``
(3, 3) frame -> view, ``flow_fw`` / ``flow_bw`` (2, Hf, Wf) and optionally exact validity masks
``flow_valid_fw`` / ``flow_valid_bw`` (1, Hf, Wf); with an online flow network (``flow_net``,
the paper's setting) they carry ``frames`` (2, 3, Hf, Wf) uint8 RGB (the two cropped frames,
``KeepFlowFrames``) instead of flows.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.selfsup.base import BaseSelfSupervisor
from mmpretrain.models.utils import CosineEMA

from mmdense.registry import MODELS
from ...structures.geometry import (coords_grid, feature_grid_coords,
                                    forward_backward_consistency, pixel_to_grid, sample_at,
                                    stride_ratio, upsample_cells, view_correspondence)
from ..flow import RAFTFlow  # noqa: F401  (registers the flow network FlowE builds)


def _gather_locations(x, idx):
    """(N, C, h, w) map, flat indices into N x h x w -> (1, C, M, 1), a map whose M locations
    are the selected ones (so 1x1 convs and BN see exactly those)."""
    c = x.shape[1]
    return x.permute(1, 0, 2, 3).reshape(c, -1)[:, idx].view(1, c, -1, 1)


@MODELS.register_module()
class FlowE(BaseSelfSupervisor):
    """FlowE (see the module docstring).

    Args:
        backbone (dict): encoder, e.g. ResNet-50 with the last two stages dilated (stride 8).
        neck (dict): projector, e.g. ``DenseNonLinearNeck(2048, 4096, 256)``.
        predictor (dict): predictor, e.g. ``DenseNonLinearNeck(256, 4096, 256)``.
        loss (dict): loss module. Defaults to ``MaskedCosineLoss``.
        base_momentum (float): start of the EMA momentum (BYOL: 0.004 -> 0, cosine).
        correspondence (str): ``'flow'`` or ``'identity'`` (see module docstring).
        pixel (bool): dense loss (True) or the global-pooling variant (False).
        symmetric (bool): also predict view 1 from view 2 (BYOL's symmetrised loss).
        resolution (str): where the loss lives. ``'feature'`` (default): the composed transform
            is evaluated at the centres of the h x w feature grid and the target projection is
            sampled there, so flow and masks are brought down to feature resolution (cheap:
            h x w x C). ``'image'``: Algorithm 1, both maps are upsampled to H x W first (64x the
            locations at stride 8, and the memory of two (N, C, H, W) maps).
        occlusion (str): ``'fb_check'`` (forward-backward consistency, the paper), ``'given'``
            (use ``flow_valid_*`` from the data samples, e.g. the demo world's exact masks) or
            ``'none'``. In every mode a pixel whose flow leaves frame 2 is masked (it has no
            correspondence); only the occlusion test differs.
        fb_alpha (tuple): ``(alpha1, alpha2)`` of the forward-backward check.
        num_pixels (int, optional): when set (``resolution='feature'`` only), the loss of each
            direction is estimated on ``num_pixels x N`` locations drawn uniformly without
            replacement from the batch's valid locations, and the online projector and
            predictor run only there (they are per-pixel, so each sampled prediction is exactly
            the dense one, except that their BN statistics come from the sampled locations).
            The mean over the sample is an unbiased estimate of eq. 5's mean over valid
            locations; the target projection stays dense. None (default): every location.
        flow_net (dict | nn.Module, optional): a frozen flow network computing forward and
            backward flow of the cropped frames in the train step (Algorithm 1's
            ``flow = flownet(I1, I2)`` under ``no_grad``), e.g. ``dict(type='RAFTFlow',
            checkpoint=...)``; the data samples then carry ``frames`` instead of flows. It is
            held outside the module tree: no parameters in the optimizer, no SyncBN conversion,
            not in ``state_dict()`` / checkpoints, eval mode always; ``.to()`` / ``.cuda()``
            move it with the model. None: flows come from the data samples (cache, DIS in the
            workers, or exact flow).
    """

    def __init__(self, backbone, neck, predictor, loss=dict(type='MaskedCosineLoss'),
                 base_momentum=0.004, correspondence='flow', pixel=True, symmetric=True,
                 resolution='feature', occlusion='fb_check', fb_alpha=(0.01, 0.5),
                 num_pixels=None, flow_net=None, pretrained=None, data_preprocessor=None,
                 init_cfg=None):
        if correspondence not in ('flow', 'identity'):
            raise ValueError(f"correspondence must be 'flow' or 'identity', got {correspondence!r}")
        if resolution not in ('feature', 'image'):
            raise ValueError(f"resolution must be 'feature' or 'image', got {resolution!r}")
        if occlusion not in ('fb_check', 'given', 'none'):
            raise ValueError(f"occlusion must be 'fb_check', 'given' or 'none', got {occlusion!r}")
        if num_pixels is not None and (resolution != 'feature' or int(num_pixels) < 1):
            raise ValueError("num_pixels needs resolution='feature' and a positive count, got "
                             f'num_pixels={num_pixels!r}, resolution={resolution!r}')
        super().__init__(backbone=backbone, neck=neck, head=None, pretrained=pretrained,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.predictor = MODELS.build(predictor)
        self.loss_module = MODELS.build(loss)
        self.target_net = CosineEMA(nn.Sequential(self.backbone, self.neck),
                                    momentum=base_momentum)
        self.correspondence = correspondence
        self.pixel = pixel
        self.symmetric = symmetric
        self.resolution = resolution
        self.occlusion = occlusion
        self.fb_alpha = tuple(fb_alpha)
        self.num_pixels = None if num_pixels is None else int(num_pixels)
        net = None
        if flow_net is not None:
            net = flow_net if isinstance(flow_net, nn.Module) else MODELS.build(flow_net)
            net.requires_grad_(False)
            net.eval()
        # plain attribute, not a submodule: see ``flow_net`` in the class docstring
        object.__setattr__(self, '_flow_net', net)

    @property
    def flow_net(self):
        """The frozen flow network (or None), kept out of parameters() and state_dict()."""
        return self.__dict__.get('_flow_net')

    def _apply(self, fn, *args, **kwargs):
        """``.to()`` / ``.cuda()`` / ``.float()`` also move the (hidden) flow network."""
        super()._apply(fn, *args, **kwargs)
        if self.flow_net is not None:
            self.flow_net._apply(fn, *args, **kwargs)
        return self

    # ------------------------------------------------------------------ helpers
    def _online(self, img):
        """(N, 3, H, W) -> prediction (N, C, h, w)."""
        return self.predictor(self.neck(self.backbone(img)))[0]

    def _pixel_loss(self, view, target, valid, view_size):
        """Loss of one direction: online prediction of ``view`` (N, 3, H, W) against the warped
        target (N, C, h', w') at the valid (N, 1, h', w') locations."""
        if self.num_pixels is None:
            pred = self._online(view)
            if self.resolution == 'image':  # cell j stays on pixel s*j, as the target's
                pred = upsample_cells(pred, size=view_size)
            return self.loss_module(pred, target, valid)
        feats = self.backbone(view)
        feats = feats[getattr(self.neck, 'in_index', -1)]
        if feats.shape[-2:] != target.shape[-2:]:
            raise ValueError(f'backbone map {tuple(feats.shape)} and warped target '
                             f'{tuple(target.shape)} are on different grids')
        idx, weight = self._sample_locations(valid)
        pred = self.predictor(self.neck((_gather_locations(feats, idx), )))[0]
        return weight * self.loss_module(pred, _gather_locations(target, idx))

    def _sample_locations(self, valid):
        """Flat indices into (N x h x w) of up to ``num_pixels x N`` valid locations, drawn
        uniformly without replacement, and the loss weight (0 when none is valid)."""
        n = valid.shape[0]
        candidates = valid.flatten().nonzero().squeeze(1)
        if candidates.numel() == 0:  # keep a graph through every parameter, contribute 0
            return torch.zeros(2, dtype=torch.long, device=valid.device), 0.0
        k = self.num_pixels * n
        if candidates.numel() > k:
            candidates = candidates[torch.randperm(candidates.numel(),
                                                   device=valid.device)[:k]]
        return candidates, 1.0

    @staticmethod
    def _stack(data_samples, key):
        if not all(key in ds for ds in data_samples):
            raise KeyError(f'FlowE needs `{key}` in every data sample: put RandomAffineView / '
                           'FramePairToViews and LoadFlow (or ComputeFlow) in the pipeline and '
                           'pack with PackFlowInputs, or compute flow online with '
                           'model.flow_net and KeepFlowFrames')
        return torch.stack([ds.get(key) for ds in data_samples])

    def _online_flows(self, data_samples, device):
        """Forward / backward flow (N, 2, Hf, Wf) of the cropped frames by the frozen network."""
        if not all('frames' in ds for ds in data_samples):
            raise KeyError('model.flow_net computes flow online from the cropped frames, but the '
                           'data samples carry no `frames`: put KeepFlowFrames right after '
                           'PairRandomResizedCrop in the pipeline (and no LoadFlow/ComputeFlow), '
                           'or set model.flow_net=None to use flows from the data')
        frames = torch.stack([ds.get('frames') for ds in data_samples]).to(device)
        net = self.flow_net
        first = next(iter(net.parameters()), None)
        if first is not None and first.device != frames.device:
            net.to(frames.device)
        with torch.no_grad():
            net.eval()
            fw, bw = net.forward_backward(frames[:, 0], frames[:, 1])
        return fw.float(), bw.float()

    def _flow_and_validity(self, data_samples, device):
        """Flows and their validity for both directions (None for identity correspondence).

        Validity: the occlusion test of ``self.occlusion`` and, in every mode, the flow landing
        inside frame 2 (a point that leaves the frame has no correspondence)."""
        if self.correspondence == 'identity':
            return (None, None), (None, None)
        if self.flow_net is not None:
            fw, bw = self._online_flows(data_samples, device)
        else:
            fw = self._stack(data_samples, 'flow_fw').to(device).float()
            bw = self._stack(data_samples, 'flow_bw').to(device).float()
        for name, f in (('flow_fw', fw), ('flow_bw', bw)):
            if not torch.isfinite(f).all():
                bad = [ds.get('img_path', '?') for ds, ok in
                       zip(data_samples, torch.isfinite(f).flatten(1).all(1)) if not ok]
                source = ('the flow network returned them' if self.flow_net is not None else
                          'the flow cache is corrupt; recompute it with '
                          'tools/flow/compute_flow.py')
                raise ValueError(f'{name} holds NaN/Inf for {bad}: {source}')
        in_fw, in_bw = self._lands_in_frame(fw), self._lands_in_frame(bw)
        if self.occlusion == 'fb_check':
            v_fw = forward_backward_consistency(fw, bw, *self.fb_alpha) & in_fw
            v_bw = forward_backward_consistency(bw, fw, *self.fb_alpha) & in_bw
        elif self.occlusion == 'given':
            v_fw = (self._stack(data_samples, 'flow_valid_fw').to(device) > 0) & in_fw
            v_bw = (self._stack(data_samples, 'flow_valid_bw').to(device) > 0) & in_bw
        else:
            v_fw, v_bw = in_fw, in_bw
        if self.occlusion != 'given':
            # masks that came with the cached flow (a KITTI PNG's valid channel) or mark the
            # crop's padding (PairRandomResizedCrop; with online flow, the only source)
            for i, ds in enumerate(data_samples):
                for v, key in ((v_fw, 'flow_valid_fw'), (v_bw, 'flow_valid_bw')):
                    if key in ds:
                        v[i] &= ds.get(key).to(device) > 0
        return (fw, bw), (v_fw, v_bw)

    @staticmethod
    def _lands_in_frame(flow):
        """(N, 1, H, W) bool: ``p + flow(p)`` lies inside the (H, W) frame it points into."""
        n, _, h, w = flow.shape
        x, y = (coords_grid(n, h, w, device=flow.device, dtype=flow.dtype) + flow).unbind(1)
        return ((x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)).unsqueeze(1)

    def warp_target(self, target, view_size, affine_src, affine_tgt, flow, flow_valid,
                    frame_size):
        """Warp target features of the other view onto the source view's grid.

        Args:
            target (Tensor): (N, C, h, w) target projection of the target view.
            view_size (tuple): (H, W) of both views.
            affine_src, affine_tgt (Tensor): (N, 3, 3) frame -> view affines.
            flow (Tensor | None): (N, 2, Hf, Wf) source frame -> target frame.
            flow_valid (Tensor | None): (N, 1, Hf, Wf) bool.
            frame_size (tuple): (Hf, Wf) of the frames.

        Returns:
            tuple: warped target (N, C, h', w') and valid (N, 1, h', w'), on the feature grid
            (``resolution='feature'``) or at view resolution (``'image'``).
        """
        n, _, h, w = target.shape
        H, W = view_size
        if self.resolution == 'feature':  # cell j on pixel s*j, s a power of two
            stride_y = stride_x = float(stride_ratio((h, w), (H, W)))
            query = feature_grid_coords(n, h, w, (stride_y, stride_x), device=target.device)
        else:  # (upsample_cells keeps cell j on pixel s*j; align_corners=False: (s-1)/2 px off)
            target = upsample_cells(target, size=(H, W))
            stride_y = stride_x = 1.0
            query = coords_grid(n, H, W, device=target.device)
        coords, valid = view_correspondence(query, affine_src, affine_tgt, flow, flow_valid,
                                            tgt_size=(H, W), frame_size=frame_size)
        # target-view pixels -> target feature-grid coordinates
        warped, inside = sample_at(target, pixel_to_grid(coords, (stride_y, stride_x)))
        return warped, valid & inside

    # ------------------------------------------------------------------ training
    def loss(self, inputs, data_samples, **kwargs):
        """Args: inputs ``[v1, v2]`` (N, 3, H, W) each; data samples as in the module doc.

        Returns:
            dict: ``loss`` and ``valid_ratio`` (fraction of locations with a correspondence).
        """
        v1, v2 = inputs
        view_size = v1.shape[-2:]
        if not self.pixel:
            return self._global_loss(v1, v2)
        device = v1.device
        a1 = self._stack(data_samples, 'affine_v1').to(device).float()
        a2 = self._stack(data_samples, 'affine_v2').to(device).float()
        (fw, bw), (valid_fw, valid_bw) = self._flow_and_validity(data_samples, device)
        frame_size = fw.shape[-2:] if fw is not None else tuple(
            data_samples[0].get('frame_shape', view_size))

        with torch.no_grad():
            self.target_net.update_parameters(nn.Sequential(self.backbone, self.neck))
            z2 = self.target_net(v2)[0]
            z2_w, valid1 = self.warp_target(z2, view_size, a1, a2, fw, valid_fw, frame_size)
        loss = self._pixel_loss(v1, z2_w, valid1, view_size)
        ratio = valid1.float().mean()
        if self.symmetric:
            with torch.no_grad():
                z1 = self.target_net(v1)[0]
                z1_w, valid2 = self.warp_target(z1, view_size, a2, a1, bw, valid_bw, frame_size)
            loss = loss + self._pixel_loss(v2, z1_w, valid2, view_size)
            ratio = (ratio + valid2.float().mean()) / 2
        return dict(loss=loss, valid_ratio=ratio.detach())

    def _global_loss(self, v1, v2):
        """Non-pixel variant (Table 3): global average pooling right after the encoder, then
        the same projector / predictor on (N, C, 1, 1) maps, i.e. plain BYOL on frames."""
        def pool(feats):
            return tuple(F.adaptive_avg_pool2d(f, 1) for f in feats)

        target_backbone, target_neck = self.target_net.module
        p1 = self.predictor(self.neck(pool(self.backbone(v1))))[0]
        with torch.no_grad():
            self.target_net.update_parameters(nn.Sequential(self.backbone, self.neck))
            z2 = target_neck(pool(target_backbone(v2)))[0]
        loss = self.loss_module(p1, z2)
        if self.symmetric:
            p2 = self.predictor(self.neck(pool(self.backbone(v2))))[0]
            with torch.no_grad():
                z1 = target_neck(pool(target_backbone(v1)))[0]
            loss = loss + self.loss_module(p2, z1)
        return dict(loss=loss)
