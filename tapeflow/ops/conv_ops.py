"""Convolution, channels_last: forward (NumPy) and VJP (tapeflow ops) side by side (pooling: pool_ops).

A convolution is im2col plus one matmul: a strided view lists every window of the padded
input, it is copied once into a (positions, kh*kw*in) matrix and multiplied by the filter
matrix. Grouped convolution (Keras ``groups``; depthwise) runs the same code with a leading
group axis and one batched matmul.

The three conv primitives are closed under differentiation, so every order of derivative
works: ``conv2d(x, w)`` has VJPs ``conv2d_backprop_input(g, w)`` and
``conv2d_backprop_filter(x, g)``, and those two have VJPs made of the same three.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autodiff.tensor import Tensor, convert_to_tensor
from . import array_ops as A
from .registry import bind, defvjp, primitive


def _f(x) -> Tensor:
    return x if isinstance(x, Tensor) else convert_to_tensor(x, dtype_hint="float32")


# -- argument parsing -----------------------------------------------------------------------
def _spatial(value, nd: int, what: str, channels_first: bool) -> tuple:
    """An int, or a list of 1, nd or nd + 2 ints (TF's strides/dilations/ksize forms) -> nd ints."""
    if value is None:
        return (1,) * nd
    if isinstance(value, Tensor):
        value = value._value.tolist()
    vals = [int(value)] if isinstance(value, (int, np.integer)) else [int(v) for v in value]
    if len(vals) == 1:
        vals = vals * nd
    elif len(vals) == nd + 2:
        outer = (vals[0], vals[1]) if channels_first else (vals[0], vals[-1])
        if outer != (1, 1):
            raise ValueError(f"{what}: the batch and channel entries of {vals} must be 1")
        vals = vals[2:] if channels_first else vals[1:-1]
    elif len(vals) != nd:
        raise ValueError(f"{what}: expected an int or a list of 1, {nd} or {nd + 2} ints, got {value!r}")
    if any(v < 1 for v in vals):
        raise ValueError(f"{what}: every entry must be >= 1, got {vals}")
    return tuple(vals)


def _pads(padding, in_sizes, k_eff, strides, channels_first=False) -> tuple:
    """Per spatial dim (before, after) padding for 'VALID', 'SAME' or an explicit list."""
    nd = len(in_sizes)
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            return ((0, 0),) * nd
        if mode == "SAME":
            out = []
            for n, k, s in zip(in_sizes, k_eff, strides):
                total = max((-(-n // s) - 1) * s + k - n, 0)
                out.append((total // 2, total - total // 2))
            return tuple(out)
        raise ValueError(f"padding must be 'VALID', 'SAME' or a list of pairs, got {padding!r}")
    pairs = [tuple(int(v) for v in p) for p in np.asarray(padding).reshape(-1, 2).tolist()]
    if len(pairs) == nd + 2:
        outer = pairs[:2] if channels_first else [pairs[0], pairs[-1]]
        if any(p != (0, 0) for p in outer):
            raise ValueError(f"padding: batch and channel padding must be 0, got {padding!r}")
        pairs = pairs[2:] if channels_first else pairs[1:-1]
    if len(pairs) != nd or any(v < 0 for p in pairs for v in p):
        raise ValueError(f"padding: expected {nd} or {nd + 2} non-negative (before, after) pairs, got {padding!r}")
    return tuple(pairs)


def _out_size(n_padded: int, k: int, s: int, d: int) -> int:
    return (n_padded - (k - 1) * d - 1) // s + 1


# -- im2col helpers (NumPy) -----------------------------------------------------------------
def _pad(x: np.ndarray, pads, value=0) -> np.ndarray:
    """Pad the two spatial axes of an NHWC array (filling only the border: 4x faster than np.pad)."""
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return x
    n, h, w, c = x.shape
    out = np.empty((n, h + pt + pb, w + pl + pr, c), dtype=x.dtype)
    out[:, :pt] = value
    out[:, pt + h:] = value
    out[:, pt:pt + h, :pl] = value
    out[:, pt:pt + h, pl + w:] = value
    out[:, pt:pt + h, pl:pl + w] = x
    return out


def _crop(xp: np.ndarray, pads, h: int, w: int) -> np.ndarray:
    """The unpadded window of a padded-shape gradient (a view: gradients are never written to)."""
    return xp[:, pads[0][0]:pads[0][0] + h, pads[1][0]:pads[1][0] + w]


def _cols(xp, kh, kw, ho, wo, strides, dilations, groups) -> np.ndarray:
    """(groups, n*ho*wo, kh*kw*cg): every window of the padded input, one row per position."""
    n, _, _, c = xp.shape
    cg = c // groups
    sn, sh, sw, sc = xp.strides
    win = as_strided(xp, (n, ho, wo, kh, kw, groups, cg),
                     (sn, sh * strides[0], sw * strides[1], sh * dilations[0], sw * dilations[1], sc * cg, sc),
                     writeable=False)
    if groups == 1:
        return win.reshape(1, n * ho * wo, kh * kw * cg)
    return np.ascontiguousarray(win.transpose(5, 0, 1, 2, 3, 4, 6)).reshape(groups, n * ho * wo, kh * kw * cg)


def _wmat(w: np.ndarray, groups: int) -> np.ndarray:
    """Filters (kh, kw, cg, out) -> (groups, kh*kw*cg, out/groups)."""
    kh, kw, cg, cout = w.shape
    return w.reshape(kh * kw * cg, groups, cout // groups).transpose(1, 0, 2)


def _wfrom(dw: np.ndarray, shape, groups: int) -> np.ndarray:
    return dw.transpose(1, 0, 2).reshape(shape)


def _gmat(g: np.ndarray, groups: int) -> np.ndarray:
    """Output-shaped (n, ho, wo, out) -> (groups, n*ho*wo, out/groups)."""
    n, ho, wo, cout = g.shape
    g = np.ascontiguousarray(g)  # BLAS needs real strides (an upstream gradient may be a broadcast view)
    return g.reshape(n * ho * wo, groups, cout // groups).transpose(1, 0, 2)


def _tap_slice(i, j, ho, wo, strides, dilations):
    r0, c0 = i * dilations[0], j * dilations[1]
    return (slice(None), slice(r0, r0 + strides[0] * (ho - 1) + 1, strides[0]),
            slice(c0, c0 + strides[1] * (wo - 1) + 1, strides[1]))


def _cols_t(xp, kh, kw, ho, wo, strides, dilations) -> np.ndarray:
    """(kh*kw*c, n*ho*wo): the window matrix transposed, one contiguous copy per kernel tap.

    For inputs with few channels (a first layer on images) this beats the strided window copy,
    whose innermost run is only c elements long, several times over.
    """
    n, _, _, c = xp.shape
    out = np.empty((kh, kw, c, n, ho, wo), dtype=xp.dtype)
    for i in range(kh):
        for j in range(kw):
            out[i, j] = xp[_tap_slice(i, j, ho, wo, strides, dilations)].transpose(3, 0, 1, 2)
    return out.reshape(kh * kw * c, n * ho * wo)


_FEW_CHANNELS = 4  # at most this many input channels (groups == 1): use the transposed window matrix


def _windows(x, kh, kw, strides, dilations, pads, groups):
    """``(transposed, matrix, ho, wo)``: the window matrix of ``x`` padded, as ``_cols_t`` builds it for
    few input channels (``transposed``) or ``_cols`` otherwise; what a convolution and its filter
    gradient multiply (built once where both need the same one: ``conv_fast``)."""
    xp = _pad(x, pads)
    ho = _out_size(xp.shape[1], kh, strides[0], dilations[0])
    wo = _out_size(xp.shape[2], kw, strides[1], dilations[1])
    if groups == 1 and x.shape[3] <= _FEW_CHANNELS:
        return True, _cols_t(xp, kh, kw, ho, wo, strides, dilations), ho, wo
    return False, _cols(xp, kh, kw, ho, wo, strides, dilations, groups), ho, wo


def _conv_windows(win, w, n, groups):
    """conv2d from the input's window matrix: one (batched) matmul."""
    transposed, m, ho, wo = win
    cout = w.shape[3]
    if transposed:
        return (m.T @ w.reshape(-1, cout)).reshape(n, ho, wo, cout)
    out = np.matmul(m, _wmat(w, groups))
    if groups == 1:
        return out.reshape(n, ho, wo, cout)
    return out.transpose(1, 0, 2).reshape(n, ho, wo, cout)


def _filter_windows(win, g, filter_shape, groups):
    """d<conv2d(x, w), g>/dw from x's window matrix: one (batched) matmul with g."""
    transposed, m = win[:2]
    if transposed:
        return (m @ np.ascontiguousarray(g).reshape(-1, g.shape[3])).reshape(filter_shape)
    dw = np.matmul(m.transpose(0, 2, 1), _gmat(g, groups))
    return _wfrom(dw, filter_shape, groups)


def _conv_fwd(x, w, strides, dilations, pads, groups):
    return _conv_windows(_windows(x, w.shape[0], w.shape[1], strides, dilations, pads, groups), w, x.shape[0],
                         groups)


def _conv_input_fwd(g, w, input_shape, strides, dilations, pads, groups):
    """d<conv2d(x, w), g>/dx: per kernel tap, one matmul of g with that tap's filter, added in place.

    The loop runs over the kh*kw taps (not over positions); it never builds the full window
    gradient matrix, which keeps memory traffic at that of one output-sized array per tap.
    """
    n, h, wd, c = input_shape
    kh, kw, cg, cout = w.shape
    _, ho, wo, _ = g.shape
    if groups == 1 and strides != (1, 1):
        plan = _subpixel_plan(input_shape, w.shape, g.shape, strides, dilations, pads)
        if plan is not None:
            return _conv_input_subpixel(g, w, input_shape, plan)
    gm = _gmat(g, groups)  # (G, M, out/G)
    wm = w.reshape(kh, kw, cg, groups, cout // groups)
    hp, wp = h + sum(pads[0]), wd + sum(pads[1])
    dxp = np.zeros((n, hp, wp, c), dtype=np.result_type(g.dtype, w.dtype))
    if groups == 1 and c <= _FEW_CHANNELS:  # one matmul for all taps: per-tap matvecs would each re-read g
        r = (gm[0] @ w.reshape(kh * kw * c, cout).T).reshape(n, ho, wo, kh, kw, c)
        for i in range(kh):
            for j in range(kw):
                dxp[_tap_slice(i, j, ho, wo, strides, dilations)] += r[:, :, :, i, j]
        return _crop(dxp, pads, h, wd)
    for i in range(kh):
        for j in range(kw):
            r = np.matmul(gm, wm[i, j].transpose(1, 2, 0))  # (G, M, cg)
            r = r[0] if groups == 1 else r.transpose(1, 0, 2)
            dxp[_tap_slice(i, j, ho, wo, strides, dilations)] += r.reshape(n, ho, wo, c)
    return _crop(dxp, pads, h, wd)


# A strided d<conv2d>/dx (a transposed convolution) as s_h*s_w stride-1 sums, one per output phase
# ("sub-pixel"): output row p = s*q + r of the padded input receives tap t (d*t = s*o + r) from g row
# q - o. Each phase is a sum of matmuls of *shifted contiguous row ranges* of a zero-padded, flattened
# g (shifting by o rows and o' columns is an offset of o*Wg + o' in the flat index), accumulated in a
# contiguous buffer and written to its phase of the output once: no strided scatter-adds.
_SUBPIXEL_WASTE = 1.25  # at most this many flat positions per useful one (the grid's extra rows/cols); measured:
# 14x14 -> 28x28 (1.15) ran 20-25% faster than the scatter-add, 7x7 -> 14x14 (1.31) no faster


def _phase_taps(k: int, s: int, d: int):
    """Per phase r (0..s-1): the taps t of a kernel of size k with d*t = s*o + r, as (t, o)."""
    out = [[] for _ in range(s)]
    for t in range(k):
        out[(d * t) % s].append((t, (d * t) // s))
    return out


def _phase_rows(r: int, pad: int, s: int, n: int):
    """Phase ``r``'s rows of the unpadded output: (first q, end q, first output row); q is the phase row."""
    q0 = max(0, -(-(pad - r) // s))
    y0 = s * q0 + r - pad
    return q0, q0 + len(range(y0, n, s)), y0


def _subpixel_plan(input_shape, w_shape, g_shape, strides, dilations, pads):
    """The phase decomposition's geometry, or None where the padded grid would waste too much."""
    _, h, wd, _ = input_shape
    _, ho, wo, _ = g_shape
    rows, cols = _phase_taps(w_shape[0], strides[0], dilations[0]), _phase_taps(w_shape[1], strides[1], dilations[1])
    top, left = max(o for p in rows for _, o in p), max(o for p in cols for _, o in p)
    qh = max(_phase_rows(r, pads[0][0], strides[0], h)[1] for r in range(strides[0]))
    qw = max(_phase_rows(c, pads[1][0], strides[1], wd)[1] for c in range(strides[1]))
    hg, wg = max(qh, ho) + top, max(qw, wo) + left
    if hg * wg > _SUBPIXEL_WASTE * ho * wo:
        return None
    return rows, cols, top, left, hg, wg, strides, pads


def _conv_input_subpixel(g, w, input_shape, plan):
    rows, cols, top, left, hg, wg, (sh, sw), ((pt, _), (pl, _)) = plan
    n, h, wd, c = input_shape
    _, ho, wo, cout = g.shape
    m = n * hg * wg
    flat = np.zeros((m + top * wg + left, cout), dtype=g.dtype)  # the tail: shifted reads past the last image
    flat[:m].reshape(n, hg, wg, cout)[:, top:top + ho, left:left + wo] = g
    out = np.empty(input_shape, dtype=np.result_type(g.dtype, w.dtype))
    acc, tmp = np.empty((m, c), dtype=out.dtype), np.empty((m, c), dtype=out.dtype)
    for r, rtaps in enumerate(rows):
        q0, _, y0 = _phase_rows(r, pt, sh, h)
        for cc, ctaps in enumerate(cols):
            x0, _, z0 = _phase_rows(cc, pl, sw, wd)
            if y0 >= h or z0 >= wd:
                continue
            dst = out[:, y0::sh, z0::sw]
            if not rtaps or not ctaps:           # a phase no tap reaches (kernel smaller than the stride)
                dst[...] = 0
                continue
            first = True
            for ky, oy in rtaps:
                for kx, ox in ctaps:
                    base = (top - oy) * wg + (left - ox)
                    np.matmul(flat[base:base + m], w[ky, kx].T, out=acc if first else tmp)
                    if not first:
                        acc += tmp
                    first = False
            dst[...] = acc.reshape(n, hg, wg, c)[:, q0:q0 + dst.shape[1], x0:x0 + dst.shape[2]]
    return out


def _conv_filter_fwd(x, g, filter_shape, strides, dilations, pads, groups):
    """d<conv2d(x, w), g>/dw: one (batched) matmul of the window matrix with g."""
    win = _windows(x, filter_shape[0], filter_shape[1], strides, dilations, pads, groups)
    return _filter_windows(win, g, filter_shape, groups)


_conv = primitive("conv2d", _conv_fwd)
_conv_input = primitive("conv2d_backprop_input", _conv_input_fwd)
_conv_filter = primitive("conv2d_backprop_filter", _conv_filter_fwd)


defvjp(_conv,
       lambda g, ans, x, w, **a: bind(_conv_input, g, w, input_shape=x._value.shape, **a),
       lambda g, ans, x, w, **a: bind(_conv_filter, x, g, filter_shape=w._value.shape, **a))
defvjp(_conv_input,
       lambda h, ans, g, w, input_shape, **a: bind(_conv, h, w, **a),
       lambda h, ans, g, w, input_shape, **a: bind(_conv_filter, h, g, filter_shape=w._value.shape, **a))
defvjp(_conv_filter,
       lambda h, ans, x, g, filter_shape, **a: bind(_conv_input, g, h, input_shape=x._value.shape, **a),
       lambda h, ans, x, g, filter_shape, **a: bind(_conv, x, h, **a))


# -- public convolutions --------------------------------------------------------------------
def _same_dtype(x: Tensor, w: Tensor, op: str) -> None:
    if x._value.dtype != w._value.dtype:
        raise TypeError(f"{op}: input has dtype {x.dtype.name} but filters have dtype {w.dtype.name}; "
                        f"cast one with tf.cast")


def _conv2d_nhwc(x: Tensor, w: Tensor, strides, padding, dilations, op: str, channels_first=False,
                 attrs_only=False):
    if x._value.ndim != 4 or w._value.ndim != 4:
        raise ValueError(f"{op}: expected a rank-4 input and rank-4 filters (kh, kw, in, out), got shapes "
                         f"{x._value.shape} and {w._value.shape}")
    _same_dtype(x, w, op)
    n, h, wd, c = x._value.shape
    kh, kw, cg, cout = w._value.shape
    if cg == 0 or c % cg or cout % (c // cg):
        raise ValueError(f"{op}: input has {c} channels, filters expect {cg} per group and give {cout} outputs; "
                         f"input channels must be a multiple of filters.shape[2] and out channels of the groups")
    s = _spatial(strides, 2, f"{op} strides", channels_first)
    d = _spatial(dilations, 2, f"{op} dilations", channels_first)
    k_eff = ((kh - 1) * d[0] + 1, (kw - 1) * d[1] + 1)
    pads = _pads(padding, (h, wd), k_eff, s, channels_first)
    if h + sum(pads[0]) < k_eff[0] or wd + sum(pads[1]) < k_eff[1]:
        raise ValueError(f"{op}: the (dilated) kernel {k_eff} is larger than the padded input "
                         f"{(h + sum(pads[0]), wd + sum(pads[1]))} (input shape {x._value.shape})")
    attrs = dict(strides=s, dilations=d, pads=pads, groups=c // cg)
    return attrs if attrs_only else bind(_conv, x, w, **attrs)


def _to_nhwc(x: Tensor) -> Tensor:
    return A.transpose(x, perm=(0, 2, 3, 1))


def _to_nchw(x: Tensor) -> Tensor:
    return A.transpose(x, perm=(0, 3, 1, 2))


def _is_cf(data_format) -> bool:
    if data_format is None:
        return False
    df = str(data_format).upper()
    if df in ("NHWC", "NWC", "CHANNELS_LAST"):
        return False
    if df in ("NCHW", "NCW", "CHANNELS_FIRST"):
        return True
    raise ValueError(f"data_format must be 'NHWC'/'NWC' or 'NCHW'/'NCW', got {data_format!r}")


def conv2d(input, filters, strides, padding, data_format="NHWC", dilations=None, name=None) -> Tensor:  # noqa: A002
    """2-D convolution as ``tf.nn.conv2d`` (cross-correlation; filters (kh, kw, in, out)).

    When the input has ``groups * filters.shape[2]`` channels the convolution is grouped
    (Keras ``Conv2D(groups=...)``).

    >>> import tapeflow as tf
    >>> x = tf.ones((1, 4, 4, 1)); w = tf.ones((3, 3, 1, 2))
    >>> tf.nn.conv2d(x, w, strides=1, padding="SAME").shape.as_list()
    [1, 4, 4, 2]
    """
    x, w = _f(input), _f(filters)
    cf = _is_cf(data_format)
    if cf:
        return _to_nchw(_conv2d_nhwc(_to_nhwc(x), w, strides, padding, dilations, "conv2d", True))
    return _conv2d_nhwc(x, w, strides, padding, dilations, "conv2d")


def conv1d(input, filters, stride, padding, data_format="NWC", dilations=None, name=None) -> Tensor:  # noqa: A002
    """1-D convolution as ``tf.nn.conv1d`` (input (N, W, C), filters (kw, in, out)).

    >>> import tapeflow as tf
    >>> tf.nn.conv1d(tf.ones((2, 5, 3)), tf.ones((2, 3, 4)), stride=1, padding="VALID").shape.as_list()
    [2, 4, 4]
    """
    x, w = _f(input), _f(filters)
    if x._value.ndim != 3 or w._value.ndim != 3:
        raise ValueError(f"conv1d: expected a rank-3 input and rank-3 filters (kw, in, out), got shapes "
                         f"{x._value.shape} and {w._value.shape}")
    cf = _is_cf(data_format)
    if cf:
        x = A.transpose(x, perm=(0, 2, 1))
    s = _spatial(stride, 1, "conv1d stride", cf)
    d = _spatial(dilations, 1, "conv1d dilations", cf)
    if not isinstance(padding, str):
        padding = [(0, 0)] + list(_pads(padding, (x._value.shape[1],), (1,), (1,), cf))
    out = _conv2d_nhwc(A.expand_dims(x, 1), A.expand_dims(w, 0), (1,) + s, padding, (1,) + d, "conv1d")
    out = A.squeeze(out, axis=1)
    return A.transpose(out, perm=(0, 2, 1)) if cf else out


def depthwise_conv2d(input, filter, strides, padding, data_format=None, dilations=None,  # noqa: A002
                     name=None) -> Tensor:
    """Depthwise convolution as ``tf.nn.depthwise_conv2d``: filter (kh, kw, in, multiplier).

    Output channel ``k * multiplier + q`` convolves input channel k with ``filter[:, :, k, q]``.

    >>> import tapeflow as tf
    >>> tf.nn.depthwise_conv2d(tf.ones((1, 5, 5, 3)), tf.ones((3, 3, 3, 2)), [1, 1, 1, 1], "VALID").shape.as_list()
    [1, 3, 3, 6]
    """
    x, w = _f(input), _f(filter)
    if w._value.ndim != 4 or x._value.ndim != 4:
        raise ValueError(f"depthwise_conv2d: expected rank-4 input and filter (kh, kw, in, multiplier), got shapes "
                         f"{x._value.shape} and {w._value.shape}")
    cf = _is_cf(data_format)
    c = x._value.shape[1 if cf else 3]
    kh, kw, cin, mult = w._value.shape
    if cin != c:
        raise ValueError(f"depthwise_conv2d: input has {c} channels but filter.shape[2] is {cin}")
    wg = A.reshape(w, (kh, kw, 1, cin * mult))
    if cf:
        return _to_nchw(_conv2d_nhwc(_to_nhwc(x), wg, strides, padding, dilations, "depthwise_conv2d", True))
    return _conv2d_nhwc(x, wg, strides, padding, dilations, "depthwise_conv2d")


def separable_conv2d(input, depthwise_filter, pointwise_filter, strides, padding, data_format=None,  # noqa: A002
                     dilations=None, name=None) -> Tensor:
    """Depthwise convolution followed by a 1x1 convolution, as ``tf.nn.separable_conv2d``."""
    y = depthwise_conv2d(input, depthwise_filter, strides, padding, data_format, dilations)
    return conv2d(y, pointwise_filter, 1, "VALID", data_format="NCHW" if _is_cf(data_format) else "NHWC")


def _transpose_attrs(x: Tensor, w: Tensor, output_shape, strides, padding, dilations, cf: bool) -> dict:
    """Validated ``_conv_input`` attributes of a transposed convolution of NHWC ``x`` (filters (kh, kw, out, in))."""
    if x._value.ndim != 4 or w._value.ndim != 4:
        raise ValueError(f"conv2d_transpose: expected rank-4 input and filters (kh, kw, out, in), got shapes "
                         f"{x._value.shape} and {w._value.shape}")
    _same_dtype(x, w, "conv2d_transpose")
    if isinstance(output_shape, Tensor):
        output_shape = output_shape._value.tolist()
    oshape = [int(v) for v in output_shape]
    if len(oshape) != 4:
        raise ValueError(f"conv2d_transpose: output_shape must have 4 entries, got {output_shape!r}")
    if cf:
        oshape = [oshape[0], oshape[2], oshape[3], oshape[1]]
    kh, kw, cout, cin = w._value.shape
    n, h, wd, c = x._value.shape
    if c != cin or oshape[3] != cout or oshape[0] != n:
        raise ValueError(f"conv2d_transpose: input {x._value.shape}, filters {w._value.shape} (kh, kw, out, in) and "
                         f"output_shape {oshape} disagree on batch or channels")
    s = _spatial(strides, 2, "conv2d_transpose strides", cf)
    d = _spatial(dilations, 2, "conv2d_transpose dilations", cf)
    k_eff = ((kh - 1) * d[0] + 1, (kw - 1) * d[1] + 1)
    pads = _pads(padding, tuple(oshape[1:3]), k_eff, s, cf)
    implied = tuple(_out_size(oshape[1 + i] + sum(pads[i]), k_eff[i], s[i], 1) for i in range(2))
    if implied != (h, wd):
        raise ValueError(f"conv2d_transpose: output_shape {oshape} with strides {s} and padding {padding!r} maps back "
                         f"to spatial size {implied}, but the input has {(h, wd)}")
    return dict(input_shape=tuple(oshape), strides=s, dilations=d, pads=pads, groups=1)


def conv2d_transpose(input, filters, output_shape, strides, padding="SAME", data_format="NHWC",  # noqa: A002
                     dilations=None, name=None) -> Tensor:
    """Transposed convolution as ``tf.nn.conv2d_transpose``: filters (kh, kw, out, in).

    It is the gradient of ``conv2d(·, filters)`` with respect to its input, for an input of
    ``output_shape``.

    >>> import tapeflow as tf
    >>> y = tf.nn.conv2d_transpose(tf.ones((1, 3, 3, 2)), tf.ones((3, 3, 4, 2)), [1, 6, 6, 4], 2, "SAME")
    >>> y.shape.as_list()
    [1, 6, 6, 4]
    """
    x, w = _f(input), _f(filters)
    cf = _is_cf(data_format)
    if cf:
        x = _to_nhwc(x)
    out = bind(_conv_input, x, w, **_transpose_attrs(x, w, output_shape, strides, padding, dilations, cf))
    return _to_nchw(out) if cf else out


def conv1d_transpose(input, filters, output_shape, strides, padding="SAME", data_format="NWC",  # noqa: A002
                     dilations=None, name=None) -> Tensor:
    """Transposed 1-D convolution as ``tf.nn.conv1d_transpose``: filters (kw, out, in)."""
    x, w = _f(input), _f(filters)
    cf = _is_cf(data_format)
    if cf:
        x = A.transpose(x, perm=(0, 2, 1))
    oshape = [int(v) for v in (output_shape._value.tolist() if isinstance(output_shape, Tensor) else output_shape)]
    if cf:
        oshape = [oshape[0], oshape[2], oshape[1]]
    s = _spatial(strides, 1, "conv1d_transpose strides", cf)
    d = _spatial(dilations, 1, "conv1d_transpose dilations", cf)
    out = conv2d_transpose(A.expand_dims(x, 1), A.expand_dims(w, 0), [oshape[0], 1, oshape[1], oshape[2]],
                           (1,) + s, padding, dilations=(1,) + d)
    out = A.squeeze(out, axis=1)
    return A.transpose(out, perm=(0, 2, 1)) if cf else out


def convolution(input, filters, strides=None, padding="VALID", data_format=None, dilations=None,  # noqa: A002
                name=None) -> Tensor:
    """``tf.nn.convolution``: conv1d or conv2d by the input's rank."""
    rank = _f(input)._value.ndim
    if rank == 3:
        return conv1d(input, filters, 1 if strides is None else strides, padding, data_format or "NWC", dilations)
    if rank == 4:
        return conv2d(input, filters, 1 if strides is None else strides, padding, data_format or "NHWC", dilations)
    raise ValueError(f"convolution: only rank-3 and rank-4 inputs are supported, got rank {rank}")


from . import conv_fast as _conv_fast  # noqa: E402,F401 - fused conv+bias+relu and the array VJP twins
