"""More of Keras 3's ``keras.ops.nn``: shrink/threshold activations, sparsemax, batch normalization,
depthwise/separable/transposed convolution, dot-product attention, PSNR, pixel shuffles, fold/unfold, einops-style
rearrange, CTC loss/decoding and segment reductions. All compose differentiable tapeflow ops (gradients come from
their VJPs; ``ctc_loss`` has its own forward-backward VJP) except ``ctc_decode`` and
``segment_max``/``segment_min``/``segment_prod`` (NumPy results, no gradient).

>>> from tapeflow import keras
>>> keras.ops.sparsemax([[1.0, 2.0, 0.0]]).numpy().tolist()
[[0.0, 1.0, 0.0]]
>>> keras.ops.hard_shrink([-1.0, 0.25, 0.75]).numpy().tolist()
[-1.0, 0.0, 0.75]
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor
from ...ops import array_ops as A
from ...ops import conv_ops as C
from ...ops import math_ops as M
from ...ops import nn_ops as N
from ...ops import reduce_ops as R
from ...ops.einsum_ops import einsum
from .numpy import _float, _t

__all__ = ["batch_normalization", "celu", "conv_transpose", "ctc_decode", "ctc_loss", "depth_to_space",
           "depthwise_conv", "dot_product_attention", "fold", "glu", "hard_shrink", "hard_tanh", "psnr", "rearrange",
           "segment_max", "segment_min", "segment_prod", "separable_conv", "soft_shrink", "space_to_depth",
           "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "tanh_shrink", "threshold", "unfold"]


def _c(value, like: Tensor) -> Tensor:
    return Tensor._wrap(np.asarray(value, like._value.dtype))


def _mask(cond: np.ndarray, like: Tensor) -> Tensor:
    return Tensor._wrap(cond.astype(like._value.dtype))


# -- activations -------------------------------------------------------------------------------------------
def celu(x, alpha=1.0):
    """max(x, 0) + alpha * expm1(min(x, 0) / alpha)."""
    x = _float(x)
    a = _c(alpha, x)
    return M.add(N.relu(x), M.multiply(a, M.subtract(M.exp(M.divide(M.minimum(x, _c(0, x)), a)), _c(1, x))))


def glu(x, axis=-1):
    """Gated linear unit: a * sigmoid(b), with a, b the two halves of ``x`` along ``axis``."""
    x = _float(x)
    if x._value.shape[axis] % 2:
        raise ValueError(f"glu: the size of axis {axis} must be even, got shape {x._value.shape}")
    a, b = A.split(x, 2, axis=axis)
    return M.multiply(a, M.sigmoid(b))


def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    x = _float(x)
    return M.multiply(x, _mask(np.abs(x._value) > threshold, x))


def soft_shrink(x, threshold=0.5):
    """x - threshold above it, x + threshold below -threshold, else 0."""
    x = _float(x)
    v = x._value
    shift = np.where(v > threshold, -threshold, np.where(v < -threshold, threshold, 0.0))
    return M.multiply(M.add(x, _c(shift, x)), _mask(np.abs(v) > threshold, x))


def hard_tanh(x):
    """clip(x, -1, 1) (gradient 1 inside, 0 outside)."""
    x = _float(x)
    return A.clip_by_value(x, _c(-1, x), _c(1, x))


def tanh_shrink(x):
    """x - tanh(x)."""
    x = _float(x)
    return M.subtract(x, M.tanh(x))


def sparse_plus(x):
    """0 for x <= -1, (x + 1)^2 / 4 for -1 < x < 1, x for x >= 1."""
    x = _float(x)
    v = x._value
    mid = M.multiply(M.square(M.add(x, _c(1, x))), _c(0.25, x))
    return A.where(v >= 1, x, M.multiply(mid, _mask(v > -1, x)))


def sparse_sigmoid(x):
    """0 for x <= -1, (x + 1) / 2 in between, 1 for x >= 1."""
    x = _float(x)
    return A.clip_by_value(M.multiply(M.add(x, _c(1, x)), _c(0.5, x)), _c(0, x), _c(1, x))


def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2."""
    x = _float(x)
    return M.multiply(M.add(x, M.sqrt(M.add(M.square(x), _c(b, x)))), _c(0.5, x))


