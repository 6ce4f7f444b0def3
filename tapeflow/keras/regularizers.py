"""``keras.regularizers``: weight penalties added to ``model.losses`` (Keras 3 names and defaults).

A regularizer is a callable ``penalty(weight) -> scalar Tensor`` built from differentiable ops,
so the penalty's gradient reaches the weight under a ``GradientTape``.

>>> import tapeflow as tf
>>> from tapeflow.keras import regularizers
>>> float(regularizers.l2(0.5)(tf.constant([1.0, 2.0])))
2.5
"""
from __future__ import annotations

from ..autodiff.tensor import Tensor, convert_to_tensor
from ..ops import array_ops as A
from ..ops import math_ops as M
from ..ops import reduce_ops as R
from ._serialization import deserialize_keras_object, serialize_keras_object


def _check_factor(name: str, value) -> float:
    value = float(value)
    if not (0 <= value < float("inf")):
        raise ValueError(f"{name} must be a finite non-negative number, got {value}")
    return value


class Regularizer:
    """Base class: ``__call__(x) -> scalar`` and ``get_config``."""

    def __call__(self, x):
        return 0.0

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1(Regularizer):
    """``l1 * sum(|x|)`` (Keras 3 default ``l1=0.01``)."""

    def __init__(self, l1=0.01):
        self.l1 = _check_factor("L1: l1", l1)

    def __call__(self, x):
        x = x if isinstance(x, Tensor) else convert_to_tensor(x)
        return M.multiply(R.reduce_sum(M.abs(x)), self.l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x ** 2)`` (Keras 3 default ``l2=0.01``).

    >>> import tapeflow as tf
    >>> round(float(L2()(tf.constant([3.0]))), 6)
    0.09
    """

    def __init__(self, l2=0.01):
        self.l2 = _check_factor("L2: l2", l2)

    def __call__(self, x):
        x = x if isinstance(x, Tensor) else convert_to_tensor(x)
        return M.multiply(R.reduce_sum(M.square(x)), self.l2)

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x ** 2)`` (Keras 3 defaults 0.0 and 0.0)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _check_factor("L1L2: l1", l1)
        self.l2 = _check_factor("L1L2: l2", l2)

    def __call__(self, x):
        x = x if isinstance(x, Tensor) else convert_to_tensor(x)
        out = M.multiply(R.reduce_sum(M.abs(x)), self.l1)
        if self.l2:
            out = M.add(out, M.multiply(R.reduce_sum(M.square(x)), self.l2))
        return out

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (``mode="rows"``) or columns of a 2-D weight toward orthonormality.

    The penalty is ``factor * mean(|offdiag(W_n W_n^T)|)`` with ``W_n`` the L2-normalized rows.
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _check_factor("OrthogonalRegularizer: factor", factor)
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer: mode must be 'rows' or 'columns', got {mode!r}")
        self.mode = mode

    def __call__(self, x):
        from ..ops import nn_ops
        x = x if isinstance(x, Tensor) else convert_to_tensor(x)
        if x.ndim != 2:
            raise ValueError(f"OrthogonalRegularizer: needs a 2-D weight, got shape {tuple(x.shape)}")
        if self.mode == "columns":
            x = A.transpose(x)
        xn = nn_ops.l2_normalize(x, axis=1)
        prod = M.matmul(xn, A.transpose(xn))
        n = x.shape[0]
        off = M.multiply(prod, 1.0 - A.eye(n, dtype=x.dtype)._value)  # only off-diagonal products count
        size = max(n * n - n, 1)
        return M.multiply(M.divide(R.reduce_sum(M.abs(off)), float(size)), self.factor)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

_MODULE_OBJECTS = {"L1": L1, "L2": L2, "L1L2": L1L2, "OrthogonalRegularizer": OrthogonalRegularizer,
                   "l1": L1, "l2": L2, "l1_l2": L1L2, "orthogonal_regularizer": OrthogonalRegularizer}


def serialize(regularizer):
    return serialize_keras_object(regularizer, module="keras.regularizers")


def deserialize(config, custom_objects=None):
    return deserialize_keras_object(config, _MODULE_OBJECTS, custom_objects, kind="regularizer")


def get(identifier):
    """A regularizer from a name (``"l2"``), a config dict, an instance or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")
