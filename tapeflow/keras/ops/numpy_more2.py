"""More of Keras 3's ``keras.ops``: array building and layout, set/search/count ops, window functions
and the functional control ops (``switch``, ``vectorized_map``...).

Layout ops (roll, rot90, diagonal, kron, cross, diff, correlate, select, scatter_update...) are
compositions of differentiable gathers/reshapes/arithmetic; integer, boolean and index results (bitwise,
isclose, unique, searchsorted, bincount, nonzero...) are constants.

>>> from tapeflow.keras import ops
>>> ops.roll([1, 2, 3, 4], 1).numpy().tolist()
[4, 1, 2, 3]
"""
from __future__ import annotations

import builtins

import numpy as np

from ... import backend as B
from ...autodiff.tensor import Tensor
from ...ops import array_ops as A
from ...ops import math_ops as M
from ...ops import reduce_ops as R
from .numpy import _float, _pair, _t, concatenate, flip, split, swapaxes, take, where

__all__ = ["append", "argpartition", "array", "array_split", "bincount", "correlate", "corrcoef", "cross", "diagflat",
           "diagonal", "diff", "digitize", "dsplit", "dstack", "empty", "empty_like", "fliplr", "flipud", "geomspace",
           "logspace", "histogram", "hsplit", "vsplit", "kron", "meshgrid", "nonzero", "roll", "rot90",
           "searchsorted", "select", "trapezoid", "unique", "unravel_index", "vander", "vdot", "view",
           "saturate_cast", "get_item", "scatter_update", "bartlett", "blackman", "hamming", "hanning", "kaiser",
           "switch", "vectorize", "vectorized_map", "associative_scan"]


def _c(arr) -> Tensor:
    return Tensor._wrap(np.asarray(arr))


def _v(x) -> np.ndarray:
    return _t(x)._value


# -- creation -----------------------------------------------------------------------------------------
def array(x, dtype=None):
    """``x`` as a tensor (Python floats become floatx, ints int32)."""
    return _t(x, None if dtype is None else B.as_dtype(dtype))


def empty(shape, dtype=None):
    """A tensor of ``shape`` (zero-filled here, so results are deterministic)."""
    return _c(np.zeros(shape, dtype=B.as_dtype(dtype or B.floatx())))


