"""``keras.backend``: global Keras settings (float type, epsilon, image layout) and name counters.

>>> from tapeflow.keras import backend
>>> backend.floatx(), backend.epsilon(), backend.image_data_format()
('float32', 1e-07, 'channels_last')
"""
from __future__ import annotations

import re

from .. import backend as _B

_EPSILON = [1e-7]
_IMAGE_DATA_FORMAT = ["channels_last"]
_UIDS: dict[str, int] = {}


def floatx() -> str:
    """The default float dtype name, ``"float32"`` unless changed with ``set_floatx``."""
    return _B.floatx()


def set_floatx(value: str) -> None:
    """Set the default float dtype for new layers and weights (float16, float32 or float64)."""
    _B.set_floatx(value)


def epsilon() -> float:
    """The fuzz factor used in numeric expressions (1e-7)."""
    return _EPSILON[0]


def set_epsilon(value: float) -> None:
    _EPSILON[0] = float(value)


def image_data_format() -> str:
    """``"channels_last"`` (the only layout tapeflow's conv layers are tuned for) or ``"channels_first"``."""
    return _IMAGE_DATA_FORMAT[0]


def set_image_data_format(data_format: str) -> None:
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"set_image_data_format: expected 'channels_last' or 'channels_first', got {data_format!r}")
    _IMAGE_DATA_FORMAT[0] = data_format


def standardize_data_format(data_format) -> str:
    if data_format is None:
        return image_data_format()
    data_format = str(data_format).lower()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return data_format


def get_uid(prefix: str = "") -> int:
    """Per-prefix counter: 1, 2, 3... (used for unique layer names)."""
    _UIDS[prefix] = _UIDS.get(prefix, 0) + 1
    return _UIDS[prefix]


def unique_object_name(prefix: str) -> str:
    """``prefix`` the first time, then ``prefix_1``, ``prefix_2``..., as Keras names layers."""
    n = get_uid(prefix)
    return prefix if n == 1 else f"{prefix}_{n - 1}"


def to_snake_case(name: str) -> str:
    """``"GlobalAveragePooling2D"`` -> ``"global_average_pooling2d"``."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()
    return s[1:] if s.startswith("_") else s


def clear_session(free_memory: bool = True) -> None:
    """Reset layer-name counters (the next Dense is named ``dense`` again)."""
    _UIDS.clear()


def backend() -> str:
    return "numpy"


def __getattr__(name):
    """tf.keras 2's backend functions (``K.mean``, ``K.random_normal``, ``K.int_shape``...), loaded on first use."""
    import importlib
    legacy = importlib.import_module(".ops.legacy_backend", __package__)
    if name in legacy.NAMES:
        value = getattr(legacy, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tapeflow.keras.backend' has no attribute {name!r}")
