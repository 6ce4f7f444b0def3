"""3-D pooling, channels_last (NDHWC): max and average, forward (NumPy) and VJP side by side.

``max_pool3d_vjp`` / ``max_pool3d_select`` and ``avg_pool3d`` / ``avg_pool3d_vjp`` are adjoint pairs, so
every order of derivative works, as for the 2-D pools of ``pool_ops``. Loops run over the window's
taps only, on strided views.

>>> import numpy as np, tapeflow as tf
>>> tf.nn.max_pool3d(np.arange(8.0).reshape(1, 2, 2, 2, 1), 2, 2, "VALID").numpy().ravel().tolist()
[7.0]
"""
from __future__ import annotations

import numpy as np

from ..autodiff.tensor import Tensor
from .conv3d_ops import _crop3, _is_cf3, _out3, _pad3, _tap3, _taps, _to_ncdhw, _to_ndhwc
from .conv_ops import _f, _pads, _spatial
from .pool_ops import _lowest, _valid_counts
from .registry import bind, defvjp, primitive

_ONE = (1, 1, 1)


def _max_pool3d_fwd(x, ksize, strides, pads):
    out = _out3(x.shape[1:4], pads, ksize, strides, _ONE)
    xp = _pad3(x, pads, _lowest(x.dtype))
    taps = _taps(ksize)
    best = xp[_tap3(next(taps), out, strides, _ONE)].copy()
    for tap in taps:
        np.maximum(best, xp[_tap3(tap, out, strides, _ONE)], out=best)
    return best


def _first_max_taps(x, ksize, strides, pads):
    """Yield (tap slice, mask): mask marks the windows whose first maximum sits at that tap (ties: first tap)."""
    best = _max_pool3d_fwd(x, ksize, strides, pads)
    out = best.shape[1:4]
    xp = _pad3(x, pads, _lowest(x.dtype))
    taken = np.zeros(best.shape, dtype=bool)
    m = np.empty(best.shape, dtype=bool)
    for tap in _taps(ksize):
        sl = _tap3(tap, out, strides, _ONE)
        np.equal(xp[sl], best, out=m)
        np.greater(m, taken, out=m)  # m and not taken
        np.logical_or(taken, m, out=taken)
        yield sl, m


def _padded_zeros(shape, pads, dtype):
    return np.zeros((shape[0],) + tuple(shape[1 + i] + sum(pads[i]) for i in range(3)) + (shape[4],), dtype=dtype)


def _max_pool3d_vjp_fwd(g, x, ksize, strides, pads):
    """Route each window's gradient to its first maximum."""
    dxp = _padded_zeros(x.shape, pads, g.dtype)
    tmp = np.empty(g.shape, dtype=g.dtype)
    for sl, m in _first_max_taps(x, ksize, strides, pads):
        np.multiply(g, m, out=tmp)
        dxp[sl] += tmp
    return _crop3(dxp, pads, x.shape[1:4])


def _max_pool3d_select_fwd(h, x, ksize, strides, pads):
    """For each window of x, the entry of h at the window's first maximum (adjoint of the VJP)."""
    hp = _pad3(h, pads)
    out = None
    for sl, m in _first_max_taps(x, ksize, strides, pads):
        part = hp[sl] * m
        out = part if out is None else np.add(out, part, out=out)
    return out


_max_pool3d = primitive("max_pool3d", _max_pool3d_fwd)
_max_pool3d_vjp = primitive("max_pool3d_vjp", _max_pool3d_vjp_fwd)
_max_pool3d_select = primitive("max_pool3d_select", _max_pool3d_select_fwd)
defvjp(_max_pool3d, lambda g, ans, x, **a: bind(_max_pool3d_vjp, g, x, **a))
defvjp(_max_pool3d_vjp, lambda h, ans, g, x, **a: bind(_max_pool3d_select, h, x, **a), None)
defvjp(_max_pool3d_select, lambda g, ans, h, x, **a: bind(_max_pool3d_vjp, g, x, **a), None)


