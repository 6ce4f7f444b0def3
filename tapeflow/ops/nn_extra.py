"""More of ``tf.nn``, composed from differentiable ops: batch_normalization and the moments helpers, l2_loss,
weighted/Poisson losses, crelu, local response normalization, depth_to_space / space_to_depth, atrous and
generic convolution, max_pool_with_argmax, top_k / in_top_k, zero_fraction and the distributed-loss helpers.

>>> import tapeflow as tf
>>> float(tf.nn.l2_loss(tf.constant([3.0, 4.0])))
12.5
>>> tf.nn.depth_to_space(tf.reshape(tf.range(8.0), (1, 1, 2, 4)), 2).numpy().reshape(-1).tolist()
[0.0, 1.0, 4.0, 5.0, 2.0, 3.0, 6.0, 7.0]
"""
from __future__ import annotations

import numpy as np

from ..autodiff.tensor import Tensor, convert_to_tensor
from . import array_ops as A
from . import math_ops as M
from . import reduce_ops as R


def _f(x) -> Tensor:
    t = convert_to_tensor(x)
    return t if t._value.dtype.kind == "f" else A.cast(t, "float32")


def _like(v, x: Tensor) -> Tensor:
    """``v`` as a tensor of ``x``'s dtype (Python numbers and arrays adopt it, as in TensorFlow)."""
    return v if isinstance(v, Tensor) else convert_to_tensor(np.asarray(v, x._value.dtype))


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None) -> Tensor:
    """``(x - mean) * scale / sqrt(variance + variance_epsilon) + offset`` (``offset``/``scale`` may be None)."""
    x = _f(x)
    inv = M.rsqrt(M.add(_like(variance, x), _like(variance_epsilon, x)))
    if scale is not None:
        inv = M.multiply(inv, _like(scale, x))
    y = M.multiply(M.subtract(x, _like(mean, x)), inv)
    return y if offset is None else M.add(y, _like(offset, x))


def sufficient_statistics(x, axes, shift=None, keepdims=False, name=None):
    """(count, sum of x - shift, sum of (x - shift)^2, shift) over ``axes``."""
    x = _f(x)
    axes = tuple(int(a) for a in np.atleast_1d(axes))
    count = float(np.prod([x._value.shape[a] for a in axes]))
    d = x if shift is None else M.subtract(x, shift)
    return (Tensor._wrap(np.asarray(count, x._value.dtype)), R.reduce_sum(d, axis=axes, keepdims=keepdims),
            R.reduce_sum(M.square(d), axis=axes, keepdims=keepdims), shift)


def normalize_moments(counts, mean_ss, variance_ss, shift, name=None):
    """(mean, variance) from ``sufficient_statistics``."""
    divisor = M.reciprocal(_f(counts))
    shifted_mean = M.multiply(mean_ss, divisor)
    mean = shifted_mean if shift is None else M.add(shifted_mean, shift)
    return mean, M.subtract(M.multiply(variance_ss, divisor), M.square(shifted_mean))


def weighted_moments(x, axes, frequency_weights, keepdims=False, name=None):
    """(mean, variance) of ``x`` over ``axes`` with ``frequency_weights`` (broadcast against x)."""
    x = _f(x)
    w = _like(frequency_weights, x)
    axes = tuple(int(a) for a in np.atleast_1d(axes))
    total = R.reduce_sum(M.multiply(w, A.ones_like(x)), axis=axes, keepdims=True)
    mean = M.divide(R.reduce_sum(M.multiply(w, x), axis=axes, keepdims=True), total)
    var = M.divide(R.reduce_sum(M.multiply(w, M.square(M.subtract(x, mean))), axis=axes, keepdims=True), total)
    if not keepdims:
        mean, var = A.squeeze(mean, axes), A.squeeze(var, axes)
    return mean, var


def l2_loss(t, name=None) -> Tensor:
    """``sum(t ** 2) / 2``."""
    return M.multiply(R.reduce_sum(M.square(_f(t))), 0.5)


def weighted_cross_entropy_with_logits(labels, logits, pos_weight, name=None) -> Tensor:
    """Sigmoid cross-entropy with the positive term weighted: ``(1 - z) x + (1 + (q - 1) z) log(1 + exp(-x))``,
    computed stably as TensorFlow does."""
    x = _f(logits)
    z = _like(labels, x)
    log_weight = M.add(1.0, M.multiply(M.subtract(_like(pos_weight, x), 1.0), z))
    softplus_neg = M.add(M.log1p(M.exp(M.negative(M.abs(x)))), M.maximum(M.negative(x), 0.0))
    return M.add(M.multiply(M.subtract(1.0, z), x), M.multiply(log_weight, softplus_neg))


def log_poisson_loss(targets, log_input, compute_full_loss=False, name=None) -> Tensor:
    """``exp(c) - z * c`` (plus Stirling's ``z log z - z + log(2 pi z) / 2`` for z > 1 with compute_full_loss)."""
    c = _f(log_input)
    z = _like(targets, c)
    loss = M.subtract(M.exp(c), M.multiply(z, c))
    if not compute_full_loss:
        return loss
    zv = z._value
    safe = np.where(zv > 1, zv, 1.0)
    stirling = np.where(zv > 1, safe * np.log(safe) - safe + 0.5 * np.log(2 * np.pi * safe), 0.0)
    return M.add(loss, Tensor._wrap(stirling.astype(zv.dtype)))


