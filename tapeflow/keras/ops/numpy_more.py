"""More of Keras 3's ``keras.ops`` NumPy-style ops: elementwise math, predicates, bitwise ops, complex
accessors, NaN-aware and order-statistic reductions.

Float functions of integer or bool inputs compute in floatx (float32), as Keras does. The differentiable
ones are tapeflow primitives (``tapeflow/ops/math_extra_ops.py``) or compositions of differentiable ops;
rounding, sign-bit, float-stepping, predicate and bitwise ops return constants (zero gradient), as in Keras.
Complex accessors (real/imag/conj/angle) are thin wrappers: tapeflow has no complex autodiff.

>>> from tapeflow.keras import ops
>>> round(ops.logaddexp(0.0, 0.0).numpy().item(), 4)
0.6931
"""
from __future__ import annotations

import math

import numpy as np

from ... import backend as B
from ...autodiff.tensor import Tensor
from ...ops import array_ops as A
from ...ops import math_extra_ops as E
from ...ops import math_ops as M
from ...ops import reduce_ops as R
from ...ops.einsum_ops import einsum as _tf_einsum
from .numpy import _axis, _float, _pair, _t, sort, take_along_axis

__all__ = ["arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "cbrt", "cosh", "sinh", "tan",
           "deg2rad", "rad2deg", "erfc", "erfinv", "exp2", "log10", "log2", "logaddexp", "logaddexp2", "hypot",
           "fabs", "fmod", "fmax", "fmin", "heaviside", "sinc", "trunc", "signbit", "ldexp", "nextafter", "i0",
           "divide_no_nan", "copy", "nansum", "nanmean", "nanmax", "nanmin", "nanprod", "nanvar", "nanstd",
           "nanargmax", "nanargmin", "nancumsum", "nancumprod", "ptp", "quantile", "percentile", "median",
           "nanquantile", "nanpercentile", "nanmedian", "allclose", "isclose", "isin", "isneginf", "isposinf",
           "isreal", "real", "imag", "conj", "conjugate", "angle", "left_shift", "right_shift", "logical_xor",
           "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_invert", "bitwise_left_shift",
           "bitwise_right_shift", "gcd", "lcm", "einsum"]


def _float_pair(x1, x2):
    a, b = _pair(x1, x2)
    if a._value.dtype.kind != "f":
        a, b = A.cast(a, B.floatx()), A.cast(b, B.floatx())
    return a, b


def _const(arr) -> Tensor:
    return Tensor._wrap(np.asarray(arr))


# -- unary elementwise math (differentiable) -------------------------------------------------------
def _unary(fn, name):
    def op(x):
        return fn(_float(x))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name} (integers computed in floatx); differentiable."
    return op


arccos = _unary(E.arccos, "arccos")
arccosh = _unary(E.arccosh, "arccosh")
arcsin = _unary(E.arcsin, "arcsin")
arcsinh = _unary(E.arcsinh, "arcsinh")
arctan = _unary(E.arctan, "arctan")
arctanh = _unary(E.arctanh, "arctanh")
cbrt = _unary(E.cbrt, "cbrt")
cosh = _unary(E.cosh, "cosh")
sinh = _unary(E.sinh, "sinh")
tan = _unary(E.tan, "tan")
erfc = _unary(E.erfc, "erfc")
erfinv = _unary(E.erfinv, "erfinv")
log10 = _unary(E.log10, "log10")
log2 = _unary(E.log2, "log2")
i0 = _unary(E.i0, "i0")
sinc = _unary(E.sinc, "sinc")


def fabs(x):
    """Absolute value as a float (integers become floatx)."""
    return M.abs(_float(x))


def deg2rad(x):
    """Degrees to radians.

    >>> from tapeflow.keras import ops
    >>> [round(v, 5) for v in ops.deg2rad([180]).numpy().tolist()]
    [3.14159]
    """
    return M.multiply(_float(x), math.pi / 180.0)


def rad2deg(x):
    """Radians to degrees."""
    return M.multiply(_float(x), 180.0 / math.pi)


def exp2(x):
    """2 ** x (exact for integer x; differentiable)."""
    x = _float(x)
    return M.pow(Tensor._wrap(np.asarray(2.0, x._value.dtype)), x)


def copy(x):
    """A copy of ``x`` (gradient passes through)."""
    return A.identity(_t(x))


# -- binary elementwise math ---------------------------------------------------------------------
def arctan2(x1, x2):
    """Angle of the point (x2, x1), elementwise, in [-pi, pi]; gradient 0 at the origin."""
    return E.arctan2(*_float_pair(x1, x2))