def empty_like(x, dtype=None):
    """A zero-filled tensor with ``x``'s shape and dtype."""
    return _c(np.zeros_like(_v(x), dtype=None if dtype is None else B.as_dtype(dtype)))


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``num`` numbers evenly spaced on a log scale from ``start`` to ``stop`` (floatx by default)."""
    return _c(np.geomspace(_v(start), _v(stop), int(num), endpoint=endpoint, axis=axis).astype(
        B.as_dtype(dtype or B.floatx())))


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """``base ** linspace(start, stop, num)`` (floatx by default)."""
    return _c(np.logspace(_v(start), _v(stop), int(num), endpoint=endpoint, base=base, axis=axis).astype(
        B.as_dtype(dtype or B.floatx())))


def _window(fn, name):
    def op(x):
        return _c(fn(int(np.asarray(getattr(x, "_value", x)))).astype(B.floatx()))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"The length-``x`` {name} window (floatx)."
    return op


bartlett = _window(np.bartlett, "bartlett")
blackman = _window(np.blackman, "blackman")
hamming = _window(np.hamming, "hamming")
hanning = _window(np.hanning, "hanning")


def kaiser(x, beta):
    """The length-``x`` Kaiser window with shape parameter ``beta`` (floatx)."""
    return _c(np.kaiser(int(np.asarray(getattr(x, "_value", x))), float(beta)).astype(B.floatx()))


# -- layout (differentiable compositions) ---------------------------------------------------------------
def append(x1, x2, axis=None):
    """``x2`` appended to ``x1`` along ``axis`` (both flattened when None)."""
    a, b = _pair(x1, x2)
    if axis is None:
        return concatenate([A.reshape(a, (-1,)), A.reshape(b, (-1,))], axis=0)
    return concatenate([a, b], axis=axis)


def array_split(x, indices_or_sections, axis=0):
    """``split`` that allows unequal parts (the first ``n % k`` parts one longer)."""
    x = _t(x)
    if isinstance(indices_or_sections, (int, np.integer)):
        n, k = x._value.shape[axis], int(indices_or_sections)
        sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
        return A.split(x, sizes, axis=axis)
    return split(x, indices_or_sections, axis=axis)


def _atleast(x, nd):
    x = _t(x)
    shape = x._value.shape
    if x._value.ndim >= nd:
        return x
    if nd == 3:
        shape = {0: (1, 1, 1), 1: (1,) + shape + (1,), 2: shape + (1,)}[len(shape)]
    else:
        shape = (1,) * (nd - len(shape)) + shape
    return A.reshape(x, shape)


def dstack(xs):
    """Stack along the third axis (1-D and 2-D inputs are promoted to 3-D)."""
    return concatenate([_atleast(x, 3) for x in xs], axis=2)


def hsplit(x, indices_or_sections):
    """``split`` along axis 1 (axis 0 for 1-D input)."""
    x = _t(x)
    return split(x, indices_or_sections, axis=0 if x._value.ndim == 1 else 1)


def vsplit(x, indices_or_sections):
    """``split`` along axis 0."""
    return split(x, indices_or_sections, axis=0)


def dsplit(x, indices_or_sections):
    """``split`` along axis 2."""
    return split(x, indices_or_sections, axis=2)


def fliplr(x):
    """Reversed along axis 1 (differentiable)."""
    return flip(x, axis=1)


def flipud(x):
    """Reversed along axis 0 (differentiable)."""
    return flip(x, axis=0)


def roll(x, shift, axis=None):
    """Entries shifted cyclically along ``axis`` (over the flattened tensor when None); differentiable."""
    x = _t(x)
    if axis is None:
        return A.reshape(roll(A.reshape(x, (-1,)), shift, 0), x._value.shape)
    shifts, axes = np.broadcast_arrays(np.atleast_1d(shift), np.atleast_1d(axis))
    for s, a in zip(shifts.tolist(), axes.tolist()):
        n = x._value.shape[a]
        if n:
            x = A.gather(x, (np.arange(n) - s) % n, axis=a)
    return x


def rot90(array, k=1, axes=(0, 1)):
    """Rotated by 90 degrees ``k`` times in the plane of ``axes`` (as NumPy); differentiable."""
    x = _t(array)
    if x._value.ndim < 2:
        raise ValueError(f"Input array must have at least 2 dimensions. Received: array.ndim={x._value.ndim}")
    a0, a1 = axes
    if len(axes) != 2 or a0 % x._value.ndim == a1 % x._value.ndim:
        raise ValueError(f"Invalid axes: {axes}. Axes must be a tuple of two different dimensions.")
    k %= 4
    if k == 0:
        return x
    if k == 2:
        return flip(flip(x, a0), a1)
    return swapaxes(flip(x, a1), a0, a1) if k == 1 else flip(swapaxes(x, a0, a1), a1)


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The ``offset`` diagonal over ``axis1``/``axis2``, appended as the last axis (as NumPy); differentiable."""
    x = _t(x)
    nd = x._value.ndim
    a1, a2 = axis1 % nd, axis2 % nd
    rest = [a for a in range(nd) if a not in (a1, a2)]
    y = A.transpose(x, rest + [a1, a2])
    n, m = x._value.shape[a1], x._value.shape[a2]
    i = np.arange(max(0, -offset), min(n, m - offset)) if min(n, m - offset) > max(0, -offset) else np.zeros(0, int)
    y = A.reshape(y, tuple(x._value.shape[a] for a in rest) + (n * m,))
    return A.gather(y, i * m + i + offset, axis=len(rest))


def diagflat(x, k=0):
    """A 2-D tensor with the flattened ``x`` on its ``k``-th diagonal; differentiable."""
    x = A.reshape(_t(x), (-1,))
    n = x._value.shape[0]
    size = n + abs(k)
    idx = np.zeros((size, size), np.int64)  # 0 picks the prepended zero, i + 1 picks x[i]
    r = np.arange(n)
    idx[r + max(0, -k), r + max(0, k)] = r + 1
    src = A.concat([_c(np.zeros((1,), x._value.dtype)), x], axis=0)
    return A.reshape(A.gather(src, idx.reshape(-1), axis=0), (size, size))


def diff(a, n=1, axis=-1):
    """``n``-th forward difference along ``axis``; differentiable."""
    x = _t(a)
    for _ in range(n):
        m = x._value.shape[axis]
        hi = take(x, np.arange(1, m), axis=axis)
        lo = take(x, np.arange(0, m - 1), axis=axis)
        x = M.subtract(hi, lo) if x._value.dtype != np.bool_ else _c(hi._value != lo._value)
    return x


