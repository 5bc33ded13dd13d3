from .readout import ConvReadoutHead

__all__ = ['ConvReadoutHead']
