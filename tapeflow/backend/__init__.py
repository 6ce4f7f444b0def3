"""The array namespace and dtypes.

Everything above this package reaches NumPy through ``tapeflow.backend`` so that a
CuPy-shaped backend could replace it. Dtypes are NumPy dtype objects: ``tapeflow.float32
== "float32"`` and ``tapeflow.float32 == np.float32`` both hold.
"""
from __future__ import annotations

import numpy as np

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")
string = np.dtype("object")

_FLOATX = "float32"


def floatx() -> str:
    """The default float dtype name (``"float32"``), as ``keras.backend.floatx()``."""
    return _FLOATX


def set_floatx(name: str) -> None:
    """Set the default float dtype name; one of float16, float32, float64."""
    global _FLOATX
    if name not in ("float16", "float32", "float64"):
        raise ValueError(f"set_floatx: expected 'float16', 'float32' or 'float64', got {name!r}")
    _FLOATX = name


def as_dtype(dtype) -> np.dtype:
    """Turn a dtype spelling (``"float32"``, ``np.float32``, ``tf.float32``) into a NumPy dtype.

    >>> as_dtype("float32") == np.float32
    True
    """
    if dtype is None:
        return np.dtype(_FLOATX)
    if isinstance(dtype, np.dtype):
        return dtype
    if dtype == "string" or dtype is str or dtype is bytes:  # Keras's string inputs (lookup layers): tf.string
        return string
    if dtype == "bfloat16":
        try:
            import ml_dtypes  # optional, only for mixed precision
        except ImportError as e:  # pragma: no cover - depends on environment
            raise TypeError("bfloat16 needs the optional package ml_dtypes: pip install ml_dtypes") from e
        return np.dtype(ml_dtypes.bfloat16)
    try:
        return np.dtype(getattr(dtype, "as_numpy_dtype", dtype))
    except TypeError as e:
        raise TypeError(f"Unknown dtype {dtype!r}; expected e.g. 'float32', 'int32', 'bool'") from e


def is_floating(dtype) -> bool:
    """True for float16/32/64 (and bfloat16)."""
    d = dtype if isinstance(dtype, np.dtype) else as_dtype(dtype)
    return d.kind == "f" or (d.kind == "V" and d.name == "bfloat16")
