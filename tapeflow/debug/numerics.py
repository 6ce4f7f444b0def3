"""Stop at the first op that makes a NaN or an Inf, as ``tf.debugging.enable_check_numerics``.

While enabled, every primitive's output (forward) and every gradient the backward walk computes
is checked with ``np.isfinite``; the first non-finite one raises ``CheckNumericsError`` naming the
primitive and the Keras layer(s) being called at that moment (``"model/dense_1"``). The layer
path is read from the Python stack only when an error is raised, so Layer.__call__ pays nothing.

Disabled (the default), the engine pays one global ``is None`` check per op.
"""
from __future__ import annotations

import sys

import numpy as np

from ..autodiff import tape as _tape


class CheckNumericsError(FloatingPointError):
    """An op produced NaN or Inf while ``enable_check_numerics`` was on.

    Attributes: ``op`` (primitive name), ``layer`` (innermost layer name or None), ``layer_path``,
    ``backward`` (True when the bad value was a gradient).
    """

    def __init__(self, message, op=None, layer_path=(), backward=False):
        super().__init__(message)
        self.op = op
        self.layer_path = tuple(layer_path)
        self.layer = self.layer_path[-1] if self.layer_path else None
        self.backward = backward


def _layer_path() -> list:
    """Names of the layers whose ``__call__`` is on the stack, outermost first."""
    base = sys.modules.get("tapeflow.keras.layers.base")
    if base is None:
        return []
    code = base.Layer.__call__.__code__
    names = []
    f = sys._getframe(1)
    while f is not None:
        if f.f_code is code:
            obj = f.f_locals.get("self")
            name = getattr(obj, "name", None)
            if name:
                names.append(str(name))
        f = f.f_back
    return names[::-1]


def _check(prim, value: np.ndarray, backward: bool) -> None:
    if value.dtype.kind not in "fc" and value.dtype.name != "bfloat16":
        return
    if np.isfinite(value).all():
        return
    n_nan = int(np.isnan(value).sum())
    n_inf = int(value.size - n_nan - np.isfinite(value).sum())
    path = _layer_path()
    where = f" in layer '{'/'.join(path)}'" if path else " (outside any Keras layer)"
    what = f"the gradient computed by op '{prim.name}'" if backward else f"op '{prim.name}'"
    raise CheckNumericsError(
        f"check_numerics: {what}{where} produced {n_nan} NaN and {n_inf} Inf value(s) in an output of "
        f"shape {value.shape} and dtype {value.dtype.name}. Look for log/sqrt/division of zero or negative "
        "numbers, an exploding learning rate, or float16 overflow.",
        op=prim.name, layer_path=path, backward=backward)


def enable_check_numerics(stack_height_limit: int = 30, path_length_limit: int = 50) -> None:
    """Raise ``CheckNumericsError`` at the first op (forward or gradient) that yields NaN/Inf.

    The two arguments exist for ``tf.debugging`` compatibility and are ignored.

    >>> import tapeflow as tf
    >>> tf.debug.enable_check_numerics()
    >>> try:
    ...     tf.math.log(tf.constant([-1.0]))
    ... except tf.debug.CheckNumericsError as e:
    ...     print(e.op)
    log
    >>> tf.debug.disable_check_numerics()
    """
    _tape._numerics = _check


def disable_check_numerics() -> None:
    """Turn the check off again (the engine's per-op cost returns to one ``is None`` test)."""
    _tape._numerics = None


def is_check_numerics_enabled() -> bool:
    """Whether ``enable_check_numerics`` is in effect."""
    return _tape._numerics is not None


class check_numerics_scope:
    """Context manager: check numerics inside the ``with`` block only.

    >>> import tapeflow as tf
    >>> with tf.debug.check_numerics_scope():
    ...     _ = tf.sqrt(tf.constant([4.0]))
    """

    def __enter__(self):
        self._prev = _tape._numerics
        _tape._numerics = _check
        return self

    def __exit__(self, *exc):
        _tape._numerics = self._prev
        return False
