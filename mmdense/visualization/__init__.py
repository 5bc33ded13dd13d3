from .flow import flow_to_color

__all__ = ['flow_to_color']
