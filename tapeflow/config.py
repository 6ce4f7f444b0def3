"""``tf.config``: determinism switch and thread settings (CPU only)."""
from __future__ import annotations


class _Experimental:
    _deterministic = False

    def enable_op_determinism(self) -> None:
        """Deterministic ops. NumPy's CPU kernels are already deterministic; this records the
        request so parallel data maps keep a fixed order."""
        _Experimental._deterministic = True

    def disable_op_determinism(self) -> None:
        _Experimental._deterministic = False

    def is_op_determinism_enabled(self) -> bool:
        return _Experimental._deterministic

    def list_physical_devices(self, device_type=None):
        return list_physical_devices(device_type)

    def set_memory_growth(self, device, enable) -> None:
        return None


experimental = _Experimental()


class PhysicalDevice(tuple):
    @property
    def name(self):
        return self[0]

    @property
    def device_type(self):
        return self[1]


def list_physical_devices(device_type=None):
    """Only the CPU exists for this NumPy engine."""
    cpu = PhysicalDevice(("/physical_device:CPU:0", "CPU"))
    return [cpu] if device_type in (None, "CPU") else []


def list_logical_devices(device_type=None):
    return list_physical_devices(device_type)


_EAGER = [False]


def run_functions_eagerly(run_eagerly: bool) -> None:
    """As ``tf.config.run_functions_eagerly``: True makes ``fit`` run every step eagerly, never
    replaying a traced step (see ``tapeflow/keras/traced_step.py``).

    >>> import tapeflow as tf
    >>> tf.config.run_functions_eagerly(True); tf.config.functions_run_eagerly()
    True
    >>> tf.config.run_functions_eagerly(False)
    """
    _EAGER[0] = bool(run_eagerly)


def functions_run_eagerly() -> bool:
    """Whether ``run_functions_eagerly(True)`` is in effect."""
    return _EAGER[0]


class _Threading:
    """``tf.config.threading``: tapeflow's own threads.

    Intra-op: chunked elementwise work (optimizer updates); default 1 (why: ``tapeflow/backend/threads.py``).
    Inter-op: batch shards of a large traced training step run at once (``keras/sharded_step.py``);
    default 0, every usable core. Matmuls otherwise use BLAS's own threads (``OPENBLAS_NUM_THREADS``).

    >>> import tapeflow as tf
    >>> tf.config.threading.set_intra_op_parallelism_threads(1)
    >>> tf.config.threading.get_intra_op_parallelism_threads()
    1
    >>> tf.config.threading.set_intra_op_parallelism_threads(0)  # back to the default
    """

    @staticmethod
    def set_intra_op_parallelism_threads(num_threads: int) -> None:
        from .backend import threads
        threads.set_intra_op_threads(num_threads)

    @staticmethod
    def get_intra_op_parallelism_threads() -> int:
        from .backend import threads
        return threads._requested

    @staticmethod
    def set_inter_op_parallelism_threads(num_threads: int) -> None:
        """Threads ``fit`` may run the batch shards of a large traced step on (0: every core; 1: never shard)."""
        from .backend import threads
        threads.set_inter_op_threads(num_threads)

    @staticmethod
    def get_inter_op_parallelism_threads() -> int:
        from .backend import threads
        return threads._inter_requested


threading = _Threading()
