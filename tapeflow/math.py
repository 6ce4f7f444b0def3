"""``tf.math``: elementwise math, reductions, confusion_matrix, and (``math_more.py``) the special functions,
safe products and segment reductions."""
from __future__ import annotations

import numpy as np

from .autodiff.tensor import Tensor, convert_to_tensor
from .ops.array_ops import argmax, argmin, cumsum  # noqa: F401
from .ops.math_ops import (abs, add, add_n, ceil, cos, divide, divide_no_nan, equal, erf, exp,  # noqa: F401
                           expm1, floor, floordiv, floormod, greater, greater_equal, is_finite, is_inf,
                           is_nan, less, less_equal, log, log1p, logical_and, logical_not, logical_or,
                           logical_xor, maximum, minimum, mod, multiply, negative, not_equal, pow,
                           reciprocal, round, rsqrt, sigmoid, sign, sin, softplus, sqrt, square,
                           squared_difference, subtract, tanh, truediv)
from .ops.nn_ops import log_sigmoid, softmax, softsign  # noqa: F401
from .ops.reduce_ops import (reduce_all, reduce_any, reduce_logsumexp, reduce_max, reduce_mean,  # noqa: F401
                             reduce_min, reduce_prod, reduce_std, reduce_sum, reduce_variance)


def confusion_matrix(labels, predictions, num_classes=None, weights=None, dtype="int32", name=None) -> Tensor:
    """Counts ``m[i, j]`` of examples with label i predicted as j.

    >>> import tapeflow as tf
    >>> tf.math.confusion_matrix([0, 1, 1], [0, 1, 0]).numpy().tolist()
    [[1, 0], [1, 1]]
    """
    y = np.asarray(convert_to_tensor(labels)._value).reshape(-1).astype(np.int64)
    p = np.asarray(convert_to_tensor(predictions)._value).reshape(-1).astype(np.int64)
    if y.shape != p.shape:
        raise ValueError(f"confusion_matrix: labels has {y.size} entries, predictions {p.size}")
    if y.size and (y.min() < 0 or p.min() < 0):
        raise ValueError("confusion_matrix: labels and predictions must be non-negative")
    n = int(num_classes) if num_classes is not None else int(max(y.max(initial=-1), p.max(initial=-1)) + 1)
    if y.size and (y.max() >= n or p.max() >= n):
        raise ValueError(f"confusion_matrix: values must be < num_classes={n}")
    w = np.ones(y.size) if weights is None else np.asarray(convert_to_tensor(weights)._value).reshape(-1)
    out = np.zeros((n, n), dtype=np.float64)
    np.add.at(out, (y, p), w)
    return Tensor._wrap(out.astype(np.dtype(str(getattr(dtype, "name", dtype)))))


def top_k(input, k=1, sorted=True, name=None):  # noqa: A002
    """(values, indices) of the k largest entries along the last axis."""
    x = convert_to_tensor(input)._value
    idx = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    return Tensor._wrap(np.take_along_axis(x, idx, -1)), Tensor._wrap(idx.astype(np.int32))


def in_top_k(targets, predictions, k, name=None) -> Tensor:
    """Whether each target's prediction score is among the top k (ties count as in)."""
    p = convert_to_tensor(predictions)._value
    t = np.asarray(convert_to_tensor(targets)._value).astype(np.intp)
    score = np.take_along_axis(p, t[:, None], axis=-1)
    return Tensor._wrap(np.sum(p > score, axis=-1) < k)


def count_nonzero(input, axis=None, keepdims=False, dtype="int64", name=None) -> Tensor:  # noqa: A002
    x = convert_to_tensor(input)._value
    return Tensor._wrap(np.count_nonzero(x, axis=axis, keepdims=keepdims).astype(dtype))


from .ops.nn_ops import l2_normalize, log_softmax  # noqa: F401,E402


def __getattr__(name):
    """The special functions, safe products and segment reductions of ``math_more.py``, loaded on first use."""
    from . import math_more
    if name == "zero_fraction":
        from .ops.nn_extra import zero_fraction
        return zero_fraction
    if name in ("real", "imag", "conj", "angle"):
        from . import tf_extra
        return getattr(tf_extra, name)
    if name in math_more.__all__:
        return getattr(math_more, name)
    raise AttributeError(f"module 'tapeflow.math' has no attribute {name!r}")
