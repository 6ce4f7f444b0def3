"""x/y/sample_weight packing and a few array utilities (to_categorical, normalize)."""
from __future__ import annotations

import numpy as np


def unpack_x_y_sample_weight(data):
    """Split a batch into ``(x, y, sample_weight)`` as Keras does.

    >>> unpack_x_y_sample_weight((1, 2))
    (1, 2, None)
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError(f"Data is expected to be (x,), (x, y) or (x, y, sample_weight), got a tuple of {len(data)}")


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    if y is None:
        return (x,)
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def to_categorical(x, num_classes=None, dtype="float32"):
    """Integer class vector to one-hot matrix.

    >>> to_categorical([0, 2]).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    y = np.asarray(getattr(x, "_value", x), dtype=np.int64)
    shape = y.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    y = y.reshape(-1)
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical: class indices must be >= 0, got {y.min()}")
    n = int(num_classes) if num_classes is not None else int(y.max(initial=-1)) + 1
    if y.size and y.max() >= n:
        raise ValueError(f"to_categorical: class index {y.max()} >= num_classes={n}")
    out = np.zeros((y.size, n), dtype=dtype)
    out[np.arange(y.size), y] = 1
    return out.reshape(shape + (n,))


def normalize(x, axis=-1, order=2):
    """Scale rows to unit L-``order`` norm (zeros stay zeros)."""
    x = np.asarray(getattr(x, "_value", x))
    n = np.linalg.norm(x, order, axis=axis, keepdims=True)
    return x / np.where(n == 0, 1, n)