def threshold(x, threshold, default_value):
    """x where x > threshold, else ``default_value``."""
    x = _float(x)
    return A.where(x._value > threshold, x, _c(np.full(x._value.shape, default_value), x))


def sparsemax(x, axis=-1):
    """Sparsemax (Martins & Astudillo, 2016): the Euclidean projection of ``x`` onto the simplex along ``axis``.
    Differentiable: the support and its size are constants, tau = (sum of x over the support - 1) / k."""
    x = _float(x)
    v = x._value
    srt = -np.sort(-v, axis=axis)
    cs = np.cumsum(srt, axis=axis)
    shape = [1] * v.ndim
    shape[axis] = -1
    r = np.arange(1, v.shape[axis] + 1).reshape(shape)
    k = np.sum(srt - (cs - 1) / r > 0, axis=axis, keepdims=True)
    tau_v = (np.take_along_axis(cs, k - 1, axis=axis) - 1) / k
    support = _mask(v > tau_v, x)
    tau = M.divide(M.subtract(R.reduce_sum(M.multiply(x, support), axis=axis, keepdims=True), _c(1, x)),
                   _c(k, x))
    return N.relu(M.subtract(x, tau))


# -- normalization, metrics ------------------------------------------------------------------------------
def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """(x - mean) / sqrt(variance + epsilon) * scale + offset, the 1-D statistics laid along ``axis``."""
    x = _float(x)
    shape = [1] * x._value.ndim
    shape[axis] = x._value.shape[axis]

    def vec(t, what):
        t = _t(t, x._value.dtype)
        if t._value.shape != (shape[axis],):
            raise ValueError(f"batch_normalization: {what} must have shape ({shape[axis]},) to match axis {axis} "
                             f"of x with shape {x._value.shape}; got {t._value.shape}")
        return A.reshape(t, shape)
    inv = M.rsqrt(M.add(vec(variance, "variance"), _c(epsilon, x)))
    if scale is not None:
        inv = M.multiply(inv, vec(scale, "scale"))
    out = M.multiply(M.subtract(x, vec(mean, "mean")), inv)
    return out if offset is None else M.add(out, vec(offset, "offset"))


def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio 20 log10(max_val) - 10 log10(mean((x1 - x2)^2)) over all entries.

    >>> from tapeflow import keras
    >>> round(float(keras.ops.psnr([0.0, 1.0], [0.0, 0.9], 1.0)), 4)
    23.0103
    """
    x1, x2 = _float(x1), _float(x2)
    if x1._value.shape != x2._value.shape:
        raise ValueError(f"psnr: the shapes of x1 {x1._value.shape} and x2 {x2._value.shape} must match")
    if x2._value.dtype != x1._value.dtype:
        x2 = A.cast(x2, x1._value.dtype)
    mse = R.reduce_mean(M.square(M.subtract(x1, x2)))
    ln10 = np.log(10.0)
    return M.subtract(_c(20 * np.log10(float(max_val)), x1), M.multiply(M.log(mse), _c(10 / ln10, x1)))


# -- convolutions -------------------------------------------------------------------------------------------
def _cf(data_format):
    from ...keras import backend as KB
    return (data_format or KB.image_data_format()) == "channels_first"


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Depthwise 1-D or 2-D convolution; kernel (kw, in, mult) or (kh, kw, in, mult)."""
    x, w = _float(inputs), _float(kernel)
    cf = _cf(data_format)
    if x._value.ndim == 3:
        x = A.expand_dims(x, 2 if cf else 1)
        w = A.expand_dims(w, 0)
        strides = (1,) + _tuple(strides, 1)
        dilation_rate = (1,) + _tuple(dilation_rate, 1)
        y = C.depthwise_conv2d(x, w, _tuple(strides, 2), padding.upper(), "NCHW" if cf else "NHWC",
                               _tuple(dilation_rate, 2))
        return A.squeeze(y, 2 if cf else 1)
    if x._value.ndim != 4:
        raise ValueError(f"depthwise_conv: expected a rank-3 or rank-4 input, got shape {x._value.shape}")
    return C.depthwise_conv2d(x, w, _tuple(strides, 2), padding.upper(), "NCHW" if cf else "NHWC",
                              _tuple(dilation_rate, 2))


