"""The one registry of differentiable primitives.

A primitive is defined once: ``prim = primitive("exp", forward)`` then
``defvjp(prim, vjp_for_input0, vjp_for_input1, ...)`` right below it. The gradient checker
in the test suite walks ``REGISTRY`` so a new primitive without a test case fails CI.
"""
from __future__ import annotations

import numpy as np

from ..autodiff.tape import Primitive, apply
from ..autodiff.tensor import Tensor, convert_to_tensor

REGISTRY: dict[str, Primitive] = {}


class Variadic:
    """VJP table for ops taking any number of inputs (concat, add_n): ``vjps[i]``."""

    def __init__(self, make):
        self._make = make
        self._cache = {}

    def __len__(self):
        return 1 << 30

    def __getitem__(self, i):
        f = self._cache.get(i)
        if f is None:
            f = self._cache[i] = self._make(i)
        return f


def primitive(name: str, forward) -> Primitive:
    """Register a primitive under ``name``; attach its VJPs with ``defvjp``."""
    if name in REGISTRY:
        raise ValueError(f"primitive {name!r} is already registered")
    p = Primitive(name, forward)
    REGISTRY[name] = p
    return p


def defvjp(prim: Primitive, *vjps) -> None:
    """Attach VJPs, one per positional input (None marks a non-differentiable input)."""
    prim.vjps = vjps[0] if len(vjps) == 1 and isinstance(vjps[0], Variadic) else tuple(vjps)


def bind(prim: Primitive, *args, **attrs) -> Tensor:
    """Convert ``args`` to Tensors and apply ``prim``."""
    for a in args:
        if not isinstance(a, Tensor):
            args = tuple(a if isinstance(a, Tensor) else convert_to_tensor(a) for a in args)
            break
    return apply(prim, args, attrs)


def as_like(value, like: Tensor) -> Tensor:
    """Convert a non-Tensor operand to ``like``'s dtype without changing its meaning.

    Python scalars never upcast a float32 tensor. A float value is refused for an integer
    tensor rather than truncated.
    """
    if isinstance(value, Tensor):
        return value
    arr = np.asarray(value._value if isinstance(value, Tensor) else value)
    dt = like._value.dtype
    if arr.dtype == dt:
        return Tensor._wrap(arr)
    if dt.kind in "iu" and arr.dtype.kind == "f":
        raise TypeError(
            f"Cannot combine a {dt.name} tensor with the float value {value!r} without truncating it; "
            f"use tf.cast(tensor, tf.float32) first")
    if dt.kind == "b" and arr.dtype.kind != "b":
        raise TypeError(f"Cannot combine a bool tensor with {arr.dtype.name} value {value!r}")
    return Tensor._wrap(arr.astype(dt))


def binary_args(x, y, opname: str):
    """Two operands as Tensors of one dtype (TF refuses to mix tensor dtypes)."""
    xt, yt = isinstance(x, Tensor), isinstance(y, Tensor)
    if xt and yt:
        if x._value.dtype != y._value.dtype:
            raise TypeError(
                f"{opname}: cannot combine tensors of dtype {x.dtype.name} and {y.dtype.name}; "
                f"cast one with tf.cast(x, tf.{y.dtype.name})")
        return x, y
    if xt:
        return x, as_like(y, x)
    if yt:
        return as_like(x, y), y
    x = convert_to_tensor(x)
    return x, as_like(y, x)


def const(array, like: Tensor | None = None) -> Tensor:
    """A constant Tensor (never watched), optionally in ``like``'s dtype."""
    arr = np.asarray(array)
    if like is not None and arr.dtype != like._value.dtype:
        arr = arr.astype(like._value.dtype)
    return Tensor._wrap(arr)


def norm_axis(axis, ndim: int):
    """Normalize an axis argument to a sorted tuple of non-negative ints (None -> all)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, Tensor):
        axis = axis._value.tolist()
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor of rank {ndim}")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(set(out)))