def kron(x1, x2):
    """Kronecker product; differentiable."""
    a, b = _pair(x1, x2)
    nd = builtins.max(a._value.ndim, b._value.ndim)
    a = A.reshape(a, (1,) * (nd - a._value.ndim) + a._value.shape)
    b = A.reshape(b, (1,) * (nd - b._value.ndim) + b._value.shape)
    sa, sb = a._value.shape, b._value.shape
    a2 = A.reshape(a, tuple(d for s in sa for d in (s, 1)))
    b2 = A.reshape(b, tuple(d for s in sb for d in (1, s)))
    return A.reshape(M.multiply(a2, b2), tuple(p * q for p, q in zip(sa, sb)))


def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D tensors (``"xy"`` or ``"ij"`` indexing); differentiable."""
    xs = [A.reshape(_t(v), (-1,)) for v in x]
    shape = [v._value.shape[0] for v in xs]
    if indexing == "xy" and len(xs) > 1:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, v in enumerate(xs):
        ax = {0: 1, 1: 0}.get(i, i) if indexing == "xy" and len(xs) > 1 else i
        s = [1] * len(xs)
        s[ax] = -1
        out.append(A.broadcast_to(A.reshape(v, s), tuple(shape)))
    return out


def _moveaxis(x, src, dst):
    nd = x._value.ndim
    perm = [a for a in range(nd) if a != src % nd]
    perm.insert(dst % nd, src % nd)
    return A.transpose(x, perm)


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or 2-vectors, giving the z component) along the given axes; differentiable."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = _pair(x1, x2)
    a, b = _moveaxis(a, axisa, -1), _moveaxis(b, axisb, -1)
    na, nb = a._value.shape[-1], b._value.shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: vectors must have 2 or 3 components, got {na} and {nb}")

    def comp(t, i, n):
        return A.squeeze(take(t, [i], axis=-1), -1) if i < n else None

    ax, ay, az = (comp(a, i, na) for i in range(3))
    bx, by, bz = (comp(b, i, nb) for i in range(3))
    z = M.subtract(M.multiply(ax, by), M.multiply(ay, bx))
    if na == 2 and nb == 2:
        return z
    x = M.subtract(M.multiply(ay, bz), M.multiply(az, by)) if az is not None and bz is not None else (
        M.multiply(ay, bz) if bz is not None else M.negative(M.multiply(az, by)))
    y = M.subtract(M.multiply(az, bx), M.multiply(ax, bz)) if az is not None and bz is not None else (
        M.negative(M.multiply(ax, bz)) if bz is not None else M.multiply(az, bx))
    shape = np.broadcast_shapes(x._value.shape, y._value.shape, z._value.shape)
    out = A.stack([A.broadcast_to(t, shape) for t in (x, y, z)], axis=-1)
    return _moveaxis(out, -1, axisc)


def vdot(x1, x2):
    """Dot product of the flattened tensors; differentiable."""
    a, b = _pair(x1, x2)
    return R.reduce_sum(M.multiply(A.reshape(a, (-1,)), A.reshape(b, (-1,))))


def vander(x, N=None, increasing=False):  # noqa: N803 - Keras's name
    """Vandermonde matrix of 1-D ``x`` (decreasing powers unless ``increasing``); differentiable for floats."""
    x = _t(x)
    n = x._value.shape[0] if N is None else int(N)
    if x._value.dtype.kind != "f":
        return _c(np.vander(x._value, n, increasing=increasing).astype(x._value.dtype))
    cols, p = [], A.ones_like(x)
    for _ in range(n):  # running products: no 0 ** -1 in the gradient
        cols.append(p)
        p = M.multiply(p, x)
    out = A.stack(cols, axis=1) if cols else _c(np.zeros((x._value.shape[0], 0), x._value.dtype))
    return out if increasing or not cols else flip(out, 1)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of ``y`` along ``axis`` by the trapezoid rule (sample points ``x`` or spacing ``dx``)."""
    y = _float(y)
    m = y._value.shape[axis]
    avg = M.multiply(M.add(take(y, np.arange(1, m), axis=axis), take(y, np.arange(m - 1), axis=axis)), 0.5)
    if x is None:
        return M.multiply(R.reduce_sum(avg, axis=axis), dx)
    d = diff(_float(x), axis=axis if _t(x)._value.ndim > 1 else -1)
    if d._value.ndim == 1 and y._value.ndim > 1:
        shape = [1] * y._value.ndim
        shape[axis] = -1
        d = A.reshape(d, shape)
    return R.reduce_sum(M.multiply(avg, A.cast(d, avg._value.dtype)), axis=axis)


