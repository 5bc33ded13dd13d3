from .checkpoint import AtomicLocalBackend, atomic_write_bytes, register_safe_globals
from .env import check_environment, environment_problems
from .logs import quiet_init_logs

__all__ = ['AtomicLocalBackend', 'atomic_write_bytes', 'register_safe_globals',
           'check_environment', 'environment_problems', 'quiet_init_logs']
