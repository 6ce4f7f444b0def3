"""TensorFlow 2's own initializer classes (``tf.constant_initializer``, ``tf.zeros_initializer``,
``tf.ones_initializer``, ``tf.random_normal_initializer``, ``tf.random_uniform_initializer``): TensorFlow's
``init_ops_v2`` classes, not Keras's. An instance is called as ``init(shape, dtype=tf.float32)`` and returns a
Tensor; ``get_config`` / ``from_config`` round-trip its arguments.

With a ``seed`` a random initializer returns the same values on every call (TensorFlow draws them statelessly
from the seed); without one each call draws anew from the global generator (``tf.random.set_seed``). The draws
follow the same distributions as TensorFlow's but not its Philox stream.

>>> import tapeflow as tf
>>> tf.constant_initializer([1, 2, 3, 4])((2, 2)).numpy().tolist()
[[1, 2], [3, 4]]
>>> tf.random_normal_initializer(stddev=0.1).get_config()
{'mean': 0.0, 'stddev': 0.1, 'seed': None}
"""
from __future__ import annotations

import numpy as np

from . import backend as B
from . import random as R
from .autodiff.tensor import Tensor

_PARTITION_KEYS = ("partition_shape", "partition_offset")


def _shape(shape) -> tuple:
    if isinstance(shape, Tensor):
        shape = shape._value.tolist()
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    if shape is None or any(d is None for d in shape):
        raise ValueError(f"initializer: shape must be fully known, got {shape!r}")
    return tuple(int(d) for d in shape)


def _call_shape(cls_name: str, shape, kwargs: dict, support_partition: bool = True) -> tuple:
    """TensorFlow's ``_validate_kwargs``: only the partition keywords, whose ``partition_shape`` replaces shape."""
    for k in kwargs:
        if k not in _PARTITION_KEYS:
            raise TypeError(f"Keyword argument should be one of {list(_PARTITION_KEYS)}. Received: {k}")
        if not support_partition:
            raise ValueError(f"{cls_name} initializer doesn't support partition-related arguments; drop {k}")
    part = kwargs.get("partition_shape")
    return _shape(part if part is not None else shape)


def _numeric(dtype, cls_name: str, kinds: str) -> np.dtype:
    """``dtype`` as a NumPy dtype if its kind is one of ``kinds`` ("f" float, "i" integer, "b" bool, "c" complex)."""
    d = B.as_dtype(dtype)
    kind = "f" if B.is_floating(d) else "i" if d.kind in "iu" else d.kind
    if kind not in kinds:
        if kinds == "f":
            raise ValueError(f"Argument `dtype` is expected to be floating point. Received: {d.name}. ({cls_name}: "
                             f"pass dtype=tf.float32 or another float dtype)")
        raise ValueError(f"Argument `dtype` expected to be numeric or boolean. Received {d.name}. ({cls_name}: "
                         f"pass a {'float or integer' if 'b' not in kinds else 'numeric'} dtype such as tf.float32)")
    return d


def _convert(v: np.ndarray, d: np.dtype, cls_name: str, arg: str) -> np.ndarray:
    """``v`` in dtype ``d`` as ``tf.constant(v, d)`` converts it: a float never truncates into an integer, and only
    booleans become booleans (TypeError otherwise)."""
    lossy = (d.kind in "iub" and v.dtype.kind == "f") or (d.kind == "b" and v.dtype.kind != "b") or d.kind in "OSU"
    if lossy:
        raise TypeError(f"Cannot convert {v.tolist()} to EagerTensor of dtype {d.name} ({cls_name}: {arg} does not "
                        f"fit the dtype; pass a matching dtype or value)")
    return v.astype(d)


class Initializer:
    """The base of TensorFlow's initializers: ``__call__(shape, dtype=None, **kwargs)`` and the config pair."""

    def __call__(self, shape, dtype=None, **kwargs) -> Tensor:
        raise NotImplementedError("Initializer subclasses implement __call__(shape, dtype=None, **kwargs)")

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config.pop("dtype", None)
        return cls(**config)


class Zeros(Initializer):
    """``tf.zeros_initializer()``: zeros of a numeric or bool dtype (default float32).

    >>> import tapeflow as tf
    >>> tf.zeros_initializer()((2,), tf.int32).numpy().tolist()
    [0, 0]
    """

    def __call__(self, shape, dtype="float32", **kwargs) -> Tensor:
        d = _numeric(dtype, "zeros_initializer", "fibc")
        return Tensor._wrap(np.zeros(_call_shape("Zeros", shape, kwargs), d))


