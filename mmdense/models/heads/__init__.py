from .readout import ConvReadoutHead, DepthReadoutHead

__all__ = ['ConvReadoutHead', 'DepthReadoutHead']
