from .readout_resnet import DetReadoutResNet, ReadoutResLayer, ReadoutResNet

__all__ = ['ReadoutResNet', 'DetReadoutResNet', 'ReadoutResLayer']
