"""3-D convolution, channels_last (NDHWC): forward (NumPy) and VJP side by side (3-D pooling: pool3d_ops).

As ``conv_ops`` does for 2-D: a strided view lists every window of the padded input, it is copied
once into a (positions, kd*kh*kw*in) matrix and multiplied by the filter matrix; grouped
convolution (Keras ``groups``) adds a leading group axis and runs one batched matmul.

``conv3d(x, w)`` has VJPs ``conv3d_backprop_input(g, w)`` and ``conv3d_backprop_filter(x, g)``,
and those two have VJPs made of the same three, so every order of derivative works.
"""
from __future__ import annotations

import itertools

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autodiff.tensor import Tensor
from . import array_ops as A
from .conv_ops import _f, _out_size, _pads, _same_dtype, _spatial
from .registry import bind, defvjp, primitive

_ND = 3


# -- NumPy helpers (shared with pool3d_ops) --------------------------------------------------
def _pad3(x: np.ndarray, pads, value=0) -> np.ndarray:
    """Pad the three spatial axes of an NDHWC array with ``value``."""
    if not any(p for pair in pads for p in pair):
        return x
    n, c = x.shape[0], x.shape[-1]
    sizes = tuple(x.shape[1 + i] + sum(pads[i]) for i in range(_ND))
    out = np.full((n,) + sizes + (c,), value, dtype=x.dtype)
    out[_interior(pads, x.shape[1:4])] = x
    return out


def _interior(pads, sizes) -> tuple:
    """Index of the unpadded block inside a padded NDHWC array."""
    return (slice(None),) + tuple(slice(p[0], p[0] + n) for p, n in zip(pads, sizes))


def _crop3(xp: np.ndarray, pads, sizes) -> np.ndarray:
    """The unpadded block of a padded-shape gradient (a view: gradients are never written to)."""
    return xp[_interior(pads, sizes)]


def _out3(sizes, pads, k, strides, dilations) -> tuple:
    return tuple(_out_size(sizes[i] + sum(pads[i]), k[i], strides[i], dilations[i]) for i in range(_ND))


def _taps(k):
    """Every kernel tap (i, j, l) in row-major order."""
    return itertools.product(*(range(v) for v in k))


def _tap3(tap, out, strides, dilations) -> tuple:
    """The positions of the padded input that kernel tap ``tap`` reads, for all outputs (a strided slice)."""
    return (slice(None),) + tuple(
        slice(t * d, t * d + s * (o - 1) + 1, s) for t, o, s, d in zip(tap, out, strides, dilations))


def _cols3(xp, k, out, strides, dilations, groups) -> np.ndarray:
    """(groups, n*do*ho*wo, kd*kh*kw*cg): every window of the padded input, one row per position."""
    n, c = xp.shape[0], xp.shape[-1]
    cg = c // groups
    sn, sd, sh, sw, sc = xp.strides
    sp = (sd, sh, sw)
    win = as_strided(xp, (n,) + tuple(out) + tuple(k) + (groups, cg),
                     (sn,) + tuple(a * s for a, s in zip(sp, strides)) + tuple(a * d for a, d in zip(sp, dilations))
                     + (sc * cg, sc), writeable=False)
    m, kk = n * int(np.prod(out)), int(np.prod(k)) * cg
    if groups == 1:
        return win.reshape(1, m, kk)
    return np.ascontiguousarray(win.transpose(7, 0, 1, 2, 3, 4, 5, 6, 8)).reshape(groups, m, kk)