def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1-D tensors (``"valid"``, ``"same"`` or ``"full"``, as NumPy); differentiable."""
    a, v = _pair(x1, x2)
    if a._value.dtype.kind != "f":
        dt = "float64" if a._value.dtype == np.int64 else "float32"
        a, v = A.cast(a, dt), A.cast(v, dt)
    n, m = a._value.shape[0], v._value.shape[0]
    if not n or not m:
        raise ValueError("correlate: both inputs must be non-empty 1-D tensors")
    ap = A.pad(a, [[m - 1, m - 1]])
    windows = A.gather(ap, np.arange(n + m - 1)[:, None] + np.arange(m)[None, :], axis=0)
    full = A.reshape(M.matmul(windows, A.reshape(v, (m, 1))), (-1,))
    if mode == "full":
        return full
    if mode not in ("valid", "same"):
        raise ValueError(f"correlate: mode must be 'valid', 'same' or 'full', got {mode!r}")
    lo = builtins.min(n, m)
    length, off = {"valid": (builtins.max(n, m) - lo + 1, lo - 1),
                   "same": (builtins.max(n, m), (lo - 1) // 2 if n >= m else lo // 2)}[mode]
    return full[off:off + length]


def corrcoef(x):
    """Pearson correlation coefficients of the rows of ``x``; differentiable."""
    x = _float(x)
    if x._value.ndim == 1:
        x = A.reshape(x, (1, -1))
    xm = M.subtract(x, R.reduce_mean(x, axis=1, keepdims=True))
    c = M.matmul(xm, A.transpose(xm))
    d = M.sqrt(diagonal(c))
    out = A.clip_by_value(M.divide(c, M.multiply(A.reshape(d, (-1, 1)), A.reshape(d, (1, -1)))), -1.0, 1.0)
    return A.reshape(out, ()) if out._value.shape == (1, 1) else out


def select(condlist, choicelist, default=0):
    """The first choice whose condition holds, else ``default``, elementwise; differentiable in the choices."""
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: {len(condlist)} conditions but {len(choicelist)} choices")
    choices = [_t(c) for c in choicelist]
    out = _t(default, choices[0]._value.dtype if choices else None)
    for cond, ch in zip(reversed(condlist), reversed(choices)):
        out = where(cond, ch, out)
    return out


# -- search, count, sets (constants) -----------------------------------------------------------------------
def argpartition(x, kth, axis=-1):
    """Indices (int32) that partition ``x`` around its ``kth`` smallest entry along ``axis``."""
    return _c(np.argpartition(_v(x), kth, axis).astype(np.int32))


def searchsorted(sorted_sequence, values, side="left"):
    """Insertion indices (int32) of ``values`` into the 1-D ``sorted_sequence``."""
    s = _v(sorted_sequence)
    if s.ndim != 1:
        raise ValueError("`searchsorted` only supports 1-D sorted sequences (use keras.ops.vectorized_map for N-D). "
                         f"Received: sorted_sequence.shape={s.shape}")
    return _c(np.searchsorted(s, _v(values), side=side).astype(np.int32))


def digitize(x, bins):
    """Index (int32) of the bin each entry falls in."""
    return _c(np.digitize(_v(x), _v(bins)).astype(np.int32))


def bincount(x, weights=None, minlength=0, sparse=False):
    """Counts (int32) or summed ``weights`` of each non-negative integer; 2-D input counts row by row."""
    if sparse:
        raise ValueError("bincount: sparse=True is not supported by tapeflow")
    v = _v(x)
    w = None if weights is None else _v(weights)
    dtype = np.int32 if w is None else (w.dtype if w.dtype.kind == "f" else np.result_type(v.dtype, w.dtype))
    if v.ndim == 2:
        length = builtins.max(int(minlength), int(v.max()) + 1 if v.size else 0)
        rows = [np.bincount(r, None if w is None else wr, length)
                for r, wr in zip(v, w if w is not None else [None] * len(v))]
        return _c(np.stack(rows).astype(dtype))
    return _c(np.bincount(v, w, int(minlength)).astype(dtype))


def histogram(x, bins=10, range=None):  # noqa: A002 - Keras's name
    """(counts, bin_edges) of ``x`` over ``bins`` equal bins, both in ``x``'s float dtype (as Keras)."""
    v = _v(x)
    dt = v.dtype if v.dtype.kind == "f" else np.dtype(B.floatx())
    counts, edges = np.histogram(v, bins=bins, range=range)
    return _c(counts.astype(dt)), _c(edges.astype(dt))


