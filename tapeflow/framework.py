"""TensorFlow's framework pieces that an eager NumPy engine keeps as plain Python: ``tf.Module``, name scopes,
``tf.device``/``control_dependencies``/``init_scope`` (no-op contexts), dtypes (``tf.DType``, ``tf.as_dtype``),
assertions, ``tf.get_static_value``, ``tf.ensure_shape``, ``tf.identity_n``/``shape_n`` and a few arithmetic
spellings (``tf.realdiv``, ``tf.truncatediv``, ``tf.truncatemod``, ``tf.scalar_mul``, ``tf.saturate_cast``).

>>> import tapeflow as tf
>>> class Affine(tf.Module):
...     def __init__(self):
...         super().__init__()
...         self.w, self.b = tf.Variable([[2.0]]), tf.Variable([1.0])
...     def __call__(self, x):
...         return tf.matmul(x, self.w) + self.b
>>> m = Affine()
>>> m(tf.constant([[3.0]])).numpy().tolist(), len(m.trainable_variables)
([[7.0]], 2)
"""
from __future__ import annotations

import contextlib
import enum
import re

import numpy as np

from . import backend as B
from .autodiff.tensor import Tensor, Variable, convert_to_tensor
from .ops import array_ops as A
from .ops import math_ops as M

_SCOPES: list = []


def _walk(obj, seen: set):
    """Variables and Modules reachable from ``obj``'s attributes (lists, tuples, dicts and Keras layers too)."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, Variable):
        yield obj
        return
    if isinstance(obj, Module):
        yield obj
        items = [v for k, v in sorted(vars(obj).items()) if not k.startswith("_Module__")]
    elif isinstance(obj, dict):
        items = list(obj.values())
    elif isinstance(obj, (list, tuple)):
        items = list(obj)
    elif hasattr(obj, "weights") and hasattr(obj, "trainable_weights"):   # a Keras layer
        yield from (w for w in obj.weights if id(w) not in seen and not seen.add(id(w)))
        return
    else:
        return
    for item in items:
        yield from _walk(item, seen)


class Module:
    """A container of variables and sub-modules, as ``tf.Module``: ``variables``, ``trainable_variables`` and
    ``submodules`` are found by walking the attributes (lists, tuples and dicts too); ``name_scope`` is a
    context named after the module."""

    def __init__(self, name=None):
        if name is None:
            name = re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", name):
            raise ValueError(f"Module: {name!r} is not a valid module name (letters, digits, _ . -)")
        self.__name = name

    @property
    def name(self) -> str:
        return self.__name

    @property
    def name_scope(self):
        return name_scope(self.__name)

    def _flatten(self):
        return [x for x in _walk(self, set()) if x is not self]

    @property
    def variables(self) -> tuple:
        return tuple(x for x in self._flatten() if isinstance(x, Variable))

    @property
    def trainable_variables(self) -> tuple:
        return tuple(v for v in self.variables if v.trainable)

    @property
    def non_trainable_variables(self) -> tuple:
        return tuple(v for v in self.variables if not v.trainable)

    @property
    def submodules(self) -> tuple:
        return tuple(x for x in self._flatten() if isinstance(x, Module))

    @classmethod
    def with_name_scope(cls, method):
        """Decorate a method to run inside the module's name scope."""
        def wrapped(self, *args, **kwargs):
            with self.name_scope:
                return method(self, *args, **kwargs)
        wrapped.__name__, wrapped.__doc__ = method.__name__, method.__doc__
        return wrapped


class name_scope:  # noqa: N801 - TF's name
    """A context naming what is created inside it ``outer/inner/...`` (``tf.get_current_name_scope()``)."""

    def __init__(self, name, *args, **kwargs):
        self.name = str(name)

    def __enter__(self) -> str:
        _SCOPES.append(self.name)
        return "/".join(_SCOPES) + "/"

    def __exit__(self, *exc):
        _SCOPES.pop()
        return False


def get_current_name_scope() -> str:
    return "/".join(_SCOPES)


def device(device_name):
    """A no-op context: everything runs on the CPU through NumPy."""
    return contextlib.nullcontext()


def control_dependencies(control_inputs):
    """A no-op context: eager ops already run in program order."""
    return contextlib.nullcontext()


def init_scope():
    return contextlib.nullcontext()


def no_op(name=None) -> None:
    return None


def group(*inputs, **kwargs) -> None:
    return None


def inside_function() -> bool:
    return False


def is_symbolic_tensor(tensor) -> bool:
    return False


def no_gradient(op_type) -> None:
    """Accepted for compatibility: tapeflow's primitives declare their own (missing) gradients."""


class UnconnectedGradients(enum.Enum):
    NONE = "none"
    ZERO = "zero"


class AggregationMethod:
    ADD_N = 0
    DEFAULT = ADD_N
    EXPERIMENTAL_TREE = 1
    EXPERIMENTAL_ACCUMULATE_N = 2


