"""Reshaping layers for image/sequence models: ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D,
Permute, RepeatVector (Keras 3 names and defaults). Each is a composition of differentiable ops."""
from __future__ import annotations

import numpy as np

from ...ops import array_ops as A
from .. import backend as K
from .base import Layer
from .convolutional import shape_only
from .input_spec import InputSpec
from .tracking import CTX


def _pairs(value, rank: int, what: str, layer: str) -> tuple:
    """int | (a, b) per axis | ((a, b), ...) -> ((before, after),) * rank of non-negative ints."""
    if isinstance(value, (int, np.integer)):
        out = ((int(value), int(value)),) * rank
    else:
        value = tuple(value)
        if rank == 1 and len(value) == 2 and all(isinstance(v, (int, np.integer)) for v in value):
            out = ((int(value[0]), int(value[1])),)
        elif len(value) == rank:
            out = tuple((int(v), int(v)) if isinstance(v, (int, np.integer)) else tuple(int(u) for u in v)
                        for v in value)
        else:
            raise ValueError(f"{layer}: {what} must be an int, or {rank} ints/pairs, got {value!r}")
    if any(len(p) != 2 or min(p) < 0 for p in out):
        raise ValueError(f"{layer}: {what} entries must be non-negative (before, after) pairs, got {value!r}")
    return out


class _Spatial(Layer):
    rank = 2

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = "channels_last" if self.rank == 1 else K.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _first(self) -> int:
        return 2 if self.data_format == "channels_first" else 1

    def compute_output_shape(self, input_shape):
        s = list(input_shape)
        for i in range(self.rank):
            n = s[self._first() + i]
            s[self._first() + i] = None if n is None else self._size(i, n)
        return tuple(s)

    def get_config(self):
        config = super().get_config()
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


class ZeroPadding2D(_Spatial):
    """Pad rows and columns with zeros: ``padding`` int, (rows, cols) or ((top, bottom), (left, right)).

    >>> import tapeflow as tf
    >>> tf.keras.layers.ZeroPadding2D(((1, 0), (2, 1)))(tf.ones((1, 3, 3, 2))).shape.as_list()
    [1, 4, 6, 2]
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.padding = _pairs(padding, self.rank, "padding", type(self).__name__)

    def _size(self, i, n):
        return n + sum(self.padding[i])

    def call(self, inputs):
        pads = [[0, 0]] * inputs._value.ndim
        for i, p in enumerate(self.padding):
            pads[self._first() + i] = list(p)
        return A.pad(inputs, pads)

    def get_config(self):
        config = super().get_config()
        config["padding"] = self.padding
        return config


class ZeroPadding1D(ZeroPadding2D):
    """Pad the steps axis of ``(batch, steps, features)`` with zeros.

    >>> import tapeflow as tf
    >>> tf.keras.layers.ZeroPadding1D(2)(tf.ones((1, 3, 2))).shape.as_list()
    [1, 7, 2]
    """

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, **kwargs)
        self.data_format = K.standardize_data_format(data_format)  # (Keras 3 pads channels_first steps too)

    def get_config(self):  # Keras's: one (before, after) pair, and the data_format
        config = super().get_config()
        config["padding"] = tuple(self.padding[0])
        config["data_format"] = self.data_format
        return config


class Cropping2D(_Spatial):
    """Remove rows/columns at the borders: ``cropping`` int, (rows, cols) or ((top, bottom), (left, right)).

    >>> import tapeflow as tf
    >>> tf.keras.layers.Cropping2D(((1, 1), (0, 2)))(tf.ones((1, 5, 5, 2))).shape.as_list()
    [1, 3, 3, 2]
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.cropping = _pairs(cropping, self.rank, "cropping", type(self).__name__)

    def _size(self, i, n):
        return n - sum(self.cropping[i])

    def call(self, inputs):
        if CTX.shape_inference:
            return shape_only(self, inputs)
        key = [slice(None)] * inputs._value.ndim
        for i, (a, b) in enumerate(self.cropping):
            ax = self._first() + i
            n = inputs._value.shape[ax]
            if a + b >= n:
                raise ValueError(f'Layer "{self.name}": cropping {self.cropping} leaves nothing of axis {ax} '
                                 f"(size {n}) of inputs {inputs._value.shape}")
            key[ax] = slice(a, n - b)
        return A.getitem(inputs, tuple(key))

    def get_config(self):
        config = super().get_config()
        config["cropping"] = self.cropping
        return config


