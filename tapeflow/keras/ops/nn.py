"""``keras.ops.nn``: activations, softmax, one-hot, cross-entropies and moments (differentiable).

>>> from tapeflow import keras
>>> keras.ops.softmax(keras.ops.zeros((1, 4))).numpy().tolist()
[[0.25, 0.25, 0.25, 0.25]]
"""
from __future__ import annotations

import numpy as np

from ... import backend as B
from ...autodiff.tensor import Tensor
from ...ops import array_ops as A
from ...ops import math_ops as M
from ...ops import nn_ops as N
from .numpy import _float, _t


def relu(x):
    return N.relu(_float(x))


def relu6(x):
    return N.relu6(_float(x))


def sigmoid(x):
    return M.sigmoid(_float(x))


def tanh(x):
    return M.tanh(_float(x))


def softplus(x):
    return M.softplus(_float(x))


def softsign(x):
    return N.softsign(_float(x))


def silu(x):
    return N.silu(_float(x))


swish = silu


def gelu(x, approximate=True):
    """GELU; Keras 3's default is the tanh approximation."""
    return N.gelu(_float(x), approximate=approximate)


def elu(x, alpha=1.0):
    return N.elu(_float(x), alpha=alpha)


def selu(x):
    return N.selu(_float(x))


def leaky_relu(x, negative_slope=0.2):
    return N.leaky_relu(_float(x), alpha=negative_slope)


def hard_sigmoid(x):
    return N.hard_sigmoid(_float(x))


def hard_silu(x):
    return N.hard_silu(_float(x))


hard_swish = hard_silu


def mish(x):
    return N.mish(_float(x))


def log_sigmoid(x):
    return N.log_sigmoid(_float(x))


def softmax(x, axis=-1):
    return N.softmax(_float(x), axis=axis)


