from .masked_cosine import MaskedCosineLoss

__all__ = ['MaskedCosineLoss']
