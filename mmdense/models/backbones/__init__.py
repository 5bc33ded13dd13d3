from .readout_resnet import ReadoutResNet

__all__ = ['ReadoutResNet']