def nonzero(x):
    """A tuple of int32 index tensors, one per axis, of the non-zero entries."""
    return tuple(_c(i.astype(np.int32)) for i in np.nonzero(_v(x)))


def unravel_index(indices, shape):
    """Flat ``indices`` as a tuple of coordinate tensors for ``shape`` (in ``indices``' dtype)."""
    v = _v(indices)
    return tuple(_c(i.astype(v.dtype)) for i in np.unravel_index(v, tuple(shape)))


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False, axis=None,  # noqa: A002
           size=None, fill_value=None):
    """Sorted unique values (and int32 first indices / inverse / counts); ``size`` pads with ``fill_value``
    (0 when None) or truncates, as Keras.

    >>> from tapeflow.keras import ops
    >>> ops.unique([3, 1, 3, 2], size=5, fill_value=-1).numpy().tolist()
    [1, 2, 3, -1, -1]
    """
    v = _v(x)
    out = np.unique(v, return_index=return_index, return_inverse=return_inverse, return_counts=return_counts,
                    axis=axis)
    out = list(out) if (return_index or return_inverse or return_counts) else [out]
    values = out[0]
    dim = 0 if axis is None else axis % v.ndim
    cnt = values.shape[dim]
    if size is not None and cnt != size:
        if cnt > size:
            values = np.take(values, np.arange(size), axis=dim)
        else:
            pw = [(0, 0)] * values.ndim
            pw[dim] = (0, size - cnt)
            values = np.pad(values, pw, constant_values=0 if fill_value is None else fill_value)
        extra = [(1, return_index, 1), (len(out) - 1, return_counts, 0)]
        for pos, on, fill in extra:
            if on:
                out[pos] = out[pos][:size] if cnt > size else np.pad(out[pos], (0, size - cnt), constant_values=fill)
    out[0] = values
    res = [_c(values)] + [_c(np.asarray(o).astype(np.int32)) for o in out[1:]]
    return res[0] if len(res) == 1 else tuple(res)


# -- views, casts, indexing ----------------------------------------------------------------------------
def view(x, dtype=None):
    """The same bytes reinterpreted as ``dtype`` (not differentiable)."""
    v = _v(x)
    return _c(v.view() if dtype is None else v.view(B.as_dtype(dtype)))


def saturate_cast(x, dtype):
    """Cast to ``dtype`` after clipping to its range (no wrap-around); differentiable to float dtypes.

    >>> from tapeflow.keras import ops
    >>> ops.saturate_cast([-5.0, 300.5, 12.7], "uint8").numpy().tolist()
    [0, 255, 12]
    """
    x = _t(x)
    dt = np.dtype(B.as_dtype(dtype))
    src = x._value.dtype
    if dt.kind == "b" or src.kind == "b":
        return A.cast(x, dt)
    info = np.iinfo(dt) if dt.kind in "iu" else np.finfo(dt)
    lo, hi = info.min, info.max
    if src.kind in "iu":
        si = np.iinfo(src)
        lo, hi = builtins.max(lo, si.min), builtins.min(hi, si.max)
    elif src.kind == "f":
        sf = np.finfo(src)
        lo, hi = builtins.max(lo, sf.min), builtins.min(hi, sf.max)
        if dt.kind in "iu":  # the largest source-representable values that still fit
            lo = np.nextafter(src.type(lo), src.type(0)) if float(src.type(lo)) < lo else src.type(lo)
            hi = np.nextafter(src.type(hi), src.type(0)) if float(src.type(hi)) > hi else src.type(hi)
    if dt.kind == "f":
        return A.cast(A.clip_by_value(x, src.type(lo), src.type(hi)), dt)
    return _c(np.clip(x._value, lo, hi).astype(dt))


def get_item(x, key):
    """``x[key]`` (differentiable)."""
    return A.getitem(_t(x), key)


