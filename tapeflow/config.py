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


def run_functions_eagerly(run_eagerly: bool) -> None:
    """Accepted for compatibility: tapeflow always runs eagerly."""
    return None