def log_softmax(x, axis=-1):
    return N.log_softmax(_float(x), axis=axis)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot rows for integer class indices (an out-of-range index gives an all-zero row)."""
    x = _t(x)
    if x._value.dtype.kind not in "iu":
        x = Tensor._wrap(x._value.astype(np.int64))
    return A.one_hot(x, int(num_classes), axis=axis, dtype=dtype or B.floatx())


def multi_hot(inputs, num_classes, axis=-1, dtype=None, sparse=False):
    """Keras's multi-hot: ``one_hot(inputs, axis=axis)`` reduced by max over axis 1 (axis 0 for 1-D inputs).

    >>> multi_hot(np.array([[0, 2], [1, 1]]), 3).numpy().tolist()
    [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    x = _t(inputs)
    oh = one_hot(x, num_classes, axis=axis, dtype=dtype)._value
    return Tensor._wrap(oh.max(axis=1 if x._value.ndim > 1 else 0))


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy (no reduction, as Keras's op)."""
    t, o = _float(target), _float(output)
    if from_logits:
        return N.sigmoid_cross_entropy_with_logits(labels=t, logits=o)
    eps = 1e-7
    o = A.clip_by_value(o, eps, 1 - eps)
    return M.negative(M.add(M.multiply(t, M.log(o)), M.multiply(M.subtract(1.0, t), M.log(M.subtract(1.0, o)))))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy over ``axis`` per sample (no batch reduction)."""
    from ...ops import reduce_ops as R
    t, o = _float(target), _float(output)
    if from_logits:
        return N.softmax_cross_entropy_with_logits(labels=t, logits=o, axis=axis)
    o = M.divide(o, R.reduce_sum(o, axis=axis, keepdims=True))
    o = A.clip_by_value(o, 1e-7, 1 - 1e-7)
    return M.negative(R.reduce_sum(M.multiply(t, M.log(o)), axis=axis))


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    t = _t(target)
    t = Tensor._wrap(t._value.astype(np.int64).reshape(t._value.shape[:_float(output)._value.ndim - 1]))
    o = _float(output)
    if from_logits:
        return N.sparse_softmax_cross_entropy_with_logits(labels=t, logits=o)
    return categorical_crossentropy(one_hot(t, o._value.shape[axis], dtype=o._value.dtype), o, axis=axis)


def moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) over ``axes``."""
    return N.moments(_float(x), axes, keepdims=keepdims)


def _norm_axes(x: Tensor, axis) -> tuple:
    nd = x._value.ndim
    axes = tuple(sorted(axis)) if isinstance(axis, (list, tuple)) else (axis,)
    if any(not -nd <= a < nd for a in axes):
        raise ValueError(f"axis {axis} is out of bounds for an input of shape {x._value.shape}")
    return tuple(sorted(a % nd for a in axes))


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """``x * rsqrt(mean(x^2 over axis) + epsilon) * scale`` (Zhang & Sennrich's RMSNorm; ``epsilon`` defaults to
    ``keras.config.epsilon()``, 1e-7).

    >>> from tapeflow import keras
    >>> y = keras.ops.rms_normalization(keras.ops.convert_to_tensor([[3.0, 4.0]]), epsilon=0.0)
    >>> [round(float(v), 4) for v in y[0]]
    [0.8485, 1.1314]
    """
    from ..backend import epsilon as _default_epsilon
    x = _float(x)
    eps = _default_epsilon() if epsilon is None else float(epsilon)
    from ...ops import reduce_ops as R
    mean_sq = R.reduce_mean(M.square(x), axis=_norm_axes(x, axis), keepdims=True)
    out = M.multiply(x, M.rsqrt(M.add(mean_sq, eps)))
    return out if scale is None else M.multiply(out, _t(scale, x._value.dtype))


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, rms_scaling=False):
    """Normalize ``x`` over ``axis`` to zero mean and unit variance, then ``* gamma + beta`` (Keras 3's op;
    ``rms_scaling=True``: ``x / sqrt(var + epsilon) * gamma``, no centring).

    >>> from tapeflow import keras
    >>> keras.ops.layer_normalization(keras.ops.convert_to_tensor([[1.0, 3.0]]), epsilon=0.0).numpy().tolist()
    [[-1.0, 1.0]]
    """
    from ..backend import epsilon as _default_epsilon
    from ...ops import reduce_ops as R
    from ...ops.norm_ops import fused_normalize
    x = _float(x)
    eps = _default_epsilon() if epsilon is None else float(epsilon)
    axes, dtype = _norm_axes(x, axis), x._value.dtype
    if rms_scaling:
        out = M.multiply(x, M.rsqrt(M.add(R.reduce_variance(x, axis=axes, keepdims=True), eps)))
        return out if gamma is None else M.multiply(out, _t(gamma, dtype))
    bshape = tuple(d if i in axes else 1 for i, d in enumerate(x._value.shape))

    def param(p, fill):  # gamma/beta of the normalized axes' shape, lined up with them
        if p is None:
            return np.asarray(fill, dtype)
        p = _t(p, dtype)
        return A.reshape(p, bshape) if p._value.size == int(np.prod(bshape)) else p
    return fused_normalize(x, param(gamma, 1.0), param(beta, 0.0), axes=axes, epsilon=eps)[0]


def adaptive_average_pool(inputs, output_size, data_format=None):
    """Mean over PyTorch's adaptive bins, to ``output_size`` per spatial axis (``keras/layers/adaptive_pooling.py``).

    >>> from tapeflow import keras
    >>> keras.ops.adaptive_average_pool(keras.ops.ones((2, 9, 9, 3)), 4).shape.as_list()
    [2, 4, 4, 3]
    """
    from ..layers.adaptive_pooling import adaptive_pool
    return adaptive_pool(inputs, output_size, "average", data_format, "adaptive_average_pool")


def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max over PyTorch's adaptive bins, to ``output_size`` per spatial axis."""
    from ..layers.adaptive_pooling import adaptive_pool
    return adaptive_pool(inputs, output_size, "max", data_format, "adaptive_max_pool")


def normalize(x, axis=-1, order=2, epsilon=None):
    if order != 2:
        from ...ops import reduce_ops as R
        x = _float(x)
        return M.divide(x, M.maximum(R.norm(x, ord=order, axis=axis, keepdims=True), epsilon or 1e-12))
    return N.l2_normalize(_float(x), axis=axis, epsilon=epsilon or 1e-12)


def dropout(x, rate, noise_shape=None, seed=None):
    from ..random import dropout as _dropout
    return _dropout(x, rate, noise_shape=noise_shape, seed=seed)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution, channels-last (as ``tf.nn.convolution``)."""
    from ...ops import conv_ops
    if data_format == "channels_first":
        raise NotImplementedError("keras.ops.conv: only data_format='channels_last' is supported")
    return conv_ops.convolution(_float(inputs), _float(kernel), strides=strides, padding=padding.upper(),
                                dilations=dilation_rate)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    from ...ops import pool_ops
    return pool_ops.max_pool2d(_float(inputs), pool_size, strides or pool_size, padding.upper())


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    from ...ops import pool_ops
    return pool_ops.avg_pool2d(_float(inputs), pool_size, strides or pool_size, padding.upper())