def scatter_update(inputs, indices, updates, reduction=None):
    """``inputs`` with the slices at ``indices`` (shape (N, k)) set to ``updates``; differentiable in both.

    ``reduction`` (``"add"``, ``"max"``, ``"min"``, ``"mul"``) combines instead of replacing (then constant).

    >>> from tapeflow.keras import ops
    >>> ops.scatter_update(ops.zeros((3,)), [[0], [2]], [1.0, 2.0]).numpy().tolist()
    [1.0, 0.0, 2.0]
    """
    x = _t(inputs)
    idx = np.asarray(getattr(indices, "_value", indices)).astype(np.int64)
    upd = _t(updates, x._value.dtype)
    k = idx.shape[-1]
    pos = tuple(idx.reshape(-1, k).T)
    if reduction is not None:
        ufunc = {"add": np.add, "max": np.maximum, "min": np.minimum, "mul": np.multiply}.get(reduction)
        if ufunc is None:
            raise ValueError(f"Unsupported reduction: {reduction}")
        out = x._value.copy()
        ufunc.at(out, pos, upd._value.reshape((-1,) + x._value.shape[k:]))
        return _c(out)
    owner = np.full(x._value.shape[:k], -1, np.int64)
    owner[pos] = np.arange(idx.reshape(-1, k).shape[0])
    upd = A.reshape(upd, (-1,) + x._value.shape[k:])
    picked = A.gather(upd, np.maximum(owner, 0), axis=0)
    mask = (owner >= 0).reshape(owner.shape + (1,) * (x._value.ndim - k))
    return A.where(_c(np.broadcast_to(mask, x._value.shape)), picked, x)


# -- functional control ---------------------------------------------------------------------------------
def switch(index, branches, *operands):
    """``branches[index](*operands)``, with ``index`` clipped to the valid range."""
    i = int(np.clip(int(np.asarray(getattr(index, "_value", index))), 0, len(branches) - 1))
    return branches[i](*operands)


def vectorized_map(function, elements):
    """``function`` applied to each slice along axis 0 (a list/tuple of tensors is sliced together), stacked."""
    if isinstance(elements, (list, tuple)):
        els = [_t(e) for e in elements]
        outs = [function([A.getitem(e, i) for e in els]) for i in range(els[0]._value.shape[0])]
    else:
        e = _t(elements)
        outs = [function(A.getitem(e, i)) for i in range(e._value.shape[0])]
    if outs and isinstance(outs[0], (list, tuple)):
        return type(outs[0])(A.stack([_t(o[j]) for o in outs], axis=0) for j in range(len(outs[0])))
    return A.stack([_t(o) for o in outs], axis=0)


def vectorize(pyfunc, *, excluded=None, signature=None):
    """``np.vectorize`` of ``pyfunc`` over tensors (NumPy arrays reach ``pyfunc``; not differentiable)."""
    def unwrap(out):
        if isinstance(out, (list, tuple)):
            return type(out)(unwrap(o) for o in out)
        return np.asarray(getattr(out, "_value", out))

    vf = np.vectorize(lambda *a, **k: unwrap(pyfunc(*a, **k)), excluded=excluded or set(), signature=signature)

    def wrapped(*args, **kwargs):
        out = vf(*[getattr(a, "_value", a) for a in args], **kwargs)
        return tuple(_c(o) for o in out) if isinstance(out, tuple) else _c(out)
    return wrapped


def associative_scan(f, elems, reverse=False, axis=0):
    """Inclusive scan with the associative ``f(a, b)`` along ``axis`` (``f`` sees slices that keep the axis).

    Sequential, and differentiable through ``f``; ``elems`` may be a tensor or a list/tuple of tensors.

    >>> from tapeflow.keras import ops
    >>> ops.associative_scan(lambda a, b: a + b, ops.arange(1, 5)).numpy().tolist()
    [1, 3, 6, 10]
    """
    multi = isinstance(elems, (list, tuple))
    els = [_t(e) for e in (elems if multi else [elems])]
    if reverse:
        els = [flip(e, axis) for e in els]
    n = els[0]._value.shape[axis]
    if builtins.any(e._value.shape[axis] != n for e in els):
        raise ValueError(f"associative_scan: inputs differ in length along axis {axis}: "
                         f"{[e._value.shape for e in els]}")

    def part(i):
        return [take(e, [i], axis=axis) for e in els]

    def pack(xs):
        return type(elems)(xs) if multi else xs[0]

    acc = part(0)
    outs = [acc]
    for i in range(1, n):
        c = f(pack(acc), pack(part(i)))
        acc = [_t(v) for v in (c if multi else [c])]
        outs.append(acc)
    res = [concatenate([o[j] for o in outs], axis=axis) for j in range(len(els))]
    if reverse:
        res = [flip(r, axis) for r in res]
    return pack(res)