def hypot(x1, x2):
    """sqrt(x1**2 + x2**2) without overflow; gradient 0 where both are 0.

    >>> from tapeflow.keras import ops
    >>> ops.hypot([3, 0], [4, 0]).numpy().tolist()
    [5.0, 0.0]
    """
    return E.hypot(*_float_pair(x1, x2))


def logaddexp(x1, x2):
    """log(exp(x1) + exp(x2)) computed stably; gradient softmax(x1, x2), exact at ties."""
    a, b = _float_pair(x1, x2)
    m = np.maximum(a._value, b._value)
    m = _const(np.where(np.isfinite(m), m, 0).astype(a._value.dtype))
    return M.add(m, M.log(M.add(M.exp(M.subtract(a, m)), M.exp(M.subtract(b, m)))))


def logaddexp2(x1, x2):
    """log2(2**x1 + 2**x2) computed stably; differentiable."""
    a, b = _float_pair(x1, x2)
    ln2 = math.log(2.0)
    return M.divide(logaddexp(M.multiply(a, ln2), M.multiply(b, ln2)), ln2)


def fmod(x1, x2):
    """C remainder (sign of ``x1``); floats are differentiable, integers exact."""
    a, b = _pair(x1, x2)
    if a._value.dtype.kind == "f":
        return E.fmod(a, b)
    if a._value.dtype == np.bool_:
        a, b = A.cast(a, "int32"), A.cast(b, "int32")
    return _const(np.fmod(a._value, b._value))


def fmax(x1, x2):
    """Elementwise max that ignores NaN (returns the other operand); differentiable."""
    a, b = _pair(x1, x2)
    return A.where(_const((a._value >= b._value) | np.isnan(b._value)), a, b)


def fmin(x1, x2):
    """Elementwise min that ignores NaN (returns the other operand); differentiable."""
    a, b = _pair(x1, x2)
    return A.where(_const((a._value <= b._value) | np.isnan(b._value)), a, b)


def divide_no_nan(x1, x2):
    """x1 / x2, with 0 where x2 == 0 (gradients there are 0, not NaN).

    >>> from tapeflow.keras import ops
    >>> ops.divide_no_nan([1.0, 2.0], [0.0, 4.0]).numpy().tolist()
    [0.0, 0.5]
    """
    a, b = _float_pair(x1, x2)
    zero = b._value == 0
    if not zero.any():
        return M.divide(a, b)
    safe = A.where(_const(zero), _const(np.ones((), b._value.dtype)), b)
    return A.where(_const(zero), _const(np.zeros((), a._value.dtype)), M.divide(a, safe))


def ldexp(x1, x2):
    """x1 * 2**x2 for an integer exponent ``x2``; differentiable in ``x1``."""
    e = np.asarray(getattr(x2, "_value", x2))
    if e.dtype.kind not in "iu":
        raise TypeError(f"ldexp exponent must be an integer type. Received: x2 dtype={e.dtype}")
    x = _float(x1)
    return M.multiply(x, _const(np.ldexp(np.ones((), x._value.dtype), e)))


def heaviside(x1, x2):
    """0 where x1 < 0, x2 where x1 == 0, 1 where x1 > 0 (integers give floatx); not differentiable."""
    a, b = _pair(x1, x2)
    out = np.heaviside(a._value, b._value)
    return _const(out.astype(a._value.dtype if a._value.dtype.kind == "f" else B.floatx()))


def trunc(x):
    """Round toward zero (integers returned unchanged); zero gradient."""
    x = _t(x)
    return x if x._value.dtype.kind in "iub" else _const(np.trunc(x._value))


def signbit(x):
    """True where the sign bit is set (including -0.0)."""
    return _const(np.signbit(_t(x)._value))


def nextafter(x1, x2):
    """The next representable float after ``x1`` toward ``x2``."""
    a, b = _float_pair(x1, x2)
    return _const(np.nextafter(a._value, b._value))


def _c(arr) -> Tensor:
    return Tensor._wrap(np.asarray(arr))


def _v(x) -> np.ndarray:
    return _t(x)._value


