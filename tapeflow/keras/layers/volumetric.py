"""3-D (volumetric) layers with Keras 3's names, arguments, defaults, configs and weight layouts.

Inputs are ``(batch, depth, rows, cols, channels)`` (``channels_last``) or
``(batch, channels, depth, rows, cols)`` (``channels_first``). Kernel layouts, as Keras:

* ``Conv3D``: ``kernel (kd, kh, kw, in // groups, filters)`` then ``bias (filters,)``.
* ``Conv3DTranspose``: ``kernel (kd, kh, kw, filters, in)`` then ``bias (filters,)``.

The math is ``tapeflow.ops.conv3d_ops`` / ``pool3d_ops``; the argument handling, shape rules and
configs are those of the 1-D/2-D families (``convolutional``, ``pooling``, ``reshaping``).
"""
from __future__ import annotations

from ...ops.conv3d_ops import conv3d, conv3d_transpose
from ...ops.pool3d_ops import avg_pool3d, max_pool3d
from .convolutional import _Conv, _ConvTranspose, shape_only
from .pooling import _GlobalPooling, _Pooling
from .reshaping import Cropping2D, UpSampling2D, ZeroPadding2D
from .tracking import CTX


class Conv3D(_Conv):
    """3-D convolution: ``activation(conv3d(inputs, kernel) + bias)``, as ``keras.layers.Conv3D``.

    Kernel shape ``(kd, kh, kw, in_channels // groups, filters)``; weights ``[kernel, bias]``.

    >>> import tapeflow as tf
    >>> layer = tf.keras.layers.Conv3D(4, 3, padding="same", activation="relu")
    >>> layer(tf.ones((2, 5, 6, 6, 3))).shape.as_list(), layer.kernel.shape.as_list()
    ([2, 5, 6, 6, 4], [3, 3, 3, 3, 4])
    """

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1, 1), groups=1, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups, **kwargs)

    def call(self, inputs):
        if CTX.shape_inference:
            return shape_only(self, inputs)
        y = conv3d(inputs, self._read(self.kernel), self.strides, self.padding.upper(),
                   data_format="NCDHW" if self._cf else "NDHWC", dilations=self.dilation_rate)
        return self._finish(y)


class Conv3DTranspose(_ConvTranspose):
    """Transposed 3-D convolution (the gradient of Conv3D w.r.t. its input), as ``keras.layers.Conv3DTranspose``.

    Kernel shape ``(kd, kh, kw, filters, in_channels)``; output size as Keras 3 (``valid``:
    ``n*s + max(k - s, 0)``; ``same``: ``n*s``; or ``(n-1)*s + k - 2*pad + output_padding``).

    >>> import tapeflow as tf
    >>> layer = tf.keras.layers.Conv3DTranspose(4, 3, strides=2, padding="same")
    >>> layer(tf.ones((1, 2, 3, 3, 2))).shape.as_list(), layer.kernel.shape.as_list()
    ([1, 4, 6, 6, 4], [3, 3, 3, 4, 2])
    """

    rank = 3
    _op, _formats = staticmethod(conv3d_transpose), ("NCDHW", "NDHWC")

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format=None,
                 output_padding=None, dilation_rate=(1, 1, 1), **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, **kwargs)


class _Pooling3D(_Pooling):
    rank = 3

    def call(self, inputs):
        if CTX.shape_inference:
            return shape_only(self, inputs)
        fn = max_pool3d if self._mode == "max" else avg_pool3d
        return fn(inputs, self.pool_size, self.strides, self.padding.upper(),
                  "NCDHW" if self.data_format == "channels_first" else "NDHWC")


class MaxPooling3D(_Pooling3D):
    """Max over ``pool_size`` windows of ``(batch, depth, rows, cols, channels)`` inputs.

    >>> import tapeflow as tf
    >>> tf.keras.layers.MaxPooling3D()(tf.ones((1, 4, 6, 6, 3))).shape.as_list()
    [1, 2, 3, 3, 3]
    """

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling3D(_Pooling3D):
    """Mean over ``pool_size`` windows (required, as in Keras 3); ``'same'`` averages only non-padded entries.

    >>> import tapeflow as tf
    >>> tf.keras.layers.AveragePooling3D(3, strides=1, padding="same")(tf.ones((1, 4, 4, 4, 2))).shape.as_list()
    [1, 4, 4, 4, 2]
    """

    _mode = "avg"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class GlobalMaxPooling3D(_GlobalPooling):
    """Max over the three spatial axes: ``(batch, d, h, w, channels)`` -> ``(batch, channels)``.

    >>> import tapeflow as tf
    >>> tf.keras.layers.GlobalMaxPooling3D(keepdims=True)(tf.ones((2, 3, 4, 4, 5))).shape.as_list()
    [2, 1, 1, 1, 5]
    """

    rank = 3


class GlobalAveragePooling3D(_GlobalPooling):
    """Mean over the three spatial axes: ``(batch, d, h, w, channels)`` -> ``(batch, channels)``.

    >>> import tapeflow as tf
    >>> tf.keras.layers.GlobalAveragePooling3D()(tf.ones((2, 3, 4, 4, 5))).shape.as_list()
    [2, 5]
    """

    rank = 3
    _mode = "avg"


class ZeroPadding3D(ZeroPadding2D):
    """Pad the depth, rows and columns with zeros: ``padding`` int, 3 ints or 3 (before, after) pairs.

    >>> import tapeflow as tf
    >>> tf.keras.layers.ZeroPadding3D(((1, 0), (0, 2), 1))(tf.ones((1, 2, 3, 3, 2))).shape.as_list()
    [1, 3, 5, 5, 2]
    """

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class Cropping3D(Cropping2D):
    """Remove entries at the borders of depth, rows and columns: ``cropping`` int, 3 ints or 3 pairs.

    >>> import tapeflow as tf
    >>> tf.keras.layers.Cropping3D()(tf.ones((1, 4, 5, 6, 2))).shape.as_list()
    [1, 2, 3, 4, 2]
    """

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class UpSampling3D(UpSampling2D):
    """Repeat depth, rows and columns ``size`` times each (nearest neighbour).

    >>> import tapeflow as tf
    >>> tf.keras.layers.UpSampling3D((1, 2, 3))(tf.ones((1, 2, 2, 2, 4))).shape.as_list()
    [1, 2, 4, 6, 4]
    """

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("interpolation", None)
        return config


Convolution3D = Conv3D
Convolution3DTranspose = Conv3DTranspose
MaxPool3D = MaxPooling3D
AvgPool3D = AveragePooling3D
GlobalMaxPool3D = GlobalMaxPooling3D
GlobalAvgPool3D = GlobalAveragePooling3D

__all__ = ["Conv3D", "Conv3DTranspose", "MaxPooling3D", "AveragePooling3D", "GlobalMaxPooling3D",
           "GlobalAveragePooling3D", "ZeroPadding3D", "Cropping3D", "UpSampling3D", "Convolution3D",
           "Convolution3DTranspose", "MaxPool3D", "AvgPool3D", "GlobalMaxPool3D", "GlobalAvgPool3D"]
