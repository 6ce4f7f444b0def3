"""``tf.slice`` and ``tf.strided_slice``: TensorFlow's slice specs (``strided_slice``'s five mask bit fields)
turned into one NumPy index, read through the differentiable ``getitem`` primitive (its VJP scatters the gradient
back into the read positions). Errors are TensorFlow's: a shrink index out of range, a zero stride, two ellipses.

>>> import tapeflow as tf
>>> x = tf.reshape(tf.range(12), (3, 4))
>>> tf.strided_slice(x, [0, 3], [3, 0], [2, -1]).numpy().tolist()
[[3, 2, 1], [11, 10, 9]]
"""
from __future__ import annotations

import builtins

import numpy as np

from ..autodiff.tensor import Tensor, convert_to_tensor
from ..errors import InvalidArgumentError
from . import array_ops as A
from .tf_extra_ops import _int_vector, _np

# ``slice`` is a TensorFlow name defined below: the builtins are reached through these aliases only.
_py_slice, _py_tuple = builtins.slice, builtins.tuple


# -- slicing ----------------------------------------------------------------------------------------------------
def _slice(input_, begin, size, name=None) -> Tensor:
    """The block of ``input_`` starting at ``begin`` with extent ``size`` (-1: to the end of the axis).
    Differentiable (the gradient is zero outside the block).

    >>> import tapeflow as tf
    >>> t = tf.constant([[[1, 1, 1], [2, 2, 2]], [[3, 3, 3], [4, 4, 4]], [[5, 5, 5], [6, 6, 6]]])
    >>> tf.slice(t, [1, 0, 0], [1, 2, 3]).numpy().tolist()
    [[[3, 3, 3], [4, 4, 4]]]
    """
    t = convert_to_tensor(input_)
    shape = t._value.shape
    b = _int_vector(begin, "slice: begin").reshape(-1)
    s = _int_vector(size, "slice: size").reshape(-1)
    if b.size != len(shape) or s.size != len(shape):
        raise InvalidArgumentError(message=f"slice: begin and size must have one entry per axis of input "
                                           f"(rank {len(shape)}), got {b.tolist()} and {s.tolist()}")
    key = []
    for i, (lo, n, dim) in enumerate(zip(b.tolist(), s.tolist(), shape)):
        n = dim - lo if n == -1 else n
        if not 0 <= lo <= dim or not 0 <= n <= dim - lo:
            raise InvalidArgumentError(message=f"slice: expected begin[{i}] in [0, {dim}] and size[{i}] in "
                                               f"[0, {dim} - begin[{i}]] (or -1) for input shape {shape}, got "
                                               f"begin {b.tolist()} and size {s.tolist()}")
        key.append(_py_slice(lo, lo + n))
    return A.getitem(t, _py_tuple(key))


def _bits(mask, what: str) -> int:
    m = int(_np(mask))
    if m < 0:
        raise ValueError(f"strided_slice: {what} must be a non-negative bit mask, got {m}")
    return m


def _strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0,
                   shrink_axis_mask=0, var=None, name=None) -> Tensor:
    """``input_[begin:end:strides]`` written as TensorFlow's index spec: bit i of ``begin_mask`` / ``end_mask``
    ignores ``begin[i]`` / ``end[i]`` (the full range), of ``ellipsis_mask`` makes entry i ``...``, of
    ``new_axis_mask`` inserts an axis of size 1, of ``shrink_axis_mask`` takes the single index ``begin[i]`` and
    drops the axis. Differentiable (the gradient scatters back into the read positions).

    >>> import tapeflow as tf
    >>> t = tf.reshape(tf.range(24), (2, 3, 4))
    >>> tf.strided_slice(t, [1, 0], [2, 3], [1, 2], shrink_axis_mask=1).numpy().tolist()
    [[12, 13, 14, 15], [20, 21, 22, 23]]
    >>> tf.strided_slice(t, [0, 0, -1], [0, 0, 0], [1, 1, 1], ellipsis_mask=2, new_axis_mask=1,
    ...                  shrink_axis_mask=4).shape.as_list()
    [1, 2, 3]
    """
    t = convert_to_tensor(input_)
    b = _int_vector(begin, "strided_slice: begin").reshape(-1)
    e = _int_vector(end, "strided_slice: end").reshape(-1)
    s = np.ones_like(b) if strides is None else _int_vector(strides, "strided_slice: strides").reshape(-1)
    if not b.size == e.size == s.size:
        raise ValueError(f"strided_slice: begin, end and strides must have the same length, got {b.tolist()}, "
                         f"{e.tolist()} and {s.tolist()}")
    bm, em, elm, nam, sam = (_bits(m, w) for m, w in ((begin_mask, "begin_mask"), (end_mask, "end_mask"),
                                                      (ellipsis_mask, "ellipsis_mask"),
                                                      (new_axis_mask, "new_axis_mask"),
                                                      (shrink_axis_mask, "shrink_axis_mask")))
    if bin(elm & ((1 << b.size) - 1)).count("1") > 1:
        raise InvalidArgumentError(message=f"strided_slice: multiple ellipses in slice spec not allowed (at most "
                                           f"one bit of ellipsis_mask may be set, got {elm:#b})")
    shape, ndim = t._value.shape, t._value.ndim
    ellipsis_at = next((i for i in range(b.size) if elm >> i & 1), None)
    # the input axis each spec entry addresses (new axes and the ellipsis address none)
    after = sum(1 for i in range(b.size) if ellipsis_at is not None and i > ellipsis_at and not nam >> i & 1)
    before = sum(1 for i in range(ellipsis_at if ellipsis_at is not None else b.size) if not nam >> i & 1)
    if before + after > ndim:
        raise ValueError(f"strided_slice: the spec indexes {before + after} axes but input has rank {ndim} "
                         f"(shape {shape}); shorten begin/end/strides or set new_axis_mask bits")
    key, axis = [], 0
    for i in range(b.size):
        if elm >> i & 1:
            key.append(Ellipsis)
            axis = ndim - after
        elif nam >> i & 1:
            key.append(None)
        else:
            dim, stride = shape[axis], int(s[i])
            if stride == 0:
                raise InvalidArgumentError(message=f"strided_slice: strides[{i}] must be non-zero, got "
                                                   f"{s.tolist()}")
            if sam >> i & 1:
                if stride < 0:
                    raise InvalidArgumentError(message=f"strided_slice: only stride 1 allowed on non-range "
                                                       f"indexing (shrink_axis_mask bit {i}, strides[{i}] = {stride})")
                j = int(b[i]) + dim if b[i] < 0 else int(b[i])
                if not 0 <= j < dim:
                    raise InvalidArgumentError(message=f"strided_slice: slice index {int(b[i])} of dimension {i} "
                                                       f"out of bounds (size {dim})")
                key.append(j)
            else:
                key.append(_py_slice(None if bm >> i & 1 else int(b[i]), None if em >> i & 1 else int(e[i]), stride))
            axis += 1
    return A.getitem(t, _py_tuple(key))


slice = _slice  # noqa: A001 - TensorFlow's names
strided_slice = _strided_slice

__all__ = ["slice", "strided_slice"]