# -- comparisons and predicates (constants) -----------------------------------------------------------
def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """|x1 - x2| <= atol + rtol * |x2|, elementwise (bool).

    >>> from tapeflow.keras import ops
    >>> ops.isclose([1.0, 2.0], [1.0, 2.1]).numpy().tolist()
    [True, False]
    """
    return _c(np.isclose(_v(x1), _v(x2), rtol, atol, equal_nan))


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Whether every entry ``isclose`` (a scalar bool tensor)."""
    return _c(np.allclose(_v(x1), _v(x2), rtol, atol, equal_nan))


def isin(x1, x2, assume_unique=False, invert=False):
    """Whether each entry of ``x1`` occurs in ``x2`` (bool)."""
    return _c(np.isin(_v(x1), _v(x2), assume_unique=assume_unique, invert=invert))


def isneginf(x):
    """True where ``x`` is -inf (bool)."""
    return _c(np.isneginf(_v(x)))


def isposinf(x):
    """True where ``x`` is +inf (bool)."""
    return _c(np.isposinf(_v(x)))


def isreal(x):
    """True where the imaginary part is 0 (always, for real tensors)."""
    return _c(np.isreal(_v(x)))


def logical_xor(x1, x2):
    """Elementwise exclusive or of the truth values (bool)."""
    return _c(np.logical_xor(_v(x1), _v(x2)))


# -- complex accessors (thin wrappers: tapeflow has no complex autodiff) --------------------------------
def real(x):
    """Real part; a real tensor is returned as is (differentiable), a complex one as a constant."""
    x = _t(x)
    return x if x._value.dtype.kind != "c" else _c(np.real(x._value))


def imag(x):
    """Imaginary part (zeros for a real tensor); no gradient (tapeflow has no complex autodiff)."""
    return _c(np.imag(_v(x)))


def conj(x):
    """Complex conjugate; a real tensor is returned as is (differentiable)."""
    x = _t(x)
    return x if x._value.dtype.kind != "c" else _c(np.conj(x._value))


conjugate = conj


def angle(x):
    """Argument of each (complex) entry, in floatx for integers; no gradient (no complex autodiff)."""
    v = _v(x)
    return _c(np.angle(v if v.dtype.kind in "fc" else v.astype(B.floatx())))


# -- bitwise (integers and bools; constants) ------------------------------------------------------------
def _bitwise(fn, name):
    def op(x, y):
        a, b = _pair(x, y)
        return _c(fn(a._value, b._value))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``np.{fn.__name__}`` of integer/bool tensors (promoted to one dtype)."
    return op


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")
bitwise_left_shift = _bitwise(np.left_shift, "bitwise_left_shift")
bitwise_right_shift = _bitwise(np.right_shift, "bitwise_right_shift")
left_shift = _bitwise(np.left_shift, "left_shift")
right_shift = _bitwise(np.right_shift, "right_shift")
def gcd(x1, x2):
    """Elementwise greatest common divisor of integer tensors."""
    a, b = _pair(x1, x2)
    return _c(np.gcd(a._value, b._value))


def lcm(x1, x2):
    """Elementwise least common multiple of integer tensors."""
    a, b = _pair(x1, x2)
    return _c(np.lcm(a._value, b._value))


def bitwise_invert(x):
    """Bitwise NOT (``~x``) of an integer/bool tensor.

    >>> from tapeflow.keras import ops
    >>> ops.bitwise_invert([0, 5]).numpy().tolist()
    [-1, -6]
    """
    return _c(np.invert(_v(x)))


bitwise_not = bitwise_invert


# -- NaN-aware reductions ---------------------------------------------------------------------
def _nan_filled(x, fill):
    """``x`` with NaNs replaced by ``fill`` (a constant mask: the gradient reaches the non-NaN entries)."""
    x = _t(x)
    nan = np.isnan(x._value) if x._value.dtype.kind == "f" else None
    if nan is None or not nan.any():
        return x, nan
    return A.where(_const(nan), _const(np.asarray(fill, x._value.dtype)), x), nan


def _int_accum(x):
    d = x._value.dtype
    if d in (np.bool_, np.int8, np.int16):
        return A.cast(x, "int32")
    if d in (np.uint8, np.uint16):
        return A.cast(x, "uint32")
    return x


def _keep_dtype(out, x):
    return out if out._value.dtype == x._value.dtype else A.cast(out, x._value.dtype)


def nansum(x, axis=None, keepdims=False):
    """Sum treating NaN as 0; differentiable.

    >>> from tapeflow.keras import ops
    >>> ops.nansum([1.0, float("nan"), 2.0]).numpy().item()
    3.0
    """
    x, _ = _nan_filled(_int_accum(_t(x)), 0)
    return _keep_dtype(R.reduce_sum(x, axis=_axis(axis), keepdims=keepdims), x)


def nanprod(x, axis=None, keepdims=False):
    """Product treating NaN as 1; differentiable."""
    x, _ = _nan_filled(_int_accum(_t(x)), 1)
    return _keep_dtype(R.reduce_prod(x, axis=_axis(axis), keepdims=keepdims), x)


def _nan_count(x, nan, axis, keepdims):
    cnt = np.sum(~nan, axis=axis, keepdims=keepdims) if nan is not None else None
    if cnt is None:
        n = x._value.size if axis is None else np.prod([x._value.shape[a] for a in np.atleast_1d(axis)])
        return _const(np.asarray(n, x._value.dtype))
    return _const(cnt.astype(x._value.dtype))


def nanmean(x, axis=None, keepdims=False):
    """Mean over the non-NaN entries (NaN where there are none); differentiable."""
    x = _float(x)
    axis = _axis(axis)
    filled, nan = _nan_filled(x, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return M.divide(R.reduce_sum(filled, axis=axis, keepdims=keepdims), _nan_count(x, nan, axis, keepdims))


def nanvar(x, axis=None, keepdims=False):
    """Population variance over the non-NaN entries; differentiable."""
    x = _float(x)
    axis = _axis(axis)
    mu = nanmean(x, axis=axis, keepdims=True)
    d, nan = _nan_filled(M.subtract(x, mu), 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return M.divide(R.reduce_sum(M.square(d), axis=axis, keepdims=keepdims), _nan_count(x, nan, axis, keepdims))


def nanstd(x, axis=None, keepdims=False):
    """Population standard deviation over the non-NaN entries; differentiable."""
    return M.sqrt(nanvar(x, axis=axis, keepdims=keepdims))


def _nan_extreme(x, axis, keepdims, reduce, fill):
    x = _t(x)
    axis = _axis(axis)
    filled, nan = _nan_filled(x, fill)
    out = reduce(filled, axis=axis, keepdims=keepdims)
    if nan is None or not nan.any():
        return out
    all_nan = np.all(nan, axis=axis, keepdims=keepdims)
    return A.where(_const(all_nan), _const(np.asarray(np.nan, x._value.dtype)), out) if all_nan.any() else out


def nanmax(x, axis=None, keepdims=False):
    """Max ignoring NaN (NaN where a slice is all NaN); differentiable."""
    return _nan_extreme(x, axis, keepdims, R.reduce_max, -np.inf)


def nanmin(x, axis=None, keepdims=False):
    """Min ignoring NaN (NaN where a slice is all NaN); differentiable."""
    return _nan_extreme(x, axis, keepdims, R.reduce_min, np.inf)


def _nan_arg(x, axis, keepdims, fn, fill):
    v = _t(x)._value
    if v.dtype.kind != "f":
        return _const(fn(v, axis=axis, keepdims=keepdims).astype(np.int32))
    nan = np.isnan(v)
    idx = fn(np.where(nan, fill, v), axis=axis, keepdims=keepdims)
    return _const(np.where(np.all(nan, axis=axis, keepdims=keepdims), -1, idx).astype(np.int32))


def nanargmax(x, axis=None, keepdims=False):
    """Index of the largest non-NaN entry (int32), -1 for an all-NaN slice."""
    return _nan_arg(x, axis, keepdims, np.argmax, -np.inf)


def nanargmin(x, axis=None, keepdims=False):
    """Index of the smallest non-NaN entry (int32), -1 for an all-NaN slice."""
    return _nan_arg(x, axis, keepdims, np.argmin, np.inf)


def nancumsum(x, axis=None, dtype=None):
    """Cumulative sum treating NaN as 0 (flattened when ``axis`` is None); differentiable."""
    x = _t(x, dtype)
    if x._value.dtype == np.bool_:
        x = A.cast(x, "int32")
    x, _ = _nan_filled(x, 0)
    if axis is None:
        x, axis = A.reshape(x, (-1,)), 0
    return A.cumsum(x, axis=axis)


def nancumprod(x, axis=None, dtype=None):
    """Cumulative product treating NaN as 1 (not differentiable)."""
    x = _t(x, dtype)
    v = x._value.astype(np.int32) if x._value.dtype == np.bool_ else x._value
    return _const(np.nancumprod(v, axis=axis, dtype=v.dtype))


def ptp(x, axis=None, keepdims=False):
    """max - min along ``axis``; differentiable."""
    x = _t(x)
    axis = _axis(axis)
    return M.subtract(R.reduce_max(x, axis=axis, keepdims=keepdims), R.reduce_min(x, axis=axis, keepdims=keepdims))


# -- order statistics ---------------------------------------------------------------------------
_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(x, q, axis, method, keepdims, skip_nan):
    """Quantiles along ``axis``, differentiable: sort (a gather) and interpolate between two order statistics."""
    if method not in _METHODS:
        raise ValueError(f"quantile: method must be one of {_METHODS}, got {method!r}")
    x = _t(x)
    if x._value.dtype.kind != "f":
        x = A.cast(x, B.floatx())
    qv = np.asarray(getattr(q, "_value", q), np.float64)
    if qv.ndim > 1 or np.any((qv < 0) | (qv > 1)):
        raise ValueError(f"quantile: q must be a scalar or 1-D with values in [0, 1], got {qv.tolist()}")
    nd = x._value.ndim
    axes = tuple(range(nd)) if axis is None else tuple(a % nd for a in np.atleast_1d(axis))
    keep = [a for a in range(nd) if a not in axes]
    xt = A.transpose(x, keep + list(axes)) if nd else x
    batch = tuple(x._value.shape[a] for a in keep)
    xt = A.reshape(xt, batch + (-1,))
    s = sort(xt, axis=-1)  # NaNs sort last
    n_all = s._value.shape[-1]
    n = np.sum(~np.isnan(xt._value), axis=-1, keepdims=True) if skip_nan else np.full(batch + (1,), n_all)
    pos = qv.reshape(-1) * (np.maximum(n, 1) - 1)  # batch + (Q,)
    lo, hi = np.floor(pos), np.ceil(pos)
    if method == "nearest":
        lo = hi = np.around(pos)
    elif method == "lower":
        hi = lo
    elif method == "higher":
        lo = hi
    s_lo = take_along_axis(s, lo.astype(np.int64), axis=-1)
    s_hi = take_along_axis(s, hi.astype(np.int64), axis=-1)
    if method == "linear":
        t = _const((pos - lo).astype(s._value.dtype))
        out = M.add(s_lo, M.multiply(M.subtract(s_hi, s_lo), t))
    elif method == "midpoint":
        out = M.multiply(M.add(s_lo, s_hi), 0.5)
    else:
        out = s_lo
    bad = (n == 0) if skip_nan else np.isnan(s._value[..., -1:])  # an all-NaN slice / any NaN gives NaN
    if bad.any():
        out = A.where(_const(np.broadcast_to(bad, out._value.shape)), _const(np.asarray(np.nan, s._value.dtype)), out)
    out = A.transpose(out, [len(batch)] + list(range(len(batch)))) if out._value.ndim > 1 else A.reshape(out, (-1,))
    if keepdims:
        shape = [1 if a in axes else x._value.shape[a] for a in range(nd)]
        out = A.reshape(out, (out._value.shape[0],) + tuple(shape))
    return A.reshape(out, out._value.shape[1:]) if qv.ndim == 0 else out


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th quantile(s) along ``axis`` (q in [0, 1]; q's axis first); differentiable.

    >>> from tapeflow.keras import ops
    >>> ops.quantile([1.0, 2.0, 3.0, 4.0], [0.0, 0.5, 1.0]).numpy().tolist()
    [1.0, 2.5, 4.0]
    """
    return _quantile(x, q, axis, method, keepdims, False)