def _wmat(w: np.ndarray, groups: int) -> np.ndarray:
    """Filters (kd, kh, kw, cg, out) -> (groups, kd*kh*kw*cg, out/groups)."""
    cout = w.shape[-1]
    return w.reshape(-1, groups, cout // groups).transpose(1, 0, 2)


def _gmat(g: np.ndarray, groups: int) -> np.ndarray:
    """Output-shaped (n, do, ho, wo, out) -> (groups, n*do*ho*wo, out/groups)."""
    cout = g.shape[-1]
    g = np.ascontiguousarray(g)  # BLAS needs real strides (an upstream gradient may be a broadcast view)
    return g.reshape(-1, groups, cout // groups).transpose(1, 0, 2)


# -- the three primitives ---------------------------------------------------------------------
def _conv3d_fwd(x, w, strides, dilations, pads, groups):
    k, cout = w.shape[:3], w.shape[4]
    out = _out3(x.shape[1:4], pads, k, strides, dilations)
    cols = _cols3(_pad3(x, pads), k, out, strides, dilations, groups)
    y = np.matmul(cols, _wmat(w, groups))  # (G, M, out/G)
    if groups > 1:
        y = y.transpose(1, 0, 2)
    return y.reshape((x.shape[0],) + out + (cout,))


def _conv3d_input_fwd(g, w, input_shape, strides, dilations, pads, groups):
    """d<conv3d(x, w), g>/dx: per kernel tap, one matmul of g with that tap's filter, added in place."""
    n, c = input_shape[0], input_shape[4]
    k, cg, cout = w.shape[:3], w.shape[3], w.shape[4]
    out = g.shape[1:4]
    gm = _gmat(g, groups)  # (G, M, out/G)
    wm = w.reshape(k + (cg, groups, cout // groups))
    dtype = np.result_type(g.dtype, w.dtype)
    dxp = np.zeros((n,) + tuple(input_shape[1 + i] + sum(pads[i]) for i in range(_ND)) + (c,), dtype=dtype)
    for tap in _taps(k):
        r = np.matmul(gm, wm[tap].transpose(1, 2, 0))  # (G, M, cg)
        r = r[0] if groups == 1 else r.transpose(1, 0, 2)
        dxp[_tap3(tap, out, strides, dilations)] += r.reshape((n,) + tuple(out) + (c,))
    return _crop3(dxp, pads, input_shape[1:4])


def _conv3d_filter_fwd(x, g, filter_shape, strides, dilations, pads, groups):
    """d<conv3d(x, w), g>/dw: one (batched) matmul of the window matrix with g."""
    k = tuple(filter_shape[:3])
    cols = _cols3(_pad3(x, pads), k, g.shape[1:4], strides, dilations, groups)
    dw = np.matmul(cols.transpose(0, 2, 1), _gmat(g, groups))  # (G, K, out/G)
    return dw.transpose(1, 0, 2).reshape(filter_shape)


_conv3d = primitive("conv3d", _conv3d_fwd)
_conv3d_input = primitive("conv3d_backprop_input", _conv3d_input_fwd)
_conv3d_filter = primitive("conv3d_backprop_filter", _conv3d_filter_fwd)

defvjp(_conv3d,
       lambda g, ans, x, w, **a: bind(_conv3d_input, g, w, input_shape=x._value.shape, **a),
       lambda g, ans, x, w, **a: bind(_conv3d_filter, x, g, filter_shape=w._value.shape, **a))
defvjp(_conv3d_input,
       lambda h, ans, g, w, input_shape, **a: bind(_conv3d, h, w, **a),
       lambda h, ans, g, w, input_shape, **a: bind(_conv3d_filter, h, g, filter_shape=w._value.shape, **a))
defvjp(_conv3d_filter,
       lambda h, ans, x, g, filter_shape, **a: bind(_conv3d_input, g, h, input_shape=x._value.shape, **a),
       lambda h, ans, x, g, filter_shape, **a: bind(_conv3d, x, h, **a))


# -- public ops ---------------------------------------------------------------------------------
def _is_cf3(data_format, op: str) -> bool:
    df = "NDHWC" if data_format is None else str(data_format).upper()
    if df in ("NDHWC", "CHANNELS_LAST"):
        return False
    if df in ("NCDHW", "CHANNELS_FIRST"):
        return True
    raise ValueError(f"{op}: data_format must be 'NDHWC' or 'NCDHW', got {data_format!r}")


def _to_ndhwc(x: Tensor) -> Tensor:
    return A.transpose(x, perm=(0, 2, 3, 4, 1))


def _to_ncdhw(x: Tensor) -> Tensor:
    return A.transpose(x, perm=(0, 4, 1, 2, 3))


def _k_eff(k, d) -> tuple:
    return tuple((a - 1) * b + 1 for a, b in zip(k, d))


def conv3d(input, filters, strides, padding, data_format="NDHWC", dilations=None, name=None) -> Tensor:  # noqa: A002
    """3-D convolution as ``tf.nn.conv3d`` (cross-correlation; filters (kd, kh, kw, in, out)).

    ``strides`` / ``dilations``: an int or 3 or 5 ints (5: batch and channel entries 1);
    ``padding``: 'VALID', 'SAME' or explicit (before, after) pairs. When the input has
    ``groups * filters.shape[3]`` channels the convolution is grouped (Keras ``Conv3D(groups=...)``).

    >>> import tapeflow as tf
    >>> x = tf.ones((1, 4, 4, 4, 1)); w = tf.ones((3, 3, 3, 1, 2))
    >>> tf.nn.conv3d(x, w, strides=[1, 1, 1, 1, 1], padding="SAME").shape.as_list()
    [1, 4, 4, 4, 2]
    """
    x, w = _f(input), _f(filters)
    op = "conv3d"
    cf = _is_cf3(data_format, op)
    if x._value.ndim != 5 or w._value.ndim != 5:
        raise ValueError(f"{op}: expected a rank-5 input and rank-5 filters (kd, kh, kw, in, out), got shapes "
                         f"{x._value.shape} and {w._value.shape}")
    _same_dtype(x, w, op)
    if cf:
        x = _to_ndhwc(x)
    c = x._value.shape[4]
    k, cg, cout = w._value.shape[:3], w._value.shape[3], w._value.shape[4]
    if cg == 0 or c % cg or cout % (c // cg):
        raise ValueError(f"{op}: input has {c} channels, filters expect {cg} per group and give {cout} outputs; "
                         f"input channels must be a multiple of filters.shape[3] and out channels of the groups")
    s = _spatial(strides, _ND, f"{op} strides", cf)
    d = _spatial(dilations, _ND, f"{op} dilations", cf)
    sizes = x._value.shape[1:4]
    pads = _pads(padding, sizes, _k_eff(k, d), s, cf)
    padded = tuple(n + sum(p) for n, p in zip(sizes, pads))
    if any(a < b for a, b in zip(padded, _k_eff(k, d))):
        raise ValueError(f"{op}: the (dilated) kernel {_k_eff(k, d)} is larger than the padded input {padded} "
                         f"(input shape {tuple(x._value.shape)})")
    y = bind(_conv3d, x, w, strides=s, dilations=d, pads=pads, groups=c // cg)
    return _to_ncdhw(y) if cf else y


def conv3d_transpose(input, filters, output_shape, strides, padding="SAME", data_format="NDHWC",  # noqa: A002
                     dilations=None, name=None) -> Tensor:
    """Transposed 3-D convolution as ``tf.nn.conv3d_transpose``: filters (kd, kh, kw, out, in).

    It is the gradient of ``conv3d(·, filters)`` with respect to its input, for an input of
    ``output_shape``.

    >>> import tapeflow as tf
    >>> y = tf.nn.conv3d_transpose(tf.ones((1, 2, 3, 3, 2)), tf.ones((3, 3, 3, 4, 2)), [1, 4, 6, 6, 4], 2)
    >>> y.shape.as_list()
    [1, 4, 6, 6, 4]
    """
    x, w = _f(input), _f(filters)
    op = "conv3d_transpose"
    cf = _is_cf3(data_format, op)
    if x._value.ndim != 5 or w._value.ndim != 5:
        raise ValueError(f"{op}: expected a rank-5 input and rank-5 filters (kd, kh, kw, out, in), got shapes "
                         f"{x._value.shape} and {w._value.shape}")
    _same_dtype(x, w, op)
    if cf:
        x = _to_ndhwc(x)
    if isinstance(output_shape, Tensor):
        output_shape = output_shape._value.tolist()
    oshape = [int(v) for v in output_shape]
    if len(oshape) != 5:
        raise ValueError(f"{op}: output_shape must have 5 entries, got {output_shape!r}")
    if cf:
        oshape = [oshape[0]] + oshape[2:] + [oshape[1]]
    k, cout, cin = w._value.shape[:3], w._value.shape[3], w._value.shape[4]
    n, c = x._value.shape[0], x._value.shape[4]
    if c != cin or oshape[4] != cout or oshape[0] != n:
        raise ValueError(f"{op}: input {tuple(x._value.shape)} (as NDHWC), filters {tuple(w._value.shape)} "
                         f"(kd, kh, kw, out, in) and output_shape {oshape} (as NDHWC) disagree on batch or channels")
    s = _spatial(strides, _ND, f"{op} strides", cf)
    d = _spatial(dilations, _ND, f"{op} dilations", cf)
    pads = _pads(padding, tuple(oshape[1:4]), _k_eff(k, d), s, cf)
    implied = _out3(oshape[1:4], pads, k, s, d)
    if implied != tuple(x._value.shape[1:4]):
        raise ValueError(f"{op}: output_shape {oshape} with strides {s} and padding {padding!r} maps back to spatial "
                         f"size {implied}, but the input has {tuple(x._value.shape[1:4])}")
    y = bind(_conv3d_input, x, w, input_shape=tuple(oshape), strides=s, dilations=d, pads=pads, groups=1)
    return _to_ncdhw(y) if cf else y
