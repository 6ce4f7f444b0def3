"""``tf.bitwise``: elementwise bit operations on integer tensors (int8..int64, uint8..uint64), broadcasting.

The shifts follow TensorFlow's kernels: the shift count is clamped to ``[0, bits - 1]`` (a negative count shifts
by 0, a count of the width or more by ``bits - 1``), a signed left shift works on the two's-complement bits
(overflow wraps), and a signed right shift is arithmetic (the sign bit is copied in). Both operands have one
dtype; a Python number or list takes the other operand's dtype (ints alone are int32). No gradients (as TF).

>>> import tapeflow as tf
>>> x = tf.constant([1, -1, 5, -128], tf.int8)
>>> tf.bitwise.left_shift(x, tf.constant([0, 3, 7, 9], tf.int8)).numpy().tolist()
[1, -8, -128, 0]
>>> tf.bitwise.right_shift(x, tf.constant([0, 3, 7, 9], tf.int8)).numpy().tolist()
[1, -1, 0, -1]
"""
from __future__ import annotations

import numpy as np

from .autodiff.tensor import Tensor, convert_to_tensor
from .errors import InvalidArgumentError

__all__ = ["bitwise_and", "bitwise_or", "bitwise_xor", "invert", "left_shift", "right_shift"]

_ALLOWED = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


def _typed(x) -> bool:
    return isinstance(x, (Tensor, np.ndarray, np.generic))


def _array(x, who: str, arg: str, dtype=None) -> np.ndarray:
    if dtype is not None and not _typed(x):
        arr = np.asarray(x)
        if arr.dtype.kind not in "iu" or not np.array_equal(arr.astype(dtype), arr):
            raise InvalidArgumentError(None, None, f"tf.bitwise.{who}: {arg}={x!r} cannot be converted to "
                                                   f"{dtype.name} (the other operand's dtype)")
        return arr.astype(dtype)
    arr = convert_to_tensor(x)._value if not isinstance(x, Tensor) else x._value
    if arr.dtype.name not in _ALLOWED:
        raise InvalidArgumentError(None, None, f"tf.bitwise.{who}: {arg} has dtype {arr.dtype}, expected one of "
                                               f"{', '.join(_ALLOWED)}; cast it with tf.cast")
    return arr


def _operands(x, y, who: str) -> tuple:
    if _typed(x) or not _typed(y):
        a = _array(x, who, "x")
        b = _array(y, who, "y", a.dtype)
    else:
        b = _array(y, who, "y")
        a = _array(x, who, "x", b.dtype)
    if a.dtype != b.dtype:
        raise InvalidArgumentError(None, None, f"tf.bitwise.{who}: x is {a.dtype.name} but y is {b.dtype.name}; both "
                                               "operands need one dtype (cast one with tf.cast)")
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise InvalidArgumentError(None, None, f"tf.bitwise.{who}: incompatible shapes {list(a.shape)} vs "
                                               f"{list(b.shape)} (they must broadcast)") from None
    return a, b


def _wrap(a) -> Tensor:
    return Tensor._wrap(np.asarray(a))


def bitwise_and(x, y, name=None) -> Tensor:
    """``x & y`` elementwise.

    >>> import tapeflow as tf
    >>> tf.bitwise.bitwise_and([12, 10], [10, 6]).numpy().tolist()
    [8, 2]
    """
    a, b = _operands(x, y, "bitwise_and")
    return _wrap(np.bitwise_and(a, b))


def bitwise_or(x, y, name=None) -> Tensor:
    """``x | y`` elementwise.

    >>> import tapeflow as tf
    >>> tf.bitwise.bitwise_or([12, 10], [10, 6]).numpy().tolist()
    [14, 14]
    """
    a, b = _operands(x, y, "bitwise_or")
    return _wrap(np.bitwise_or(a, b))


def bitwise_xor(x, y, name=None) -> Tensor:
    """``x ^ y`` elementwise.

    >>> import tapeflow as tf
    >>> tf.bitwise.bitwise_xor([12, 10], [10, 6]).numpy().tolist()
    [6, 12]
    """
    a, b = _operands(x, y, "bitwise_xor")
    return _wrap(np.bitwise_xor(a, b))


def invert(x, name=None) -> Tensor:
    """``~x`` elementwise (every bit flipped).

    >>> import tapeflow as tf
    >>> tf.bitwise.invert(tf.constant([0, 5], tf.uint8)).numpy().tolist()
    [255, 250]
    """
    return _wrap(np.invert(_array(x, "invert", "x")))


def _counts(a: np.ndarray, b: np.ndarray) -> tuple:
    bits = a.dtype.itemsize * 8
    unsigned = np.dtype(f"uint{bits}")
    return unsigned, np.clip(b.astype(np.int64) if b.dtype.kind == "i" else np.minimum(b, bits - 1).astype(np.int64),
                             0, bits - 1).astype(unsigned)


def left_shift(x, y, name=None) -> Tensor:
    """``x << y`` elementwise, ``y`` clamped to ``[0, bits - 1]``; signed values shift as their bits.

    >>> import tapeflow as tf
    >>> tf.bitwise.left_shift(tf.constant([1, 255], tf.uint8), tf.constant([1, 8], tf.uint8)).numpy().tolist()
    [2, 128]
    """
    a, b = _operands(x, y, "left_shift")
    unsigned, s = _counts(a, b)
    return _wrap(np.left_shift(a.astype(unsigned), s).astype(a.dtype))


def right_shift(x, y, name=None) -> Tensor:
    """``x >> y`` elementwise, ``y`` clamped to ``[0, bits - 1]``; arithmetic for signed types.

    >>> import tapeflow as tf
    >>> tf.bitwise.right_shift(tf.constant([-3, 12], tf.int64), tf.constant([100, 2], tf.int64)).numpy().tolist()
    [-1, 3]
    """
    a, b = _operands(x, y, "right_shift")
    _, s = _counts(a, b)
    return _wrap(np.right_shift(a, s.astype(a.dtype)))
