from .rng_state import RNGStateHook, get_rng_state, install, set_rng_state

__all__ = ['RNGStateHook', 'get_rng_state', 'set_rng_state', 'install']
