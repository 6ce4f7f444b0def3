"""Pooling, channels_last: max and average, 1-D and 2-D, forward (NumPy) and VJP side by side.

``max_pool2d_vjp`` / ``max_pool2d_select`` and ``avg_pool2d`` / ``avg_pool2d_vjp`` are adjoint pairs,
so every order of derivative works, as for the convolutions in ``conv_ops`` (whose padding and
window helpers pooling shares).

>>> import numpy as np, tapeflow as tf
>>> tf.nn.max_pool2d(np.arange(16.0).reshape(1, 4, 4, 1), 2, 2, "VALID").numpy()[0, :, :, 0].tolist()
[[5.0, 7.0], [13.0, 15.0]]
"""
from __future__ import annotations

import numpy as np

from ..autodiff.tensor import Tensor
from . import array_ops as A
from .conv_ops import _crop, _f, _is_cf, _out_size, _pad, _pads, _spatial, _tap_slice, _to_nchw, _to_nhwc
from .registry import bind, defvjp, primitive


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _pool_out(shape, ksize, strides, pads):
    return tuple(_out_size(shape[1 + i] + sum(pads[i]), ksize[i], strides[i], 1) for i in range(2))


def _max_pool_fwd(x, ksize, strides, pads):
    ho, wo = _pool_out(x.shape, ksize, strides, pads)
    xp = _pad(x, pads, _lowest(x.dtype))
    out = xp[_tap_slice(0, 0, ho, wo, strides, (1, 1))].copy()
    for i in range(ksize[0]):
        for j in range(ksize[1]):
            if i or j:
                np.maximum(out, xp[_tap_slice(i, j, ho, wo, strides, (1, 1))], out=out)
    return out


def _first_max_taps(x, ksize, strides, pads):
    """Yield (tap slice, mask): mask marks the windows whose first maximum sits at that tap.

    Ties go to the first tap in row-major order, as TF. Only elementwise ufuncs on strided
    views, one pass per tap (no argmax, no fancy indexing).
    """
    best = _max_pool_fwd(x, ksize, strides, pads)
    ho, wo = best.shape[1:3]
    xp = _pad(x, pads, _lowest(x.dtype))
    taken = np.zeros(best.shape, dtype=bool)
    m = np.empty(best.shape, dtype=bool)
    for i in range(ksize[0]):
        for j in range(ksize[1]):
            sl = _tap_slice(i, j, ho, wo, strides, (1, 1))
            np.equal(xp[sl], best, out=m)
            np.greater(m, taken, out=m)  # m and not taken
            np.logical_or(taken, m, out=taken)
            yield sl, m


def _max_pool_vjp_fwd(g, x, ksize, strides, pads):
    """Route each window's gradient to its first maximum."""
    n, h, wd, c = x.shape
    dxp = np.zeros((n, h + sum(pads[0]), wd + sum(pads[1]), c), dtype=g.dtype)
    tmp = np.empty(g.shape, dtype=g.dtype)
    for sl, m in _first_max_taps(x, ksize, strides, pads):
        np.multiply(g, m, out=tmp)
        dxp[sl] += tmp
    return _crop(dxp, pads, h, wd)


def _max_pool_select_fwd(h, x, ksize, strides, pads):
    """For each window of x, the entry of h at the window's first maximum (adjoint of the VJP)."""
    hp = _pad(h, pads)
    out = None
    for sl, m in _first_max_taps(x, ksize, strides, pads):
        part = hp[sl] * m
        out = part if out is None else np.add(out, part, out=out)
    return out


_max_pool = primitive("max_pool2d", _max_pool_fwd)
_max_pool_vjp = primitive("max_pool2d_vjp", _max_pool_vjp_fwd)
_max_pool_select = primitive("max_pool2d_select", _max_pool_select_fwd)
defvjp(_max_pool, lambda g, ans, x, **a: bind(_max_pool_vjp, g, x, **a))
defvjp(_max_pool_vjp, lambda h, ans, g, x, **a: bind(_max_pool_select, h, x, **a), None)
defvjp(_max_pool_select, lambda g, ans, h, x, **a: bind(_max_pool_vjp, g, x, **a), None)


