"""``keras.ops`` for custom and forward-mode gradients (``custom_gradient``, ``jvp``) and complex views
(``polar``, ``view_as_complex``, ``view_as_real``; constants: tapeflow has no complex autodiff).

>>> import numpy as np, tapeflow as tf
>>> from tapeflow.keras import ops
>>> ops.view_as_real(np.array([1 + 2j, 3 - 1j], np.complex64)).numpy().tolist()
[[1.0, 2.0], [3.0, -1.0]]
>>> out, tangent = ops.jvp(ops.sin, (tf.constant(0.0),), (tf.constant(2.0),))
>>> float(tangent)
2.0
"""
from __future__ import annotations

import numpy as np

from ...autodiff.custom import custom_gradient
from ...autodiff.forward import jvp
from ...autodiff.tensor import Tensor

__all__ = ["custom_gradient", "jvp", "polar", "view_as_complex", "view_as_real"]


def _array(x) -> np.ndarray:
    return x._value if isinstance(x, Tensor) else np.asarray(x)


def _complex_for(dtype) -> np.dtype:
    return np.dtype(np.complex128 if np.dtype(dtype) == np.float64 else np.complex64)


def polar(abs_, angle):
    """``abs_ * (cos(angle) + i sin(angle))``: complex64 (complex128 from float64 inputs)."""
    r, a = _array(abs_), _array(angle)
    dt = np.result_type(r.dtype if r.dtype.kind == "f" else np.float32, a.dtype if a.dtype.kind == "f" else np.float32)
    return Tensor._wrap((r * np.exp(1j * a)).astype(_complex_for(dt)))


def view_as_real(x):
    """A complex tensor as real numbers with a last axis of 2: ``[..., (real, imag)]``."""
    v = _array(x)
    if v.dtype.kind != "c":
        raise ValueError(f"view_as_real expects a complex tensor, got dtype {v.dtype}; use ops.stack([x, "
                         "zeros_like(x)], axis=-1) for a real one")
    return Tensor._wrap(np.stack([v.real, v.imag], axis=-1))


def view_as_complex(x):
    """The inverse of ``view_as_real``: a last axis of size 2 read as ``(real, imag)``."""
    v = _array(x)
    if v.ndim == 0 or v.shape[-1] != 2:
        raise ValueError(f"Last dimension of input must be size 2 (real and imaginary). Received shape: {v.shape}")
    v = v if v.dtype.kind == "f" else v.astype(np.float32)
    return Tensor._wrap((v[..., 0] + 1j * v[..., 1]).astype(_complex_for(v.dtype)))