def percentile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th percentile(s) along ``axis`` (q in [0, 100]); differentiable."""
    return _quantile(x, np.asarray(getattr(q, "_value", q), np.float64) / 100.0, axis, method, keepdims, False)


def median(x, axis=None, keepdims=False):
    """Median along ``axis`` (mean of the two middle values for an even count); differentiable."""
    return _quantile(x, 0.5, axis, "linear", keepdims, False)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """``quantile`` ignoring NaNs (NaN for an all-NaN slice); differentiable."""
    return _quantile(x, q, axis, method, keepdims, True)


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """``percentile`` ignoring NaNs; differentiable."""
    return _quantile(x, np.asarray(getattr(q, "_value", q), np.float64) / 100.0, axis, method, keepdims, True)


def nanmedian(x, axis=None, keepdims=False):
    """Median ignoring NaNs; differentiable."""
    return _quantile(x, 0.5, axis, "linear", keepdims, True)


def einsum(subscripts, *operands, **kwargs):
    """Einstein summation (``tf.einsum`` under Keras's parameter names).

    >>> einsum("ij,j->i", np.eye(2, dtype="float32"), np.array([1.0, 2.0], "float32")).numpy().tolist()
    [1.0, 2.0]
    """
    return _tf_einsum(subscripts, *operands, **kwargs)
