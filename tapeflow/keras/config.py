"""``keras.config``: the global settings (float type, epsilon, image data format, dtype policy, safe
deserialization, logging, the training caps ``max_epochs`` / ``max_steps_per_epoch``).

>>> from tapeflow import keras
>>> keras.config.floatx(), keras.config.image_data_format(), keras.config.backend()
('float32', 'channels_last', 'numpy')
"""
from __future__ import annotations

from .backend import (backend, epsilon, floatx, image_data_format, set_epsilon, set_floatx,  # noqa: F401
                      set_image_data_format)

_STATE = {"unsafe": False, "interactive": True, "flash": None, "max_epochs": None, "max_steps": None}


def set_backend(backend_name) -> None:
    """Only the NumPy engine exists here."""
    if backend_name not in ("numpy", "tensorflow"):
        raise ValueError(f"set_backend: tapeflow runs on NumPy only, got backend {backend_name!r}")


def dtype_policy():
    from .mixed_precision import global_policy
    return global_policy()


def set_dtype_policy(policy) -> None:
    from .mixed_precision import set_global_policy
    set_global_policy(policy)


def enable_unsafe_deserialization() -> None:
    """Allow ``Lambda`` layers' bytecode when loading models (``safe_mode=False`` everywhere)."""
    _STATE["unsafe"] = True


def enable_interactive_logging() -> None:
    _STATE["interactive"] = True


def disable_interactive_logging() -> None:
    _STATE["interactive"] = False


def is_interactive_logging_enabled() -> bool:
    return _STATE["interactive"]


def enable_flash_attention() -> None:
    """Accepted for compatibility: attention is computed in full."""
    _STATE["flash"] = True


def disable_flash_attention() -> None:
    _STATE["flash"] = False


def is_flash_attention_enabled():
    return _STATE["flash"]


def enable_traceback_filtering() -> None:
    """Accepted for compatibility."""


def disable_traceback_filtering() -> None:
    """Accepted for compatibility."""


def is_traceback_filtering_enabled() -> bool:
    return False


def is_nnx_enabled() -> bool:
    return False


def set_max_epochs(max_epochs) -> None:
    """Cap the epochs of every ``fit`` (None: no cap), as Keras's ``KERAS_MAX_EPOCHS``."""
    _STATE["max_epochs"] = None if max_epochs is None else int(max_epochs)


def max_epochs():
    return _STATE["max_epochs"]


def set_max_steps_per_epoch(max_steps_per_epoch) -> None:
    """Cap the steps of every epoch (None: no cap), as Keras's ``KERAS_MAX_STEPS_PER_EPOCH``."""
    _STATE["max_steps"] = None if max_steps_per_epoch is None else int(max_steps_per_epoch)


def max_steps_per_epoch():
    return _STATE["max_steps"]