class Ones(Initializer):
    """``tf.ones_initializer()``: ones of a numeric or bool dtype (default float32).

    >>> import tapeflow as tf
    >>> tf.ones_initializer()((2,), tf.bool).numpy().tolist()
    [True, True]
    """

    def __call__(self, shape, dtype="float32", **kwargs) -> Tensor:
        d = _numeric(dtype, "ones_initializer", "fibc")
        return Tensor._wrap(np.ones(_call_shape("Ones", shape, kwargs), d))


class Constant(Initializer):
    """``tf.constant_initializer(value=0)``: ``value`` (a scalar, filled in, or exactly ``prod(shape)`` values,
    reshaped); with ``dtype=None`` the dtype is ``value``'s as ``tf.constant`` converts it.

    >>> import tapeflow as tf
    >>> tf.constant_initializer(3.0)((2,)).numpy().tolist()
    [3.0, 3.0]
    """

    def __init__(self, value=0, support_partition=False):
        if not (np.isscalar(value) or isinstance(value, (list, tuple, np.ndarray, Tensor))):
            raise TypeError(f"Invalid type for initial value: {type(value).__name__}. Expected Python scalar, list "
                            f"or tuple of values, or numpy.ndarray.")
        self.value = value
        self.support_partition = support_partition

    def __call__(self, shape, dtype=None, **kwargs) -> Tensor:
        from .autodiff.tensor import constant
        shape = _call_shape("Constant", shape, kwargs, support_partition=self.support_partition)
        v = constant(self.value)._value
        if dtype is not None:
            v = _convert(v, B.as_dtype(dtype), "constant_initializer", "value")
        n = int(np.prod(shape, dtype=np.int64))
        if v.size != 1 and v.size != n:
            raise TypeError(f"Eager execution of tf.constant with unsupported shape. Value {v.tolist()} has {v.size} "
                            f"elements, but got `shape` {shape} with {n} elements; pass a scalar or exactly "
                            f"{n} values")
        out = np.full(shape, v.reshape(()), v.dtype) if v.size == 1 else v.reshape(shape).copy()
        return Tensor._wrap(out)

    def get_config(self) -> dict:
        return {"value": self.value}


class RandomNormal(Initializer):
    """``tf.random_normal_initializer(mean=0.0, stddev=0.05, seed=None)``: normal draws of a float dtype.

    >>> import tapeflow as tf
    >>> init = tf.random_normal_initializer(seed=3)
    >>> bool(tf.reduce_all(init((4,)) == init((4,))))
    True
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype="float32", **kwargs) -> Tensor:
        d = _numeric(dtype, "random_normal_initializer", "f")
        shape = _call_shape("RandomNormal", shape, kwargs)
        if self.seed is None:
            return R.normal(shape, self.mean, self.stddev, dtype=d)
        return R.stateless_normal(shape, [int(self.seed), 0], self.mean, self.stddev, dtype=d)

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """``tf.random_uniform_initializer(minval=-0.05, maxval=0.05, seed=None)``: uniform draws in
    ``[minval, maxval)`` of a float or integer dtype.

    >>> import tapeflow as tf
    >>> v = tf.random_uniform_initializer(0, 10)((100,), tf.int32).numpy()
    >>> bool(v.min() >= 0 and v.max() < 10)
    True
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype="float32", **kwargs) -> Tensor:
        d = _numeric(dtype, "random_uniform_initializer", "fi")
        shape = _call_shape("RandomUniform", shape, kwargs)
        lo, hi = self.minval, self.maxval
        if d.kind in "iu":
            lo = int(_convert(np.asarray(lo), d, "random_uniform_initializer", "minval"))
            hi = int(_convert(np.asarray(hi), d, "random_uniform_initializer", "maxval"))
        if self.seed is None:
            return R.uniform(shape, lo, hi, dtype=d)
        return R.stateless_uniform(shape, [int(self.seed), 0], lo, hi, dtype=d)

    def get_config(self) -> dict:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


constant_initializer, zeros_initializer, ones_initializer = Constant, Zeros, Ones
random_normal_initializer, random_uniform_initializer = RandomNormal, RandomUniform

__all__ = ["Initializer", "Constant", "Zeros", "Ones", "RandomNormal", "RandomUniform", "constant_initializer",
           "zeros_initializer", "ones_initializer", "random_normal_initializer", "random_uniform_initializer"]
