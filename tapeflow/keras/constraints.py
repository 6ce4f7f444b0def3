"""``keras.constraints``: projections applied to a weight after each optimizer update.

A layer stores the constraint on its Variable (``variable.constraint``); the optimizer assigns
``constraint(variable)`` back after updating it.

>>> import tapeflow as tf
>>> from tapeflow.keras import constraints
>>> constraints.NonNeg()(tf.constant([-1.0, 2.0])).numpy().tolist()
[0.0, 2.0]
"""
from __future__ import annotations

from ..autodiff.tensor import Tensor, convert_to_tensor
from ..ops import array_ops as A
from ..ops import math_ops as M
from ..ops import reduce_ops as R
from ._serialization import deserialize_keras_object, serialize_keras_object

_EPS = 1e-7


def _t(w):
    return w if isinstance(w, Tensor) else convert_to_tensor(w)


def _norms(w, axis):
    return M.sqrt(R.reduce_sum(M.square(w), axis=axis, keepdims=True))


class Constraint:
    """Base class: ``__call__(w) -> projected w`` and ``get_config``."""

    def __call__(self, w):
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MaxNorm(Constraint):
    """Rescale slices along ``axis`` whose L2 norm exceeds ``max_value`` (Keras default 2).

    >>> import tapeflow as tf
    >>> [round(v, 3) for v in MaxNorm(1.0)(tf.constant([[3.0], [4.0]])).numpy().ravel().tolist()]
    [0.6, 0.8]
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        w = _t(w)
        norms = _norms(w, self.axis)
        desired = A.clip_by_value(norms, 0.0, float(self.max_value))
        return M.multiply(w, M.divide(desired, M.add(norms, _EPS)))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Zero out negative entries."""

    def __call__(self, w):
        w = _t(w)
        return M.maximum(w, 0.0)


class UnitNorm(Constraint):
    """Scale slices along ``axis`` to unit L2 norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = _t(w)
        return M.divide(w, M.add(_norms(w, self.axis), _EPS))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Move slice norms toward ``[min_value, max_value]`` at ``rate`` (1.0 = project exactly)."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        w = _t(w)
        norms = _norms(w, self.axis)
        clipped = A.clip_by_value(norms, float(self.min_value), float(self.max_value))
        desired = M.add(M.multiply(clipped, float(self.rate)), M.multiply(norms, 1.0 - float(self.rate)))
        return M.multiply(w, M.divide(desired, M.add(norms, _EPS)))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

_MODULE_OBJECTS = {"MaxNorm": MaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm, "MinMaxNorm": MinMaxNorm,
                   "max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm}


def serialize(constraint):
    return serialize_keras_object(constraint, module="keras.constraints")


def deserialize(config, custom_objects=None):
    return deserialize_keras_object(config, _MODULE_OBJECTS, custom_objects, kind="constraint")


def get(identifier):
    """A constraint from a name (``"non_neg"``), a config dict, an instance or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret constraint identifier: {identifier!r}")