class Cropping1D(Cropping2D):
    """Remove steps at the start/end of ``(batch, steps, features)``.

    >>> import tapeflow as tf
    >>> tf.keras.layers.Cropping1D((1, 2))(tf.ones((1, 6, 2))).shape.as_list()
    [1, 3, 2]
    """

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, **kwargs)

    def get_config(self):  # Keras's: one (start, end) pair
        config = super().get_config()
        config["cropping"] = tuple(self.cropping[0])
        return config


class UpSampling2D(_Spatial):
    """Repeat rows ``size[0]`` times and columns ``size[1]`` times (nearest-neighbour upsampling).

    >>> import tapeflow as tf
    >>> tf.keras.layers.UpSampling2D()(tf.ones((1, 3, 4, 2))).shape.as_list()
    [1, 6, 8, 2]
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(data_format, **kwargs)
        size = (int(size),) * self.rank if isinstance(size, (int, np.integer)) else tuple(int(v) for v in size)
        if len(size) != self.rank or min(size) < 1:
            raise ValueError(f"{type(self).__name__}: size must be {self.rank} positive ints, got {size!r}")
        self.size = size
        self.interpolation = str(interpolation).lower()
        if self.interpolation != "nearest":
            raise NotImplementedError(f"{type(self).__name__}: only interpolation='nearest' is supported, "
                                      f"got {interpolation!r}")

    def _size(self, i, n):
        return n * self.size[i]

    def call(self, inputs):
        shape = list(inputs._value.shape)
        f = self._first()
        expanded, target = list(shape[:f]), list(shape[:f])
        for i in range(self.rank):
            expanded += [shape[f + i], 1]
            target += [shape[f + i], self.size[i]]
        expanded += shape[f + self.rank:]
        target += shape[f + self.rank:]
        out = A.broadcast_to(A.reshape(inputs, tuple(expanded)), tuple(target))
        final = shape[:f] + [shape[f + i] * self.size[i] for i in range(self.rank)] + shape[f + self.rank:]
        return A.reshape(out, tuple(final))

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "interpolation": self.interpolation})
        return config


class UpSampling1D(UpSampling2D):
    """Repeat each step ``size`` times: ``(batch, steps, features)`` -> ``(batch, steps * size, features)``.

    >>> import tapeflow as tf
    >>> tf.keras.layers.UpSampling1D(3)(tf.ones((1, 2, 4))).shape.as_list()
    [1, 6, 4]
    """

    rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(size, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("interpolation", None)
        config["size"] = self.size[0]
        return config


class Permute(Layer):
    """Permute the non-batch axes: ``dims`` is a permutation of 1..rank-1.

    >>> import tapeflow as tf
    >>> tf.keras.layers.Permute((2, 1))(tf.ones((4, 3, 5))).shape.as_list()
    [4, 5, 3]
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute: dims must be a permutation of 1..{len(self.dims)}, got {dims!r}")
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def call(self, inputs):
        return A.transpose(inputs, perm=(0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        config = super().get_config()
        config["dims"] = self.dims
        return config


class RepeatVector(Layer):
    """Repeat a ``(batch, features)`` input ``n`` times: -> ``(batch, n, features)``.

    >>> import tapeflow as tf
    >>> tf.keras.layers.RepeatVector(3)(tf.ones((2, 4))).shape.as_list()
    [2, 3, 4]
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
            raise ValueError(f"RepeatVector: n must be a positive integer, got {n!r}")
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        b, f = inputs._value.shape
        return A.broadcast_to(A.expand_dims(inputs, 1), (b, self.n, f))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config


__all__ = ["ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "UpSampling1D", "UpSampling2D", "Permute",
           "RepeatVector"]
