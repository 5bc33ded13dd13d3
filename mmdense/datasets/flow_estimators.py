"""Optical-flow estimators for the flow cache and the online ``ComputeFlow`` transform.

* ``dis_medium`` (default), ``dis_fast``, ``dis_ultrafast``: OpenCV's DIS (no weights needed;
  measured here: ~30 ms for a 512x1024 pair on 2 threads, sub-pixel on moderate motion).
* ``farneback``: OpenCV's Farneback (fails on large motion).
* ``raft``: torchvision's RAFT-large with a weights file the user supplies
  (``raft:/path/raft_large_C_T_SKHT_V2-ff5fadd5.pth``); nothing is downloaded.

Each estimator maps two BGR uint8 frames (H, W, 3) to a flow (H, W, 2) float32 from the first
to the second.
"""
import cv2
import numpy as np

DIS_PRESETS = {
    'dis_ultrafast': cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    'dis_fast': cv2.DISOPTICAL_FLOW_PRESET_FAST,
    'dis_medium': cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


class DISFlow:
    """OpenCV DIS optical flow (one instance per process; cheap to build)."""

    def __init__(self, preset='dis_medium'):
        self.preset = preset
        self._dis = None

    def __call__(self, a, b):
        if self._dis is None:
            self._dis = cv2.DISOpticalFlow_create(DIS_PRESETS[self.preset])
        ga = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY)
        gb = cv2.cvtColor(b, cv2.COLOR_BGR2GRAY)
        return self._dis.calc(ga, gb, None).astype(np.float32)

    def __getstate__(self):
        return dict(preset=self.preset, _dis=None)


class FarnebackFlow:
    """OpenCV Farneback optical flow."""

    def __call__(self, a, b):
        ga = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY)
        gb = cv2.cvtColor(b, cv2.COLOR_BGR2GRAY)
        return cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 5, 15, 3, 5, 1.2,
                                            0).astype(np.float32)


class RAFTFlow:
    """torchvision RAFT-large loaded from a local weights file (never downloaded)."""

    def __init__(self, weights, device='cpu', num_flow_updates=12):
        import os.path as osp

        import torch
        from torchvision.models.optical_flow import raft_large
        if not weights or not osp.isfile(weights):
            raise FileNotFoundError(f'RAFT weights file {weights!r} not found: pass the path of '
                                    "torchvision's raft_large state dict as 'raft:/path/file.pth'")
        self.model = raft_large(weights=None, progress=False)
        state = torch.load(weights, map_location='cpu', weights_only=True)
        self.model.load_state_dict(state)
        self.model.eval().to(device)
        self.device = device
        self.num_flow_updates = num_flow_updates

    def __call__(self, a, b):
        import torch
        import torch.nn.functional as F
        h, w = a.shape[:2]
        ph, pw = (-h) % 8, (-w) % 8

        def prep(img):
            t = torch.from_numpy(np.ascontiguousarray(img[..., ::-1])).permute(2, 0, 1)
            t = t.float()[None] / 127.5 - 1
            return F.pad(t, (0, pw, 0, ph), mode='replicate').to(self.device)

        with torch.no_grad():
            flow = self.model(prep(a), prep(b), num_flow_updates=self.num_flow_updates)[-1]
        return flow[0, :, :h, :w].permute(1, 2, 0).cpu().numpy().astype(np.float32)


def build_flow_estimator(method):
    """``'dis_medium'`` / ``'dis_fast'`` / ``'dis_ultrafast'`` / ``'farneback'`` /
    ``'raft:/path/weights.pth'``."""
    if method in DIS_PRESETS:
        return DISFlow(method)
    if method == 'farneback':
        return FarnebackFlow()
    if method.startswith('raft'):
        return RAFTFlow(method.partition(':')[2])
    raise ValueError(f'unknown flow method {method!r}: choose from {sorted(DIS_PRESETS)}, '
                     "'farneback' or 'raft:/path/to/weights.pth'")


def endpoint_error(flow, gt, valid=None):
    """Mean end-point error between (H, W, 2) flows over ``valid`` pixels."""
    err = np.linalg.norm(flow - gt, axis=-1)
    return float(err[valid].mean() if valid is not None else err.mean())
