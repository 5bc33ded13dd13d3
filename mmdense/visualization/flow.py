"""Optical-flow pictures."""
import cv2
import numpy as np


def flow_to_color(flow, max_mag=None):
    """(H, W, 2) flow -> (H, W, 3) RGB uint8 with the colour-wheel code: hue = direction,
    saturation = magnitude / ``max_mag`` (default: the maximum magnitude), value = 1."""
    mag, ang = cv2.cartToPolar(flow[..., 0].astype(np.float32), flow[..., 1].astype(np.float32))
    scale = max_mag if max_mag else max(float(mag.max()), 1e-6)
    hsv = np.zeros(flow.shape[:2] + (3, ), np.uint8)
    hsv[..., 0] = (ang * 180 / np.pi / 2).astype(np.uint8)
    hsv[..., 1] = np.clip(mag / scale * 255, 0, 255).astype(np.uint8)
    hsv[..., 2] = 255
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
