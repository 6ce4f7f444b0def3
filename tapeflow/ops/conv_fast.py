"""The convolution training hot path: a fused conv2d + bias (+ relu) primitive and array VJP twins.

``conv2d_bias(x, w, b, relu)`` is ``relu?(conv2d(x, w) + b)`` in one pass over the output (the
bias is added to, and relu applied on, the fresh matmul result in place). Its VJP masks the
upstream gradient once by ``ans > 0`` and hands it to the same backprop primitives as
``conv2d``, so it is closed under differentiation like them.

The ``fast`` twins (used by the tape for plain first-order gradients) run the NumPy kernels of
``conv_ops`` directly. ``conv2d_transpose_bias`` does the same for transposed convolutions.
"""
from __future__ import annotations

import threading

import numpy as np

from ..autodiff.tensor import Tensor
from . import array_ops as A
from . import conv_ops as C
from . import reduce_ops as R
from .registry import REGISTRY, bind, defvjp, primitive


# -- fused conv2d + bias (+ relu) ------------------------------------------------------------
def _conv_bias_fwd(x, w, b, relu, strides, dilations, pads, groups):
    y = C._conv_fwd(x, w, strides, dilations, pads, groups)
    y += b
    if relu:
        np.maximum(y, 0, out=y)
    return y


def _masked_t(g: Tensor, ans: Tensor, relu: bool) -> Tensor:
    return A.multiply_mask(g, ans._value > 0) if relu else g


_conv_bias = primitive("conv2d_bias", _conv_bias_fwd)
defvjp(_conv_bias,
       lambda g, ans, x, w, b, relu, **a: bind(C._conv_input, _masked_t(g, ans, relu), w,
                                                input_shape=x._value.shape, **a),
       lambda g, ans, x, w, b, relu, **a: bind(C._conv_filter, x, _masked_t(g, ans, relu),
                                                filter_shape=w._value.shape, **a),
       lambda g, ans, x, w, b, relu, **a: R.reduce_sum(_masked_t(g, ans, relu), axis=(0, 1, 2)))

_LAST = threading.local()  # per thread: .key = (g, ans) of the node being differentiated, .gm its masked g


def _masked(g, ans, relu):
    if not relu:
        return g
    key = getattr(_LAST, "key", None)
    if key is not None and key[0] is g and key[1] is ans:
        return _LAST.gm
    gm = np.multiply(g, ans > 0)  # 5x faster than np.where(ans > 0, g, 0) on large arrays (measured)
    _LAST.key, _LAST.gm = (g, ans), gm
    return gm


def _channel_sums(g):
    """Sum over all but the last axis as one BLAS matrix-vector product (~10x np.sum's speed here)."""
    g2 = np.ascontiguousarray(g).reshape(-1, g.shape[-1])
    return np.ones(g2.shape[0], dtype=g2.dtype) @ g2


def _release(out):
    _LAST.key = _LAST.gm = _LAST.win = None  # the bias gradient is computed last: drop the cached arrays
    return out


def _gwindows(gm, w_shape, a):
    """The window matrix of a transposed convolution's (masked) upstream gradient: its input VJP (a conv2d)
    and its filter VJP both multiply it, so it is built once (the im2col copy of an output-sized array)."""
    key = (w_shape[0], w_shape[1], a["strides"], a["dilations"], a["pads"], a["groups"])
    hit = getattr(_LAST, "win", None)
    if hit is not None and hit[0] is gm and hit[1] == key:
        return hit[2]
    win = C._windows(gm, *key)
    _LAST.win = (gm, key, win)
    return win


_conv_bias.fast = (
    lambda g, ans, x, w, b, relu, **a: C._conv_input_fwd(_masked(g, ans, relu), w, x.shape, **a),
    lambda g, ans, x, w, b, relu, **a: C._conv_filter_fwd(x, _masked(g, ans, relu), w.shape, **a),
    lambda g, ans, x, w, b, relu, **a: _release(_channel_sums(_masked(g, ans, relu))),
)


