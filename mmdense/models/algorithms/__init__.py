from .flowe import FlowE

__all__ = ['FlowE']