def _avg_counts(shape, ksize, strides, pads, out, dtype):
    """How many non-pad entries each window holds (TF/Keras divide by this under 'SAME')."""
    c = [_valid_counts(shape[1 + i], ksize[i], strides[i], pads[i], out[i]) for i in range(3)]
    return (c[0][:, None, None] * c[1][None, :, None] * c[2][None, None, :]).astype(dtype)[None, ..., None]


def _avg_pool3d_fwd(x, ksize, strides, pads):
    out = _out3(x.shape[1:4], pads, ksize, strides, _ONE)
    xp = _pad3(x, pads)
    taps = _taps(ksize)
    acc = xp[_tap3(next(taps), out, strides, _ONE)].copy()
    for tap in taps:
        acc += xp[_tap3(tap, out, strides, _ONE)]
    acc /= _avg_counts(x.shape, ksize, strides, pads, out, x.dtype)
    return acc


def _avg_pool3d_vjp_fwd(g, input_shape, ksize, strides, pads):
    out = g.shape[1:4]
    gs = g / _avg_counts(input_shape, ksize, strides, pads, out, g.dtype)
    dxp = _padded_zeros(input_shape, pads, g.dtype)
    for tap in _taps(ksize):
        dxp[_tap3(tap, out, strides, _ONE)] += gs
    return _crop3(dxp, pads, input_shape[1:4])


_avg_pool3d = primitive("avg_pool3d", _avg_pool3d_fwd)
_avg_pool3d_vjp = primitive("avg_pool3d_vjp", _avg_pool3d_vjp_fwd)
defvjp(_avg_pool3d, lambda g, ans, x, **a: bind(_avg_pool3d_vjp, g, input_shape=x._value.shape, **a))
defvjp(_avg_pool3d_vjp, lambda h, ans, g, input_shape, **a: bind(_avg_pool3d, h, **a))


def _pool3d(prim, input, ksize, strides, padding, data_format, op):  # noqa: A002
    x = _f(input)
    if x._value.ndim != 5:
        raise ValueError(f"{op}: expected a rank-5 input (N, D, H, W, C) or (N, C, D, H, W), got shape "
                         f"{tuple(x._value.shape)}")
    cf = _is_cf3(data_format, op)
    if cf:
        x = _to_ndhwc(x)
    k = _spatial(ksize, 3, f"{op} ksize", cf)
    s = _spatial(strides, 3, f"{op} strides", cf)
    sizes = x._value.shape[1:4]
    pads = _pads(padding, sizes, k, s, cf)
    if any(sizes[i] + sum(pads[i]) < k[i] for i in range(3)):
        raise ValueError(f"{op}: pool size {k} is larger than the padded input {tuple(x._value.shape)} "
                         f"(padding {padding!r})")
    y = bind(prim, x, ksize=k, strides=s, pads=pads)
    return _to_ncdhw(y) if cf else y


def max_pool3d(input, ksize, strides, padding, data_format="NDHWC", name=None) -> Tensor:  # noqa: A002
    """3-D max pooling as ``tf.nn.max_pool3d``; the gradient goes to each window's first maximum.

    >>> import tapeflow as tf
    >>> tf.nn.max_pool3d(tf.reshape(tf.range(27.0), (1, 3, 3, 3, 1)), 2, 1, "VALID").shape.as_list()
    [1, 2, 2, 2, 1]
    """
    return _pool3d(_max_pool3d, input, ksize, strides, padding, data_format, "max_pool3d")


def avg_pool3d(input, ksize, strides, padding, data_format="NDHWC", name=None) -> Tensor:  # noqa: A002
    """3-D average pooling as ``tf.nn.avg_pool3d``; 'SAME' divides by the count of non-pad entries.

    >>> import tapeflow as tf
    >>> tf.nn.avg_pool3d(tf.ones((1, 3, 3, 3, 1)), 2, 2, "SAME").numpy().ravel().tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    return _pool3d(_avg_pool3d, input, ksize, strides, padding, data_format, "avg_pool3d")