def crelu(features, name=None, axis=-1) -> Tensor:
    """``concat([relu(x), relu(-x)], axis)``."""
    from .nn_ops import relu
    x = _f(features)
    return A.concat([relu(x), relu(M.negative(x))], axis=axis)


def local_response_normalization(input, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5,  # noqa: A002
                                 name=None) -> Tensor:
    """``x / (bias + alpha * sum of x^2 over the 2r+1 neighbouring channels) ** beta`` (NHWC)."""
    x = _f(input)
    sq = M.square(x)
    c = x._value.shape[-1]
    r = int(depth_radius)
    padded = A.pad(sq, [[0, 0]] * (x._value.ndim - 1) + [[r, r]])
    window = M.add_n([A.getitem(padded, (Ellipsis, slice(k, k + c))) for k in range(2 * r + 1)])
    return M.divide(x, M.pow(M.add(bias, M.multiply(alpha, window)), beta))


lrn = local_response_normalization


def depth_to_space(input, block_size, data_format="NHWC", name=None) -> Tensor:  # noqa: A002
    """Move blocks of channels into ``block_size x block_size`` spatial tiles (NHWC), as ``tf.nn.depth_to_space``."""
    x = convert_to_tensor(input)
    if data_format != "NHWC":
        raise ValueError(f"depth_to_space: only data_format='NHWC' is supported, got {data_format!r}")
    b = int(block_size)
    n, h, w, c = x._value.shape
    if c % (b * b):
        raise ValueError(f"depth_to_space: channels ({c}) must be divisible by block_size^2 ({b * b})")
    y = A.reshape(x, (n, h, w, b, b, c // (b * b)))
    return A.reshape(A.transpose(y, (0, 1, 3, 2, 4, 5)), (n, h * b, w * b, c // (b * b)))


def space_to_depth(input, block_size, data_format="NHWC", name=None) -> Tensor:  # noqa: A002
    """The inverse of ``depth_to_space``: ``block_size x block_size`` tiles become channels (NHWC)."""
    x = convert_to_tensor(input)
    if data_format != "NHWC":
        raise ValueError(f"space_to_depth: only data_format='NHWC' is supported, got {data_format!r}")
    b = int(block_size)
    n, h, w, c = x._value.shape
    if h % b or w % b:
        raise ValueError(f"space_to_depth: height and width ({h}, {w}) must be divisible by block_size ({b})")
    y = A.reshape(x, (n, h // b, b, w // b, b, c))
    return A.reshape(A.transpose(y, (0, 1, 3, 2, 4, 5)), (n, h // b, w // b, b * b * c))


def atrous_conv2d(value, filters, rate, padding, name=None) -> Tensor:
    """``conv2d`` with dilation ``rate`` (stride 1)."""
    from .conv_ops import conv2d
    return conv2d(value, filters, 1, padding, dilations=int(rate))


def atrous_conv2d_transpose(value, filters, output_shape, rate, padding, name=None) -> Tensor:
    from .conv_ops import conv2d_transpose
    return conv2d_transpose(value, filters, output_shape, 1, padding, dilations=int(rate))


def conv_transpose(input, filters, output_shape, strides, padding="SAME", data_format=None,  # noqa: A002
                   dilations=None, name=None) -> Tensor:
    """``conv1d_transpose`` / ``conv2d_transpose`` / ``conv3d_transpose`` by the rank of ``input``."""
    from . import conv_ops
    rank = convert_to_tensor(input)._value.ndim - 2
    kw = {} if data_format is None else {"data_format": data_format}
    if rank == 1:
        return conv_ops.conv1d_transpose(input, filters, output_shape, strides, padding, dilations=dilations, **kw)
    if rank == 2:
        return conv_ops.conv2d_transpose(input, filters, output_shape, strides, padding, dilations=dilations, **kw)
    from . import conv3d_ops
    return conv3d_ops.conv3d_transpose(input, filters, output_shape, strides, padding, dilations=dilations, **kw)


def max_pool_with_argmax(input, ksize, strides, padding, data_format="NHWC", output_dtype="int64",  # noqa: A002
                         include_batch_in_index=False, name=None):
    """(max_pool2d output, flat index of each maximum): ``(y * width + x) * channels + c``, plus
    ``b * height * width * channels`` with ``include_batch_in_index``."""
    from .pool_ops import max_pool2d
    x = convert_to_tensor(input)
    out = max_pool2d(x, ksize, strides, padding)
    v = x._value
    n, h, w, c = v.shape
    k = [int(s) for s in np.broadcast_to(np.atleast_1d(ksize), (2,))] if np.size(ksize) <= 2 else \
        [int(s) for s in np.asarray(ksize)[1:3]]
    s = [int(q) for q in np.broadcast_to(np.atleast_1d(strides), (2,))] if np.size(strides) <= 2 else \
        [int(q) for q in np.asarray(strides)[1:3]]
    oh, ow = out._value.shape[1:3]
    if padding == "SAME":
        ph, pw = max((oh - 1) * s[0] + k[0] - h, 0), max((ow - 1) * s[1] + k[1] - w, 0)
        top, left = ph // 2, pw // 2
    else:
        top = left = 0
    best = np.full((n, oh, ow, c), -np.inf)
    arg = np.zeros((n, oh, ow, c), np.int64)
    for i in range(k[0]):
        for j in range(k[1]):
            rows = np.arange(oh) * s[0] + i - top
            cols = np.arange(ow) * s[1] + j - left
            ok = (rows[:, None] >= 0) & (rows[:, None] < h) & (cols[None, :] >= 0) & (cols[None, :] < w)
            vals = v[:, np.clip(rows, 0, h - 1)][:, :, np.clip(cols, 0, w - 1)]
            vals = np.where(ok[None, :, :, None], vals, -np.inf)
            flat = (np.clip(rows, 0, h - 1)[:, None] * w + np.clip(cols, 0, w - 1)[None, :])[None, :, :, None] * c \
                + np.arange(c)
            better = vals > best
            best = np.where(better, vals, best)
            arg = np.where(better, flat, arg)
    if include_batch_in_index:
        arg = arg + (np.arange(n) * h * w * c)[:, None, None, None]
    return out, Tensor._wrap(arg.astype(np.dtype(str(getattr(output_dtype, "name", output_dtype)))))


def top_k(input, k=1, sorted=True, index_type="int32", name=None):  # noqa: A002
    """(values, indices) of the ``k`` largest entries along the last axis, ties to the lower index; the values
    are differentiable."""
    x = convert_to_tensor(input)
    idx = np.argsort(-x._value, axis=-1, kind="stable")[..., :int(k)]
    grid = list(np.indices(idx.shape, sparse=True))
    grid[-1] = idx
    return A.getitem(x, tuple(grid)), Tensor._wrap(idx.astype(np.dtype(str(getattr(index_type, "name", index_type)))))


def in_top_k(targets, predictions, k, name=None) -> Tensor:
    """Whether each target's score is among the ``k`` largest of its row (ties count as in, as TensorFlow)."""
    p = convert_to_tensor(predictions)._value
    t = np.asarray(convert_to_tensor(targets)._value).astype(np.intp)
    score = np.take_along_axis(p, t[:, None], axis=-1)
    return Tensor._wrap(np.sum(p > score, axis=-1) < int(k))


def zero_fraction(value, name=None) -> Tensor:
    """The fraction of entries equal to zero (float32)."""
    v = np.asarray(convert_to_tensor(value)._value)
    return Tensor._wrap(np.asarray(np.mean(v == 0) if v.size else np.nan, np.float32))


def compute_average_loss(per_example_loss, sample_weight=None, global_batch_size=None) -> Tensor:
    """``sum(per_example_loss * sample_weight) / global_batch_size`` (default: the local batch size)."""
    loss = _f(per_example_loss)
    if sample_weight is not None:
        loss = M.multiply(loss, sample_weight)
    n = loss._value.shape[0] if global_batch_size is None else int(global_batch_size)
    return M.divide(R.reduce_sum(loss), float(n))


def scale_regularization_loss(regularization_loss) -> Tensor:
    """The regularization loss divided by the number of replicas (one here)."""
    return _f(regularization_loss)


def pool(input, window_shape, pooling_type, strides=None, padding="VALID", data_format=None,  # noqa: A002
         dilations=None, name=None) -> Tensor:
    """``max_pool``/``avg_pool`` of rank 1, 2 or 3 by ``len(window_shape)`` (no dilation)."""
    from . import pool_ops
    if dilations is not None and any(int(d) != 1 for d in np.atleast_1d(dilations)):
        raise ValueError("pool: dilations other than 1 are not supported")
    if pooling_type not in ("MAX", "AVG"):
        raise ValueError(f"pool: pooling_type must be 'MAX' or 'AVG', got {pooling_type!r}")
    rank = len(window_shape)
    strides = window_shape if strides is None else strides
    name = {1: "pool1d", 2: "pool2d", 3: "pool3d"}[rank]
    fn_name = ("max_" if pooling_type == "MAX" else "avg_") + name
    module = pool_ops
    if rank == 3:
        from . import pool3d_ops as module
    kw = {} if data_format is None else {"data_format": data_format}
    return getattr(module, fn_name)(input, window_shape, strides, padding, **kw)


__all__ = ["batch_normalization", "sufficient_statistics", "normalize_moments", "weighted_moments", "l2_loss",
           "weighted_cross_entropy_with_logits", "log_poisson_loss", "crelu", "local_response_normalization", "lrn",
           "depth_to_space", "space_to_depth", "atrous_conv2d", "atrous_conv2d_transpose", "conv_transpose",
           "max_pool_with_argmax", "top_k", "in_top_k", "zero_fraction", "compute_average_loss",
           "scale_regularization_loss", "pool"]