# The array twin of max_pool2d's VJP (plain first-order gradients) reuses the forward's output as each window's
# maximum instead of recomputing it; non-overlapping windows (the usual 2x2 / stride 2) work on a reshaped view
# with one broadcast comparison.
def _max_pool_vjp_given_max(g, x, best, ksize, strides, pads):
    """Route each window's gradient to its first maximum, the window maxima ``best`` given."""
    n, h, wd, c = x.shape
    ho, wo = best.shape[1:3]
    kh, kw = ksize
    g = np.asarray(g)
    if tuple(strides) == tuple(ksize) and not any(p for pair in pads for p in pair):
        xv = x[:, :ho * kh, :wo * kw]
        exact = xv.shape == x.shape
        xv = xv.reshape(n, ho, kh, wo, kw, c)
        hit = xv == best[:, :, None, :, None, :]
        taps = [hit[:, :, i, :, j, :] for i in range(kh) for j in range(kw)]
        taken = taps[0]  # maxima claimed by the taps so far (never written: each step makes a new array)
        for k, m in enumerate(taps[1:], 2):
            seen = np.logical_or(taken, m) if k < len(taps) else None
            np.greater(m, taken, out=m)  # a maximum not already claimed by an earlier tap
            taken = seen
        # one broadcast multiply routes every window's gradient to its (now single) hit
        if exact:
            return np.multiply(g[:, :, None, :, None, :], hit, dtype=g.dtype).reshape(x.shape)
        dx = np.zeros(x.shape, dtype=g.dtype)
        dx[:, :ho * kh, :wo * kw] = np.multiply(g[:, :, None, :, None, :], hit, dtype=g.dtype).reshape(
            n, ho * kh, wo * kw, c)
        return dx
    xp = _pad(x, pads, _lowest(x.dtype))
    dxp = np.zeros(xp.shape, dtype=g.dtype)
    taken = np.zeros(best.shape, dtype=bool)
    m = np.empty(best.shape, dtype=bool)
    tmp = np.empty(best.shape, dtype=g.dtype)
    for i in range(kh):
        for j in range(kw):
            sl = _tap_slice(i, j, ho, wo, strides, (1, 1))
            np.equal(xp[sl], best, out=m)
            np.greater(m, taken, out=m)
            np.logical_or(taken, m, out=taken)
            np.multiply(g, m, out=tmp)
            dxp[sl] += tmp
    return _crop(dxp, pads, h, wd)


_max_pool.fast = (lambda g, ans, x, **a: _max_pool_vjp_given_max(g, x, ans, **a),)


def _valid_counts(n, k, s, pad, out):
    """How many of each window's k taps fall inside the unpadded length n."""
    starts = np.arange(out) * s - pad[0]
    return np.clip(np.minimum(starts + k, n) - np.maximum(starts, 0), 1, None)


def _avg_counts(shape, ksize, strides, pads, ho, wo, dtype):
    ch = _valid_counts(shape[1], ksize[0], strides[0], pads[0], ho)
    cw = _valid_counts(shape[2], ksize[1], strides[1], pads[1], wo)
    return (ch[:, None] * cw[None, :]).astype(dtype)[None, :, :, None]


def _avg_pool_fwd(x, ksize, strides, pads):
    ho, wo = _pool_out(x.shape, ksize, strides, pads)
    xp = _pad(x, pads)
    out = xp[_tap_slice(0, 0, ho, wo, strides, (1, 1))].copy()
    for i in range(ksize[0]):
        for j in range(ksize[1]):
            if i or j:
                out += xp[_tap_slice(i, j, ho, wo, strides, (1, 1))]
    out /= _avg_counts(x.shape, ksize, strides, pads, ho, wo, x.dtype)
    return out


def _avg_pool_vjp_fwd(g, input_shape, ksize, strides, pads):
    n, h, wd, c = input_shape
    ho, wo = g.shape[1:3]
    gs = g / _avg_counts(input_shape, ksize, strides, pads, ho, wo, g.dtype)
    dxp = np.zeros((n, h + sum(pads[0]), wd + sum(pads[1]), c), dtype=g.dtype)
    for i in range(ksize[0]):
        for j in range(ksize[1]):
            dxp[_tap_slice(i, j, ho, wo, strides, (1, 1))] += gs
    return _crop(dxp, pads, h, wd)


_avg_pool = primitive("avg_pool2d", _avg_pool_fwd)
_avg_pool_vjp = primitive("avg_pool2d_vjp", _avg_pool_vjp_fwd)
defvjp(_avg_pool, lambda g, ans, x, **a: bind(_avg_pool_vjp, g, input_shape=x._value.shape, **a))
defvjp(_avg_pool_vjp, lambda h, ans, g, input_shape, **a: bind(_avg_pool, h, **a))


