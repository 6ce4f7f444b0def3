"""Convolution layers with Keras 3's names, arguments, defaults and weight layouts.

Kernel layouts (as Keras, so weights move between the two):

* ``Conv1D`` / ``Conv2D``: ``(k..., in // groups, filters)`` then ``bias (filters,)``.
* ``Conv1DTranspose`` / ``Conv2DTranspose``: ``(k..., filters, in)``.
* ``DepthwiseConv1D`` / ``DepthwiseConv2D``: ``(k..., in, depth_multiplier)``, bias ``(in * depth_multiplier,)``.
* ``SeparableConv1D`` / ``SeparableConv2D``: ``depthwise_kernel (k..., in, depth_multiplier)``,
  ``pointwise_kernel (1..., in * depth_multiplier, filters)``, ``bias (filters,)``.

The math is ``tapeflow.ops.conv_ops`` (channels_last im2col + matmul); ``channels_first`` inputs
are transposed around it.
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor
from ...ops import array_ops as A
from ...ops import conv_ops as C
from ...ops import math_ops as M
from ...ops.conv_fast import conv2d_bias, conv2d_transpose_bias
from .. import activations, constraints, initializers, regularizers
from .. import backend as K
from .base import Layer
from .input_spec import InputSpec
from .tracking import CTX


def _tuple(value, rank: int, what: str, layer: str) -> tuple:
    vals = (int(value),) * rank if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)
    if len(vals) != rank or any(v < 1 for v in vals):
        raise ValueError(f"{layer}: {what} must be a positive int or a tuple of {rank} positive ints, got {value!r}")
    return vals


def shape_only(layer, inputs) -> Tensor:
    """Zeros of the layer's output shape, for symbolic shape inference.

    Shape inference runs layers on dummy inputs whose unknown axes are 2 or 3, smaller than
    many kernels; the output shape comes from ``compute_output_shape`` instead (an axis that
    differs between the two runs is reported as unknown).
    """
    shape = tuple(max(int(d), 0) for d in layer.compute_output_shape(tuple(inputs._value.shape)))
    return Tensor._wrap(np.zeros(shape, dtype=layer._compute_dtype))


def conv_output_length(n, k: int, padding: str, stride: int, dilation: int = 1):
    """Output length of a convolution (None stays None), Keras's rule."""
    if n is None:
        return None
    k_eff = (k - 1) * dilation + 1
    if padding in ("same", "causal"):
        return -(-n // stride)
    return max((n - k_eff) // stride + 1, 0)


def deconv_output_length(n, k: int, padding: str, output_padding=None, stride: int = 1, dilation: int = 1):
    """Output length of a transposed convolution (Keras 3's rule)."""
    if n is None:
        return None
    k_eff = (k - 1) * dilation + 1
    if output_padding is None:
        return n * stride + max(k_eff - stride, 0) if padding == "valid" else n * stride
    pad = k_eff // 2 if padding == "same" else 0
    return (n - 1) * stride + k_eff - 2 * pad + output_padding


class _BaseConv(Layer):
    """Shared argument handling for the convolution family (not a public layer)."""

    rank = 2
    _paddings = ("valid", "same")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        kwargs.pop("lora_rank", None)
        kwargs.pop("lora_alpha", None)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls = type(self).__name__
        r = self.rank
        if filters is not None and (not isinstance(filters, (int, np.integer)) or filters <= 0):
            raise ValueError(f"{cls}: filters must be a positive integer, got {filters!r}")
        self.filters = None if filters is None else int(filters)
        self.kernel_size = _tuple(kernel_size, r, "kernel_size", cls)
        self.strides = _tuple(strides, r, "strides", cls)
        self.dilation_rate = _tuple(dilation_rate, r, "dilation_rate", cls)
        padding = str(padding).lower()
        if padding not in self._paddings:
            raise ValueError(f"{cls}: padding must be one of {self._paddings}, got {padding!r}")
        self.padding = padding
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{cls}: strides > 1 together with dilation_rate > 1 is not supported "
                             f"(strides={self.strides}, dilation_rate={self.dilation_rate})")
        self.groups = int(groups)
        if self.groups < 1 or (self.filters is not None and self.filters % self.groups):
            raise ValueError(f"{cls}: filters ({filters}) must be a multiple of groups ({groups}) and groups >= 1")
        self.data_format = K.standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self._linear = self.activation is activations.linear
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=r + 2)

    @property
    def _cf(self) -> bool:
        return self.data_format == "channels_first"

    def _channels(self, input_shape) -> int:
        c = input_shape[1 if self._cf else -1]
        if c is None:
            raise ValueError(f'Layer "{self.name}": the channel dimension of the inputs must be known, '
                             f"got input shape {tuple(input_shape)}")
        return int(c)

    def _spec(self, c):
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={1 if self._cf else -1: c})

    def _add_bias(self, n):
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(n,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")

    def _finish(self, y):
        if self.bias is not None:
            b = self._read(self.bias)
            if self._cf:
                b = A.reshape(b, (-1,) + (1,) * self.rank)
            y = M.add(y, b)
        return y if self._linear else self.activation(y)

    def call(self, inputs):
        if CTX.shape_inference:
            return shape_only(self, inputs)
        shape = tuple(inputs._value.shape)
        spatial = tuple(self._spatial_out(shape))
        out = (shape[0], self.filters) + spatial if self._cf else (shape[0],) + spatial + (self.filters,)
        y = self._op(inputs, self._read(self.kernel), out, self.strides, self.padding.upper(),
                     data_format=self._formats[0] if self._cf else self._formats[1], dilations=self.dilation_rate)
        return self._finish(y)

    def _spatial_out(self, input_shape):
        sp = input_shape[2:] if self._cf else input_shape[1:-1]
        return [conv_output_length(n, k, self.padding, s, d)
                for n, k, s, d in zip(sp, self.kernel_size, self.strides, self.dilation_rate)]

    def _pack(self, input_shape, spatial, channels):
        if self._cf:
            return (input_shape[0], channels) + tuple(spatial)
        return (input_shape[0],) + tuple(spatial) + (channels,)

    def _out_channels(self, input_shape):
        return self.filters

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        return self._pack(input_shape, self._spatial_out(input_shape), self._out_channels(input_shape))

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
            "padding": self.padding, "data_format": self.data_format, "dilation_rate": self.dilation_rate,
            "groups": self.groups, "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        })
        return config


class _Conv(_BaseConv):
    def build(self, input_shape):
        c = self._channels(input_shape)
        if c % self.groups:
            raise ValueError(f'Layer "{self.name}": input channels ({c}) must be a multiple of groups ({self.groups})')
        self.kernel = self.add_weight(shape=self.kernel_size + (c // self.groups, self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self._add_bias(self.filters)
        self._spec(c)
        self.built = True


class Conv2D(_Conv):
    """2-D convolution: ``activation(conv2d(inputs, kernel) + bias)``, as ``keras.layers.Conv2D``.

    Kernel shape ``(kh, kw, in_channels // groups, filters)``; weights ``[kernel, bias]``.

    >>> import tapeflow as tf
    >>> layer = tf.keras.layers.Conv2D(8, 3, padding="same", activation="relu")
    >>> layer(tf.ones((2, 10, 10, 3))).shape.as_list(), layer.kernel.shape.as_list()
    ([2, 10, 10, 8], [3, 3, 3, 8])
    """

    rank = 2

    def call(self, inputs):
        if CTX.shape_inference:
            return shape_only(self, inputs)
        kernel = self._read(self.kernel)
        relu = self.activation is activations.relu
        if self.bias is not None and not self._cf and (relu or self._linear):
            # the training hot path: conv + bias (+ relu) as one fused primitive
            return conv2d_bias(inputs, kernel, self._read(self.bias), self.strides, self.padding.upper(),
                               self.dilation_rate, relu=relu)
        y = C.conv2d(inputs, kernel, self.strides, self.padding.upper(),
                     data_format="NCHW" if self._cf else "NHWC", dilations=self.dilation_rate)
        return self._finish(y)


class Conv1D(_Conv):
    """1-D convolution over ``(batch, steps, channels)``, as ``keras.layers.Conv1D``.

    ``padding`` may also be ``"causal"`` (output t sees inputs <= t). Kernel ``(k, in // groups, filters)``.

    >>> import tapeflow as tf
    >>> tf.keras.layers.Conv1D(4, 3, padding="causal")(tf.ones((2, 7, 5))).shape.as_list()
    [2, 7, 4]
    """

    rank = 1
    _paddings = ("valid", "same", "causal")

    def call(self, inputs):
        if CTX.shape_inference:
            return shape_only(self, inputs)
        padding = self.padding.upper()
        if self.padding == "causal":
            left = (self.kernel_size[0] - 1) * self.dilation_rate[0]
            padding = [[0, 0], [0, 0], [left, 0]] if self._cf else [[0, 0], [left, 0], [0, 0]]
        y = C.conv1d(inputs, self._read(self.kernel), self.strides, padding,
                     data_format="NCW" if self._cf else "NWC", dilations=self.dilation_rate)
        return self._finish(y)


class _ConvTranspose(_BaseConv):
    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, **kwargs)
        self.output_padding = None if output_padding is None else tuple(
            int(v) for v in ((output_padding,) * self.rank if isinstance(output_padding, (int, np.integer))
                             else output_padding))
        if self.output_padding is not None and any(
                p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ValueError(f"{type(self).__name__}: each output_padding must be smaller than its stride, got "
                             f"output_padding={self.output_padding}, strides={self.strides}")

    def build(self, input_shape):
        c = self._channels(input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (self.filters, c),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self._add_bias(self.filters)
        self._spec(c)
        self.built = True

    def _spatial_out(self, input_shape):
        sp = input_shape[2:] if self._cf else input_shape[1:-1]
        op = self.output_padding or (None,) * self.rank
        return [deconv_output_length(n, k, self.padding, p, s, d)
                for n, k, p, s, d in zip(sp, self.kernel_size, op, self.strides, self.dilation_rate)]

    def get_config(self):
        config = super().get_config()
        config.pop("groups", None)
        config["output_padding"] = self.output_padding
        return config


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution (the gradient of Conv2D w.r.t. its input), as ``keras.layers.Conv2DTranspose``.

    Kernel shape ``(kh, kw, filters, in_channels)``; the output size follows Keras 3
    (``valid``: ``n*s + max(k - s, 0)``; ``same``: ``n*s``; or with ``output_padding``).

    >>> import tapeflow as tf
    >>> layer = tf.keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same")
    >>> layer(tf.ones((1, 5, 5, 2))).shape.as_list(), layer.kernel.shape.as_list()
    ([1, 10, 10, 4], [3, 3, 4, 2])
    """

    rank = 2
    _op, _formats = staticmethod(C.conv2d_transpose), ("NCHW", "NHWC")

    def call(self, inputs):
        relu = self.activation is activations.relu
        if CTX.shape_inference or self.bias is None or self._cf or not (relu or self._linear):
            return super().call(inputs)
        # the training hot path: transposed conv + bias (+ relu) as one fused primitive
        shape = tuple(inputs._value.shape)
        out = (shape[0],) + tuple(self._spatial_out(shape)) + (self.filters,)
        return conv2d_transpose_bias(inputs, self._read(self.kernel), self._read(self.bias), out, self.strides,
                                     self.padding.upper(), self.dilation_rate, relu=relu)


class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution, as ``keras.layers.Conv1DTranspose``; kernel ``(k, filters, in)``.

    >>> import tapeflow as tf
    >>> tf.keras.layers.Conv1DTranspose(3, 2, strides=2)(tf.ones((1, 4, 5))).shape.as_list()
    [1, 8, 3]
    """

    rank = 1
    _op, _formats = staticmethod(C.conv1d_transpose), ("NCW", "NWC")


def _depthwise(layer, x, kernel):
    """Depthwise conv of rank 1 or 2 (1-D runs as 2-D with a unit height)."""
    cf = layer._cf
    if layer.rank == 1:
        x = A.expand_dims(x, 2 if cf else 1)
        kernel = A.expand_dims(kernel, 0)
        strides, dil = (1,) + layer.strides, (1,) + layer.dilation_rate
    else:
        strides, dil = layer.strides, layer.dilation_rate
    y = C.depthwise_conv2d(x, kernel, strides, layer.padding.upper(), data_format="NCHW" if cf else "NHWC",
                           dilations=dil)
    if layer.rank == 1:
        y = A.squeeze(y, axis=2 if cf else 1)
    return y


class _DepthwiseConv(_BaseConv):
    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        kwargs.pop("filters", None)
        super().__init__(None, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         kernel_initializer=depthwise_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=depthwise_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=depthwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        if int(depth_multiplier) < 1:
            raise ValueError(f"{type(self).__name__}: depth_multiplier must be >= 1, got {depth_multiplier!r}")
        self.depth_multiplier = int(depth_multiplier)

    def build(self, input_shape):
        c = self._channels(input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (c, self.depth_multiplier),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self._add_bias(c * self.depth_multiplier)
        self._spec(c)
        self.built = True

    def _out_channels(self, input_shape):
        c = input_shape[1 if self._cf else -1]
        return None if c is None else c * self.depth_multiplier

    def call(self, inputs):
        if CTX.shape_inference:
            return shape_only(self, inputs)
        return self._finish(_depthwise(self, inputs, self._read(self.kernel)))

    def get_config(self):
        config = super().get_config()
        for k in ("filters", "groups"):
            config.pop(k, None)
        for old, new in (("kernel_initializer", "depthwise_initializer"),
                         ("kernel_regularizer", "depthwise_regularizer"),
                         ("kernel_constraint", "depthwise_constraint")):
            config[new] = config.pop(old)
        config["depth_multiplier"] = self.depth_multiplier
        return config


class DepthwiseConv2D(_DepthwiseConv):
    """Depthwise 2-D convolution: each input channel convolved with its own ``depth_multiplier`` filters.

    Kernel ``(kh, kw, in_channels, depth_multiplier)``; output channel ``c * depth_multiplier + q``.

    >>> import tapeflow as tf
    >>> layer = tf.keras.layers.DepthwiseConv2D(3, depth_multiplier=2)
    >>> layer(tf.ones((1, 6, 6, 3))).shape.as_list(), layer.kernel.shape.as_list()
    ([1, 4, 4, 6], [3, 3, 3, 2])
    """

    rank = 2


class DepthwiseConv1D(_DepthwiseConv):
    """Depthwise 1-D convolution; kernel ``(k, in_channels, depth_multiplier)``.

    >>> import tapeflow as tf
    >>> tf.keras.layers.DepthwiseConv1D(3)(tf.ones((1, 6, 4))).shape.as_list()
    [1, 4, 4]
    """

    rank = 1


class _SeparableConv(_BaseConv):
    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         kernel_initializer=depthwise_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=depthwise_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=depthwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        if int(depth_multiplier) < 1:
            raise ValueError(f"{type(self).__name__}: depth_multiplier must be >= 1, got {depth_multiplier!r}")
        self.depth_multiplier = int(depth_multiplier)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape):
        c = self._channels(input_shape)
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (c, self.depth_multiplier), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint, name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.rank + (c * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, name="pointwise_kernel")
        self._add_bias(self.filters)
        self._spec(c)
        self.built = True

    def call(self, inputs):
        if CTX.shape_inference:
            return shape_only(self, inputs)
        y = _depthwise(self, inputs, self._read(self.depthwise_kernel))
        pw = self._read(self.pointwise_kernel)
        if self.rank == 1:
            y = C.conv1d(y, pw, 1, "VALID", data_format="NCW" if self._cf else "NWC")
        else:
            y = C.conv2d(y, pw, 1, "VALID", data_format="NCHW" if self._cf else "NHWC")
        return self._finish(y)

    def get_config(self):
        config = super().get_config()
        config.pop("groups", None)
        for old, new in (("kernel_initializer", "depthwise_initializer"),
                         ("kernel_regularizer", "depthwise_regularizer"),
                         ("kernel_constraint", "depthwise_constraint")):
            config[new] = config.pop(old)
        config.update({
            "depth_multiplier": self.depth_multiplier,
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
        })
        return config


class SeparableConv2D(_SeparableConv):
    """Depthwise 2-D convolution then a 1x1 convolution, as ``keras.layers.SeparableConv2D``.

    Weights ``[depthwise_kernel (kh, kw, in, dm), pointwise_kernel (1, 1, in*dm, filters), bias]``.

    >>> import tapeflow as tf
    >>> layer = tf.keras.layers.SeparableConv2D(5, 3, padding="same")
    >>> layer(tf.ones((1, 6, 6, 3))).shape.as_list(), [w.shape.as_list() for w in layer.weights]
    ([1, 6, 6, 5], [[3, 3, 3, 1], [1, 1, 3, 5], [5]])
    """

    rank = 2


class SeparableConv1D(_SeparableConv):
    """Depthwise 1-D convolution then a pointwise one; weights as SeparableConv2D with one spatial axis.

    >>> import tapeflow as tf
    >>> tf.keras.layers.SeparableConv1D(2, 3)(tf.ones((1, 6, 4))).shape.as_list()
    [1, 4, 2]
    """

    rank = 1


Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D

__all__ = ["Conv1D", "Conv2D", "Conv1DTranspose", "Conv2DTranspose", "DepthwiseConv1D", "DepthwiseConv2D",
           "SeparableConv1D", "SeparableConv2D", "Convolution1D", "Convolution2D", "Convolution1DTranspose",
           "Convolution2DTranspose", "SeparableConvolution1D", "SeparableConvolution2D"]