class DType:
    """A dtype as ``tf.DType``: ``name``, ``as_numpy_dtype``, ``is_floating``/``is_integer``/``is_bool``, ``size``,
    ``min``/``max``; compares equal to NumPy dtypes and names of the same type."""

    def __init__(self, dtype):
        self._np = np.dtype(dtype)

    name = property(lambda self: "string" if self._np == object else self._np.name)
    as_numpy_dtype = property(lambda self: self._np.type)
    is_floating = property(lambda self: self._np.kind == "f")
    is_integer = property(lambda self: self._np.kind in "iu")
    is_unsigned = property(lambda self: self._np.kind == "u")
    is_bool = property(lambda self: self._np.kind == "b")
    is_complex = property(lambda self: self._np.kind == "c")
    size = property(lambda self: self._np.itemsize)

    @property
    def min(self):
        return np.finfo(self._np).min if self.is_floating else np.iinfo(self._np).min

    @property
    def max(self):
        return np.finfo(self._np).max if self.is_floating else np.iinfo(self._np).max

    def __eq__(self, other):
        try:
            return self._np == np.dtype(getattr(other, "_np", other))
        except TypeError:
            return False

    def __hash__(self):
        return hash(self._np)

    def __repr__(self):
        return f"tf.{self.name}"


def as_dtype(type_value) -> DType:
    """``tf.as_dtype``: a ``DType`` from a name, a NumPy dtype or a DType."""
    if isinstance(type_value, DType):
        return type_value
    return DType(B.as_dtype(type_value))


def get_static_value(tensor, partial=False):
    """The NumPy value of ``tensor`` (always known when running eagerly)."""
    return np.asarray(getattr(tensor, "_value", tensor))


def ensure_shape(x, shape, name=None) -> Tensor:
    """``x`` unchanged after checking its shape against ``shape`` (None entries match any size)."""
    t = convert_to_tensor(x)
    if shape is None:
        return t
    want = [None if d is None else int(d) for d in shape]
    got = t._value.shape
    if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want, got)):
        raise ValueError(f"ensure_shape: shape of tensor {got} is not compatible with expected shape {tuple(want)}")
    return t


def identity_n(input, name=None) -> list:  # noqa: A002
    return [A.identity(x) for x in input]


def shape_n(input, out_type="int32", name=None) -> list:  # noqa: A002
    return [A.shape(x, out_type=out_type) for x in input]


def _assert(ok: bool, message, data, what: str) -> None:
    if not ok:
        from .errors import InvalidArgumentError      # a ValueError too
        shown = "; ".join(str(np.asarray(getattr(d, "_value", d))) for d in (data or []))
        raise InvalidArgumentError(None, None, f"{message or what}" + (f": {shown}" if shown else ""))


def Assert(condition, data, summarize=None, name=None) -> None:  # noqa: N802 - TF's name
    """Raise ``tf.errors.InvalidArgumentError`` (a ValueError) showing ``data`` when ``condition`` is False."""
    _assert(bool(np.all(np.asarray(getattr(condition, "_value", condition)))), "assertion failed", data, "Assert")


def _compare(fn, words):
    def check(x, y, message=None, summarize=None, name=None) -> None:
        a, b = (np.asarray(getattr(v, "_value", v)) for v in (x, y))
        _assert(bool(np.all(fn(a, b))), message, [a, b], f"condition x {words} y did not hold")
    return check


assert_equal = _compare(np.equal, "==")
assert_greater = _compare(np.greater, ">")
assert_less = _compare(np.less, "<")


def assert_rank(x, rank, message=None, name=None) -> None:
    got = np.ndim(getattr(x, "_value", x))
    _assert(got == int(rank), message, None, f"assert_rank: expected rank {int(rank)}, got rank {got}")


def realdiv(x, y, name=None) -> Tensor:
    return M.divide(x, y)


def truncatediv(x, y, name=None) -> Tensor:
    """Integer division rounding towards zero (C semantics), for integer tensors."""
    a, b = (np.asarray(getattr(v, "_value", v)) for v in (x, y))
    return Tensor._wrap((np.sign(a) * np.sign(b) * (np.abs(a) // np.abs(b))).astype(np.result_type(a, b)))


def truncatemod(x, y, name=None) -> Tensor:
    """The remainder whose sign follows ``x`` (``np.fmod``)."""
    a, b = (np.asarray(getattr(v, "_value", v)) for v in (x, y))
    return Tensor._wrap(np.fmod(a, b))


def scalar_mul(scalar, x, name=None) -> Tensor:
    return M.multiply(scalar, x)


def saturate_cast(value, dtype, name=None) -> Tensor:
    """Cast to ``dtype``, first clipping values to the part of its range the input's dtype can hold (float32 into
    int32 clips at 2147483520, the largest float32 below 2**31, as TensorFlow)."""
    t = convert_to_tensor(value)
    target = np.dtype(B.as_dtype(dtype) if isinstance(dtype, str) else getattr(dtype, "_np", dtype))
    src = t._value.dtype
    if target.kind in "iu" or (target.kind == "f" and target.itemsize < src.itemsize):
        info = np.iinfo(target) if target.kind in "iu" else np.finfo(target)
        lo, hi = np.asarray(info.min).astype(src), np.asarray(info.max).astype(src)
        if src.kind == "f" and float(hi) > float(info.max):
            hi = np.nextafter(hi, np.asarray(-np.inf, src))
        t = A.clip_by_value(t, lo, hi)
    return A.cast(t, target.name)


__all__ = ["Module", "name_scope", "get_current_name_scope", "device", "control_dependencies", "init_scope", "no_op",
           "group", "inside_function", "is_symbolic_tensor", "no_gradient", "UnconnectedGradients",
           "AggregationMethod", "DType", "as_dtype", "get_static_value", "ensure_shape", "identity_n", "shape_n",
           "Assert", "assert_equal", "assert_greater", "assert_less", "assert_rank", "realdiv", "truncatediv",
           "truncatemod", "scalar_mul", "saturate_cast"]
