"""Pooling layers with Keras 3's names and defaults (``strides`` default to ``pool_size``).

Windowed pools run ``tapeflow.ops.pool_ops`` max/avg pooling (strided views, no im2col copy);
global pools are reductions over the spatial axes (``keepdims`` keeps them as size 1).
"""
from __future__ import annotations

from ...ops import array_ops as A
from ...ops import pool_ops as P
from ...ops import math_ops as M
from ...ops import reduce_ops as R
from .. import backend as K
from .base import Layer
from .convolutional import _tuple, conv_output_length, shape_only
from .input_spec import InputSpec
from .tracking import CTX


class _Pooling(Layer):
    rank = 2
    _mode = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.pool_size = _tuple(pool_size, self.rank, "pool_size", cls)
        self.strides = self.pool_size if strides is None else _tuple(strides, self.rank, "strides", cls)
        padding = str(padding).lower()
        if padding not in ("valid", "same"):
            raise ValueError(f"{cls}: padding must be 'valid' or 'same', got {padding!r}")
        self.padding = padding
        self.data_format = K.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        if CTX.shape_inference:
            return shape_only(self, inputs)
        cf = self.data_format == "channels_first"
        if self.rank == 2:
            fn = P.max_pool2d if self._mode == "max" else P.avg_pool2d
            return fn(inputs, self.pool_size, self.strides, self.padding.upper(), "NCHW" if cf else "NHWC")
        fn = P.max_pool1d if self._mode == "max" else P.avg_pool1d
        return fn(inputs, self.pool_size, self.strides, self.padding.upper(), "NCW" if cf else "NWC")

    def compute_output_shape(self, input_shape):
        s = tuple(input_shape)
        cf = self.data_format == "channels_first"
        sp = s[2:] if cf else s[1:-1]
        out = tuple(conv_output_length(n, k, self.padding, st) for n, k, st in zip(sp, self.pool_size, self.strides))
        return (s[0], s[1]) + out if cf else (s[0],) + out + (s[-1],)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "strides": self.strides, "padding": self.padding,
                       "data_format": self.data_format})
        return config


class MaxPooling2D(_Pooling):
    """Max over ``pool_size`` windows of ``(batch, rows, cols, channels)`` inputs.

    >>> import tapeflow as tf
    >>> tf.keras.layers.MaxPooling2D()(tf.ones((1, 28, 28, 3))).shape.as_list()
    [1, 14, 14, 3]
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(_Pooling):
    """Mean over ``pool_size`` windows; with ``'same'`` padding the mean is over non-padded entries.

    >>> import tapeflow as tf
    >>> tf.keras.layers.AveragePooling2D(3, strides=1, padding="same")(tf.ones((1, 5, 5, 2))).shape.as_list()
    [1, 5, 5, 2]
    """

    _mode = "avg"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling1D(_Pooling):
    """Max over windows of ``(batch, steps, features)`` inputs.

    >>> import tapeflow as tf
    >>> tf.keras.layers.MaxPooling1D()(tf.ones((2, 7, 3))).shape.as_list()
    [2, 3, 3]
    """

    rank = 1


class AveragePooling1D(_Pooling):
    """Mean over windows of ``(batch, steps, features)`` inputs.

    >>> import tapeflow as tf
    >>> tf.keras.layers.AveragePooling1D(3, padding="same")(tf.ones((2, 7, 3))).shape.as_list()
    [2, 3, 3]
    """

    rank = 1
    _mode = "avg"


class _GlobalPooling(Layer):
    rank = 2
    _mode = "max"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = K.standardize_data_format(data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.supports_masking = self.rank == 1 and self._mode == "avg"

    def _axes(self):
        return tuple(range(2, self.rank + 2)) if self.data_format == "channels_first" else tuple(range(1, self.rank + 1))

    def call(self, inputs, mask=None):
        axes = self._axes()
        if CTX.shape_inference and any(inputs.shape[a] == 0 for a in axes):
            # unknown spatial sizes run as 2 or 3 and can shrink to 0 on the way here: an empty max has no value
            return A.zeros(self.compute_output_shape(tuple(inputs.shape)), dtype=inputs.dtype)
        if self._mode == "max":
            return R.reduce_max(inputs, axis=axes, keepdims=self.keepdims)
        if mask is not None and self.rank == 1:
            m = A.cast(mask, inputs.dtype)
            m = A.expand_dims(m, 1 if self.data_format == "channels_first" else 2)
            total = R.reduce_sum(M.multiply(inputs, m), axis=axes, keepdims=self.keepdims)
            return M.divide(total, R.reduce_sum(m, axis=axes, keepdims=self.keepdims))
        return R.reduce_mean(inputs, axis=axes, keepdims=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        s = tuple(input_shape)
        axes = self._axes()
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(s))
        return tuple(d for i, d in enumerate(s) if i not in axes)

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


class GlobalMaxPooling2D(_GlobalPooling):
    """Max over the spatial axes: ``(batch, rows, cols, channels)`` -> ``(batch, channels)``.

    >>> import tapeflow as tf
    >>> tf.keras.layers.GlobalMaxPooling2D(keepdims=True)(tf.ones((2, 4, 4, 3))).shape.as_list()
    [2, 1, 1, 3]
    """


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over the spatial axes: ``(batch, rows, cols, channels)`` -> ``(batch, channels)``.

    >>> import tapeflow as tf
    >>> tf.keras.layers.GlobalAveragePooling2D()(tf.ones((2, 4, 4, 3))).shape.as_list()
    [2, 3]
    """

    _mode = "avg"


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over the steps axis: ``(batch, steps, features)`` -> ``(batch, features)``.

    >>> import tapeflow as tf
    >>> tf.keras.layers.GlobalMaxPooling1D()(tf.ones((2, 5, 3))).shape.as_list()
    [2, 3]
    """

    rank = 1


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps axis; with a mask (e.g. from ``Embedding(mask_zero=True)``) only over kept steps.

    >>> import tapeflow as tf
    >>> x = tf.constant([[[1.0], [3.0], [100.0]]])
    >>> tf.keras.layers.GlobalAveragePooling1D()(x, mask=tf.constant([[True, True, False]])).numpy().tolist()
    [[2.0]]
    """

    rank = 1
    _mode = "avg"


MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalAveragePool1D = GlobalAveragePooling1D  # the spec's spelling
GlobalAveragePool2D = GlobalAveragePooling2D

__all__ = ["MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "GlobalMaxPooling1D",
           "GlobalMaxPooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "MaxPool1D", "MaxPool2D",
           "AvgPool1D", "AvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D",
           "GlobalAveragePool1D", "GlobalAveragePool2D"]