def _pool2d(prim, input, ksize, strides, padding, data_format, op):  # noqa: A002
    x = _f(input)
    if x._value.ndim != 4:
        raise ValueError(f"{op}: expected a rank-4 input, got shape {x._value.shape}")
    cf = _is_cf(data_format)
    if cf:
        x = _to_nhwc(x)
    k = _spatial(ksize, 2, f"{op} ksize", cf)
    s = _spatial(strides, 2, f"{op} strides", cf)
    pads = _pads(padding, x._value.shape[1:3], k, s, cf)
    if any(x._value.shape[1 + i] + sum(pads[i]) < k[i] for i in range(2)):
        raise ValueError(f"{op}: pool size {k} is larger than the padded input {x._value.shape} "
                         f"(padding {padding!r})")
    out = bind(prim, x, ksize=k, strides=s, pads=pads)
    return _to_nchw(out) if cf else out


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None) -> Tensor:  # noqa: A002
    """2-D max pooling as ``tf.nn.max_pool2d``; the gradient goes to each window's first maximum.

    >>> import tapeflow as tf
    >>> tf.nn.max_pool2d(tf.reshape(tf.range(16.0), (1, 4, 4, 1)), 2, 2, "VALID").numpy().ravel().tolist()
    [5.0, 7.0, 13.0, 15.0]
    """
    return _pool2d(_max_pool, input, ksize, strides, padding, data_format, "max_pool2d")


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None) -> Tensor:  # noqa: A002
    """2-D average pooling as ``tf.nn.avg_pool2d``; 'SAME' divides by the count of non-pad entries.

    >>> import tapeflow as tf
    >>> tf.nn.avg_pool2d(tf.ones((1, 3, 3, 1)), 2, 2, "SAME").numpy().ravel().tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    return _pool2d(_avg_pool, input, ksize, strides, padding, data_format, "avg_pool2d")


def _pool1d(fn2d, input, ksize, strides, padding, data_format, op):  # noqa: A002
    x = _f(input)
    if x._value.ndim != 3:
        raise ValueError(f"{op}: expected a rank-3 input (N, W, C), got shape {x._value.shape}")
    cf = _is_cf(data_format)
    if cf:
        x = A.transpose(x, perm=(0, 2, 1))
    k = _spatial(ksize, 1, f"{op} ksize", cf)
    s = _spatial(strides, 1, f"{op} strides", cf)
    if not isinstance(padding, str):
        padding = [(0, 0)] + list(_pads(padding, (x._value.shape[1],), k, s, cf))
    out = A.squeeze(fn2d(A.expand_dims(x, 1), (1,) + k, (1,) + s, padding), axis=1)
    return A.transpose(out, perm=(0, 2, 1)) if cf else out


def max_pool1d(input, ksize, strides, padding, data_format="NWC", name=None) -> Tensor:  # noqa: A002
    """1-D max pooling as ``tf.nn.max_pool1d`` (input (N, W, C))."""
    return _pool1d(max_pool2d, input, ksize, strides, padding, data_format, "max_pool1d")


def avg_pool1d(input, ksize, strides, padding, data_format="NWC", name=None) -> Tensor:  # noqa: A002
    """1-D average pooling as ``tf.nn.avg_pool1d`` (input (N, W, C))."""
    return _pool1d(avg_pool2d, input, ksize, strides, padding, data_format, "avg_pool1d")


def _by_rank(fn1d, fn2d, op):
    def pool(input, ksize, strides, padding, data_format=None, name=None):  # noqa: A002
        rank = _f(input)._value.ndim
        if rank == 3:
            return fn1d(input, ksize, strides, padding, data_format or "NWC")
        if rank == 4:
            return fn2d(input, ksize, strides, padding, data_format or "NHWC")
        raise ValueError(f"{op}: only rank-3 and rank-4 inputs are supported, got rank {rank}")
    pool.__name__ = op
    pool.__doc__ = f"``tf.nn.{op}``: the 1-D or 2-D pool by the input's rank."
    return pool


max_pool = _by_rank(max_pool1d, max_pool2d, "max_pool")
avg_pool = _by_rank(avg_pool1d, avg_pool2d, "avg_pool")