def _tuple(v, n):
    if isinstance(v, (list, tuple)):
        return tuple(int(e) for e in v)
    return (int(v),) * n


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Depthwise convolution followed by a 1x1 (pointwise) convolution."""
    from .nn import conv
    y = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    cf = _cf(data_format)
    if cf:
        perm = (0,) + tuple(range(2, y._value.ndim)) + (1,)
        y = A.transpose(y, perm)
    out = conv(y, pointwise_kernel, 1, "valid", "channels_last")
    if cf:
        out = A.transpose(out, (0, out._value.ndim - 1) + tuple(range(1, out._value.ndim - 1)))
    return out


def _deconv_length(n, k, padding, output_padding, stride, dilation):
    k = k + (k - 1) * (dilation - 1)
    if output_padding is None:
        return n * stride + max(k - stride, 0) if padding == "valid" else n * stride
    pad = k // 2 if padding == "same" else 0
    return (n - 1) * stride + k - 2 * pad + output_padding


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format=None,
                   dilation_rate=1):
    """Transposed 1-D/2-D convolution; kernel (kw, out, in) or (kh, kw, out, in); output size as Keras's
    ``compute_conv_transpose_output_shape``."""
    x, w = _float(inputs), _float(kernel)
    cf = _cf(data_format)
    nd = x._value.ndim - 2
    if nd not in (1, 2) or w._value.ndim != nd + 2:
        raise ValueError(f"conv_transpose: expected a rank-3/4 input and a kernel of the same rank, got shapes "
                         f"{x._value.shape} and {w._value.shape}")
    s, d = _tuple(strides, nd), _tuple(dilation_rate, nd)
    op = None if output_padding is None else _tuple(output_padding, nd)
    sp = x._value.shape[2:] if cf else x._value.shape[1:-1]
    size = [_deconv_length(sp[i], w._value.shape[i], padding, None if op is None else op[i], s[i], d[i])
            for i in range(nd)]
    cout = w._value.shape[-2]
    n = x._value.shape[0]
    oshape = [n, cout] + size if cf else [n] + size + [cout]
    fmt = ("NCW" if nd == 1 else "NCHW") if cf else ("NWC" if nd == 1 else "NHWC")
    fn = C.conv1d_transpose if nd == 1 else C.conv2d_transpose
    return fn(x, w, oshape, s, padding.upper(), data_format=fmt, dilations=d)


# -- attention ------------------------------------------------------------------------------------------------
def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """softmax(q k^T * scale + bias, masked) v for (B, T, N, H) query and (B, S, N, H) key/value.

    ``mask`` (bool, broadcastable to (B, N, T, S)) and ``is_causal`` set disallowed logits to -0.7 * float max,
    as Keras; ``scale`` defaults to 1/sqrt(H). ``flash_attention`` must be falsy (no flash kernel here)."""
    if flash_attention:
        raise ValueError("dot_product_attention: flash_attention is not supported by tapeflow; pass None/False")
    q, k, v = _float(query), _float(key), _float(value)
    if q._value.ndim != 4 or k._value.ndim != 4 or v._value.ndim != 4:
        raise ValueError(f"dot_product_attention: expected rank-4 (B, T, N, H) inputs, got shapes "
                         f"{q._value.shape}, {k._value.shape}, {v._value.shape}")
    if q._value.shape[-1] != k._value.shape[-1] or k._value.shape[:3] != v._value.shape[:3]:
        raise ValueError(f"dot_product_attention: query {q._value.shape}, key {k._value.shape} and value "
                         f"{v._value.shape} disagree (expected (B, T, N, H), (B, S, N, H), (B, S, N, H))")
    nq, nk = q._value.shape[2], k._value.shape[2]
    if nk != nq:
        if nq % nk:
            raise ValueError(f"dot_product_attention: query heads {nq} must be a multiple of key heads {nk}")
        k = A.gather(k, np.repeat(np.arange(nk), nq // nk), axis=2)
        v = A.gather(v, np.repeat(np.arange(nk), nq // nk), axis=2)
    scale = 1.0 / np.sqrt(k._value.shape[-1]) if scale is None else scale
    logits = M.multiply(einsum("BTNH,BSNH->BNTS", q, k), _c(scale, q))
    if bias is not None:
        logits = M.add(logits, _t(bias, q._value.dtype))
    if attn_logits_soft_cap is not None:
        cap = _c(attn_logits_soft_cap, q)
        logits = M.multiply(M.tanh(M.divide(logits, cap)), cap)
    keep = None
    if mask is not None:
        keep = np.broadcast_to(np.asarray(getattr(mask, "_value", mask)).astype(bool), logits._value.shape)
    if is_causal:
        t, s = logits._value.shape[2:]
        causal = np.broadcast_to(np.tril(np.ones((t, s), bool)), logits._value.shape)
        keep = causal if keep is None else keep & causal
    if keep is not None:
        big = -0.7 * (65500.0 if q._value.dtype == np.float16 else 3.38953e38)
        logits = A.where(keep, logits, _c(np.full(logits._value.shape, big), q))
    probs = N.softmax(logits, axis=-1)
    return einsum("BNTS,BSNH->BTNH", probs, v)


# -- rearrangements ------------------------------------------------------------------------------------------
def depth_to_space(x, block_size, data_format="channels_last"):
    """Move depth into spatial blocks (pixel shuffle): (N, H, W, C) -> (N, H*b, W*b, C/b^2)."""
    x = _t(x)
    b = int(block_size)
    if data_format == "channels_last":
        n, h, w, c = x._value.shape
        _check_div(c, b * b, "depth_to_space", x)
        y = A.transpose(A.reshape(x, (n, h, w, b, b, c // (b * b))), (0, 1, 3, 2, 4, 5))
        return A.reshape(y, (n, h * b, w * b, c // (b * b)))
    n, c, h, w = x._value.shape
    _check_div(c, b * b, "depth_to_space", x)
    y = A.transpose(A.reshape(x, (n, c // (b * b), b, b, h, w)), (0, 1, 4, 2, 5, 3))
    return A.reshape(y, (n, c // (b * b), h * b, w * b))


def space_to_depth(x, block_size, data_format="channels_last"):
    """The inverse of ``depth_to_space``: (N, H, W, C) -> (N, H/b, W/b, C*b^2)."""
    x = _t(x)
    b = int(block_size)
    if data_format == "channels_last":
        n, h, w, c = x._value.shape
        _check_div(h, b, "space_to_depth", x)
        _check_div(w, b, "space_to_depth", x)
        y = A.transpose(A.reshape(x, (n, h // b, b, w // b, b, c)), (0, 1, 3, 2, 4, 5))
        return A.reshape(y, (n, h // b, w // b, c * b * b))
    n, c, h, w = x._value.shape
    _check_div(h, b, "space_to_depth", x)
    _check_div(w, b, "space_to_depth", x)
    y = A.transpose(A.reshape(x, (n, c, h // b, b, w // b, b)), (0, 1, 3, 5, 2, 4))
    return A.reshape(y, (n, c * b * b, h // b, w // b))


def _check_div(v, b, op, x):
    if v % b:
        raise ValueError(f"{op}: dimension {v} of input shape {x._value.shape} is not divisible by {b}")


def _patch_index(h, w, k, d, s):
    oh = (h - (k[0] - 1) * d[0] - 1) // s[0] + 1
    ow = (w - (k[1] - 1) * d[1] - 1) // s[1] + 1
    ki, kj = np.meshgrid(np.arange(k[0]) * d[0], np.arange(k[1]) * d[1], indexing="ij")
    oi, oj = np.meshgrid(np.arange(oh) * s[0], np.arange(ow) * s[1], indexing="ij")
    return ki.reshape(-1, 1) + oi.reshape(1, -1), kj.reshape(-1, 1) + oj.reshape(1, -1)  # (K, L) each


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of an (N, C, H, W) tensor as (N, C*kh*kw, L) (PyTorch's ``unfold``); differentiable.

    >>> from tapeflow import keras
    >>> keras.ops.unfold(keras.ops.reshape(keras.ops.arange(9.0), (1, 1, 3, 3)), 2).numpy()[0].tolist()
    [[0.0, 1.0, 3.0, 4.0], [1.0, 2.0, 4.0, 5.0], [3.0, 4.0, 6.0, 7.0], [4.0, 5.0, 7.0, 8.0]]
    """
    x = _t(x)
    if x._value.ndim != 4:
        raise ValueError(f"unfold: expected an (N, C, H, W) input, got shape {x._value.shape}")
    k, d, p, s = (_tuple(v, 2) for v in (kernel_size, dilation, padding, stride))
    if any(p):
        x = A.pad(x, [[0, 0], [0, 0], [p[0], p[0]], [p[1], p[1]]])
    n, c, h, w = x._value.shape
    ii, jj = _patch_index(h, w, k, d, s)
    patches = A.getitem(x, (slice(None), slice(None), ii, jj))  # (N, C, K, L)
    return A.reshape(patches, (n, c * ii.shape[0], ii.shape[1]))


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum (N, C*kh*kw, L) blocks back into an (N, C, H, W) tensor (PyTorch's ``fold``); differentiable."""
    x = _t(x)
    o, k, d, p, s = (_tuple(v, 2) for v in (output_size, kernel_size, dilation, padding, stride))
    if x._value.ndim != 3 or x._value.shape[1] % (k[0] * k[1]):
        raise ValueError(f"fold: expected an (N, C*{k[0]}*{k[1]}, L) input, got shape {x._value.shape}")
    hp, wp = o[0] + 2 * p[0], o[1] + 2 * p[1]
    ii, jj = _patch_index(hp, wp, k, d, s)
    n, ckk, length = x._value.shape
    if length != ii.shape[1]:
        raise ValueError(f"fold: output_size {o}, kernel {k}, dilation {d}, padding {p} and stride {s} give "
                         f"{ii.shape[1]} blocks, but the input has L={length}")
    c = ckk // (k[0] * k[1])
    blocks = A.reshape(x, (n, c, k[0] * k[1], length))
    out = A._scatter_getitem_op(blocks, shape=(n, c, hp, wp), key=(slice(None), slice(None), ii, jj))
    return A.getitem(out, (slice(None), slice(None), slice(p[0], p[0] + o[0]), slice(p[1], p[1] + o[1])))


def _parse_side(side: str, op: str) -> list:
    groups, cur = [], None
    for tok in side.replace("(", " ( ").replace(")", " ) ").split():
        if tok == "(":
            if cur is not None:
                raise ValueError(f"{op}: nested parentheses are not supported")
            cur = []
        elif tok == ")":
            if cur is None:
                raise ValueError(f"{op}: unbalanced ')'")
            groups.append(cur)
            cur = None
        elif not tok.isidentifier():
            raise ValueError(f"{op}: unsupported axis token {tok!r} (names and (groups) only)")
        elif cur is None:
            groups.append([tok])
        else:
            cur.append(tok)
    if cur is not None:
        raise ValueError(f"{op}: unbalanced '('")
    return groups


def rearrange(tensor, pattern, **axes_lengths):
    """einops-style ``rearrange``: axis permutation plus splitting/merging with ``(...)`` groups, e.g.
    ``"b (h w) c -> b c h w"`` with ``h=2``. Differentiable (reshape + transpose).

    >>> from tapeflow import keras
    >>> keras.ops.rearrange(keras.ops.reshape(keras.ops.arange(6.0), (2, 3)), "a b -> b a").numpy().tolist()
    [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    """
    x = _t(tensor)
    if pattern.count("->") != 1:
        raise ValueError(f"rearrange: pattern must have one '->', got {pattern!r}")
    left, right = (_parse_side(side, "rearrange") for side in pattern.split("->"))
    shape = x._value.shape
    if len(left) != len(shape):
        raise ValueError(f"rearrange: pattern {pattern!r} names {len(left)} axes but the input has shape {shape}")
    sizes = {}
    for group, dim in zip(left, shape):
        unknown = [n for n in group if n not in axes_lengths]
        known = int(np.prod([axes_lengths[n] for n in group if n in axes_lengths]))
        if len(unknown) > 1:
            raise ValueError(f"rearrange: cannot infer the sizes of {unknown} in a group of size {dim}")
        if dim % known or (not unknown and known != dim):
            raise ValueError(f"rearrange: axis of size {dim} cannot be split as {group} with lengths {axes_lengths}")
        for n in group:
            sizes[n] = dim // known if n in unknown else int(axes_lengths[n])
    names_l = [n for g in left for n in g]
    names_r = [n for g in right for n in g]
    if sorted(names_l) != sorted(names_r) or len(set(names_l)) != len(names_l):
        raise ValueError(f"rearrange: both sides of {pattern!r} must name the same axes once each")
    y = A.reshape(x, [sizes[n] for n in names_l])
    y = A.transpose(y, [names_l.index(n) for n in names_r])
    return A.reshape(y, [int(np.prod([sizes[n] for n in g])) for g in right])


# -- CTC ----------------------------------------------------------------------------------------------------------
def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """Per-sample CTC loss (B,) of int ``target`` (B, L) under logits ``output`` (B, T, C) (log_softmax applied
    inside), blank class ``mask_index``; differentiable in ``output`` (forward-backward VJP in ``ops/ctc_ops.py``).

    >>> from tapeflow import keras
    >>> round(float(keras.ops.ctc_loss([[1]], keras.ops.zeros((1, 2, 2)), [1], [2])[0]), 4)  # 3 paths of 1/4
    0.2877
    """
    from ...ops import ctc_ops
    return ctc_ops.ctc_loss(_float(output), target, target_length, output_length, blank=mask_index)


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1, merge_repeated=True,
               mask_index=0):
    """Greedy CTC decoding as Keras: (decoded (1, B, T) int32 padded with -1, scores (B, 1) = -sum of the per-step
    maxima of ``inputs``). Only ``strategy="greedy"`` is supported; not differentiable."""
    if strategy != "greedy":
        raise NotImplementedError(f"ctc_decode: only strategy='greedy' is supported, got {strategy!r}")
    x = np.asarray(_float(inputs)._value)
    lengths = np.asarray(getattr(sequence_lengths, "_value", sequence_lengths)).astype(np.int64).reshape(-1)
    b, t, _ = x.shape
    idx = np.argmax(x, axis=-1).astype(np.int32)
    past = np.arange(t)[None, :] >= lengths[:, None]
    idx = np.where(past, mask_index, idx)
    scores = np.where(past, 0.0, x.max(axis=-1))
    if merge_repeated:
        rep = np.pad(idx[:, 1:] == idx[:, :-1], ((0, 0), (1, 0)))
        idx = np.where(rep, mask_index, idx)
    drop = idx == mask_index
    idx = np.where(drop, -1, idx)
    order = np.argsort(np.where(drop, t, np.arange(t)[None, :]), axis=-1, kind="stable")
    idx = np.take_along_axis(idx, order, axis=-1)
    return Tensor._wrap(idx[None].astype(np.int32)), Tensor._wrap(-scores.sum(axis=1, keepdims=True).astype(x.dtype))