def conv2d_bias(x: Tensor, w: Tensor, b: Tensor, strides, padding, dilations=None, relu: bool = False) -> Tensor:
    """``relu?(conv2d(x, w, strides, padding, dilations) + b)`` for NHWC ``x`` in one fused primitive.

    >>> import tapeflow as tf
    >>> y = conv2d_bias(tf.ones((1, 4, 4, 1)), tf.ones((3, 3, 1, 2)), tf.constant([-10.0, 1.0]), 1, "VALID",
    ...                 relu=True)
    >>> y.numpy()[0, 0, 0].tolist()
    [0.0, 10.0]
    """
    plain = C._conv2d_nhwc(x, w, strides, padding, dilations, "conv2d_bias", attrs_only=True)
    if b._value.shape != (w._value.shape[3],):
        raise ValueError(f"conv2d_bias: bias must have shape ({w._value.shape[3]},), got {b._value.shape}")
    C._same_dtype(x, b, "conv2d_bias")
    return bind(_conv_bias, x, w, b, relu=bool(relu), **plain)


# -- fused conv2d_transpose + bias (+ relu) ---------------------------------------------------
def _tconv_bias_fwd(x, w, b, relu, input_shape, strides, dilations, pads, groups):
    y = C._conv_input_fwd(x, w, input_shape, strides, dilations, pads, groups)
    y += b
    if relu:
        np.maximum(y, 0, out=y)
    return y


_tconv_bias = primitive("conv2d_transpose_bias", _tconv_bias_fwd)
defvjp(_tconv_bias,
       lambda g, ans, x, w, b, relu, input_shape, **a: bind(C._conv, _masked_t(g, ans, relu), w, **a),
       lambda g, ans, x, w, b, relu, input_shape, **a: bind(C._conv_filter, _masked_t(g, ans, relu), x,
                                                             filter_shape=w._value.shape, **a),
       lambda g, ans, x, w, b, relu, input_shape, **a: R.reduce_sum(_masked_t(g, ans, relu), axis=(0, 1, 2)))
_tconv_bias.fast = (
    lambda g, ans, x, w, b, relu, input_shape, **a: C._conv_windows(
        _gwindows(_masked(g, ans, relu), w.shape, a), w, g.shape[0], a["groups"]),
    lambda g, ans, x, w, b, relu, input_shape, **a: C._filter_windows(
        _gwindows(_masked(g, ans, relu), w.shape, a), x, w.shape, a["groups"]),
    lambda g, ans, x, w, b, relu, input_shape, **a: _release(_channel_sums(_masked(g, ans, relu))),
)


def conv2d_transpose_bias(x: Tensor, w: Tensor, b: Tensor, output_shape, strides, padding, dilations=None,
                          relu: bool = False) -> Tensor:
    """``relu?(conv2d_transpose(x, w, output_shape, strides, padding, dilations) + b)`` for NHWC ``x``, fused.

    ``w`` is (kh, kw, out, in), as ``tf.nn.conv2d_transpose`` and Keras's ``Conv2DTranspose`` kernel.

    >>> import tapeflow as tf
    >>> y = conv2d_transpose_bias(tf.ones((1, 2, 2, 1)), tf.ones((2, 2, 2, 1)), tf.constant([-2.0, 1.0]),
    ...                           [1, 4, 4, 2], 2, "VALID", relu=True)
    >>> y.numpy()[0, 0, 0].tolist()
    [0.0, 2.0]
    """
    attrs = C._transpose_attrs(x, w, output_shape, strides, padding, dilations, False)
    if b._value.shape != (w._value.shape[2],):
        raise ValueError(f"conv2d_transpose_bias: bias must have shape ({w._value.shape[2]},), got {b._value.shape}")
    C._same_dtype(x, b, "conv2d_transpose_bias")
    return bind(_tconv_bias, x, w, b, relu=bool(relu), **attrs)


# -- array twins of the conv2d and conv2d_backprop_input (transposed conv) VJPs ----------------
REGISTRY["conv2d_backprop_input"].fast = (
    lambda h, ans, g, w, input_shape, **a: C._conv_windows(_gwindows(h, w.shape, a), w, h.shape[0], a["groups"]),
    lambda h, ans, g, w, input_shape, **a: _release(C._filter_windows(_gwindows(h, w.shape, a), g, w.shape,
                                                                      a["groups"])),
)
REGISTRY["conv2d"].fast = (
    lambda g, ans, x, w, **a: C._conv_input_fwd(g, w, x.shape, **a),
    lambda g, ans, x, w, **a: C._conv_filter_fwd(x, g, w.shape, **a),
)
