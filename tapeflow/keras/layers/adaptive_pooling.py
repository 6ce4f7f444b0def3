"""Adaptive pooling (Keras 3.15): pool any spatial size down (or up) to a fixed ``output_size``.

Output cell ``i`` of an axis of length ``L`` pooled to ``n`` covers input positions
``floor(i*L/n) <= p < ceil((i+1)*L/n)``: PyTorch's ``adaptive_*_pool`` bins, which Keras's
TensorFlow backend reproduces. Both reductions are separable, so each spatial axis is pooled in turn:
the mean as one contraction with an (n, L) matrix of bin weights, the max as one ``reduce_max`` per bin.
Gradients come from those differentiable ops.

>>> import numpy as np, tapeflow as tf
>>> x = np.arange(10.0).reshape(1, 10, 1)
>>> tf.keras.layers.AdaptiveAveragePooling1D(4)(x).numpy().ravel().tolist()
[1.0, 3.0, 6.0, 8.0]
"""
from __future__ import annotations

import numpy as np

from ...ops import array_ops as A
from ...ops import reduce_ops as R
from ...ops.einsum_ops import einsum
from .. import backend as K
from .base import Layer
from .input_spec import InputSpec


def adaptive_bins(length: int, n: int) -> list:
    """``[(start, stop), ...]``: the input range of each of the ``n`` output cells of an axis of ``length``.

    >>> adaptive_bins(5, 3)
    [(0, 2), (1, 4), (3, 5)]
    """
    return [(min(i * length // n, length - 1), min(-(-(i + 1) * length // n), length)) for i in range(n)]


def _sizes(output_size, rank: int, what: str) -> tuple:
    if isinstance(output_size, (int, np.integer)) and not isinstance(output_size, bool):
        sizes = (int(output_size),) * rank
    elif isinstance(output_size, (list, tuple)) and len(output_size) == rank:
        sizes = tuple(int(s) for s in output_size)
    else:
        raise TypeError(f"{what}: `output_size` must be an integer or a tuple of {rank} integers. "
                        f"Received: {output_size!r}")
    if any(s < 1 for s in sizes):
        raise ValueError(f"{what}: `output_size` entries must be >= 1. Received: {output_size!r}")
    return sizes


def adaptive_pool(inputs, output_size, mode: str, data_format=None, what="adaptive_pool"):
    """Adaptive ``"average"`` or ``"max"`` pooling of a rank-3/4/5 ``inputs`` to ``output_size`` per spatial axis."""
    from ..ops.numpy import _float
    x = _float(inputs)
    rank = x._value.ndim - 2
    if rank not in (1, 2, 3):
        raise ValueError(f"{what}: expected inputs of rank 3, 4 or 5 (batch, spatial..., channels), got shape "
                         f"{x._value.shape}")
    sizes = _sizes(output_size, rank, what)
    first = 2 if K.standardize_data_format(data_format) == "channels_first" else 1
    letters = "abcde"
    for k, n in enumerate(sizes):
        axis = first + k
        bins = adaptive_bins(int(x._value.shape[axis]), n)
        if mode == "average":
            weights = np.zeros((n, x._value.shape[axis]), x._value.dtype)
            for i, (lo, hi) in enumerate(bins):
                weights[i, lo:hi] = 1.0 / (hi - lo)
            sub = letters[:x._value.ndim]
            out = sub[:axis] + "z" + sub[axis + 1:]
            x = einsum(f"{sub},z{sub[axis]}->{out}", x, weights)
        else:
            index = [slice(None)] * x._value.ndim
            cells = []
            for lo, hi in bins:
                index[axis] = slice(lo, hi)
                cells.append(R.reduce_max(A.getitem(x, tuple(index)), axis=axis, keepdims=True))
            x = A.concat(cells, axis=axis)
    return x


class _AdaptivePooling(Layer):
    rank = 2
    mode = "average"

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.output_size = _sizes(output_size, self.rank, type(self).__name__)
        self.data_format = K.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        return adaptive_pool(inputs, self.output_size, self.mode, self.data_format, f'Layer "{self.name}"')

    def compute_output_shape(self, input_shape):
        s = tuple(input_shape)
        if self.data_format == "channels_first":
            return (s[0], s[1]) + self.output_size
        return (s[0],) + self.output_size + (s[-1],)

    def get_config(self):
        config = super().get_config()
        config.update({"output_size": self.output_size, "data_format": self.data_format})
        return config


class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Mean over adaptive bins: ``(batch, steps, channels)`` -> ``(batch, output_size, channels)``.

    >>> import numpy as np, tapeflow as tf
    >>> tf.keras.layers.AdaptiveAveragePooling1D(2)(np.ones((3, 7, 4))).shape.as_list()
    [3, 2, 4]
    """
    rank, mode = 1, "average"


class AdaptiveMaxPooling1D(_AdaptivePooling):
    """Max over adaptive bins of the steps axis.

    >>> import numpy as np, tapeflow as tf
    >>> tf.keras.layers.AdaptiveMaxPooling1D(2)(np.arange(5.0).reshape(1, 5, 1)).numpy().ravel().tolist()
    [2.0, 4.0]
    """
    rank, mode = 1, "max"


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Mean over adaptive bins of rows and columns: ``(batch, h, w, c)`` -> ``(batch, *output_size, c)``.

    >>> import numpy as np, tapeflow as tf
    >>> tf.keras.layers.AdaptiveAveragePooling2D((3, 2))(np.ones((1, 7, 5, 2))).shape.as_list()
    [1, 3, 2, 2]
    """
    rank, mode = 2, "average"


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """Max over adaptive bins of rows and columns.

    >>> import numpy as np, tapeflow as tf
    >>> tf.keras.layers.AdaptiveMaxPooling2D(1)(np.arange(6.0).reshape(1, 2, 3, 1)).numpy().ravel().tolist()
    [5.0]
    """
    rank, mode = 2, "max"


class AdaptiveAveragePooling3D(_AdaptivePooling):
    """Mean over adaptive bins of depth, rows and columns.

    >>> import numpy as np, tapeflow as tf
    >>> tf.keras.layers.AdaptiveAveragePooling3D(2)(np.ones((1, 5, 4, 3, 2))).shape.as_list()
    [1, 2, 2, 2, 2]
    """
    rank, mode = 3, "average"


class AdaptiveMaxPooling3D(_AdaptivePooling):
    """Max over adaptive bins of depth, rows and columns.

    >>> import numpy as np, tapeflow as tf
    >>> tf.keras.layers.AdaptiveMaxPooling3D((1, 2, 1))(np.ones((1, 3, 4, 5, 2))).shape.as_list()
    [1, 1, 2, 1, 2]
    """
    rank, mode = 3, "max"


__all__ = ["AdaptiveAveragePooling1D", "AdaptiveMaxPooling1D", "AdaptiveAveragePooling2D", "AdaptiveMaxPooling2D",
           "AdaptiveAveragePooling3D", "AdaptiveMaxPooling3D"]