# -- segment reductions (NumPy, no gradient) --------------------------------------------------------------
def _segment(data, segment_ids, num_segments, ufunc, init):
    d = np.asarray(_t(data)._value)
    ids = np.asarray(getattr(segment_ids, "_value", segment_ids)).astype(np.int64)
    if ids.shape != d.shape[:1]:
        raise ValueError(f"segment reduction: segment_ids must have shape ({d.shape[0]},), got {ids.shape}")
    n = int(num_segments) if num_segments is not None else int(ids.max()) + 1
    if d.dtype.kind in "iu" and init in (np.inf, -np.inf):
        init = np.iinfo(d.dtype).max if init > 0 else np.iinfo(d.dtype).min
    out = np.full((n,) + d.shape[1:], init, dtype=d.dtype)
    ok = (ids >= 0) & (ids < n)
    ufunc.at(out, ids[ok], d[ok])
    return Tensor._wrap(out)


def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Per-segment maximum (empty segments -inf, ids of -1 ignored), as Keras; not differentiable."""
    return _segment(data, segment_ids, num_segments, np.maximum, -np.inf)


def segment_min(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Per-segment minimum (empty segments +inf); not differentiable."""
    return _segment(data, segment_ids, num_segments, np.minimum, np.inf)


def segment_prod(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Per-segment product (empty segments 1); not differentiable."""
    return _segment(data, segment_ids, num_segments, np.multiply, 1)
