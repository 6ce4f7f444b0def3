"""More elementwise math primitives (trig/hyperbolic inverses, erfc/erfinv, Bessel i0/i1, sinc, hypot, fmod).

Forward (NumPy, SciPy's special functions when installed) and VJP (tapeflow ops) side by side, as in
``math_ops``. Each VJP is written in differentiable ops, so second derivatives work too.
"""
from __future__ import annotations

import math

import numpy as np

from ..autodiff.tensor import Tensor, convert_to_tensor
from .array_ops import where
from .math_ops import _erf_array, add, cos, divide, exp, multiply, negative, rsqrt, square, subtract
from .registry import bind, binary_args, const, defvjp, primitive


def _special(name):
    try:
        import scipy.special as sp
    except ImportError:  # pragma: no cover - SciPy is optional
        return None
    return getattr(sp, name)


def _same(fn):
    """``fn`` whose result keeps the input's dtype (NumPy may upcast a float16/float32 result)."""
    return lambda x: np.asarray(fn(x)).astype(x.dtype, copy=False)


# -- trigonometric and hyperbolic ----------------------------------------------------------------
_tan = primitive("tan", np.tan)
defvjp(_tan, lambda g, ans, x: multiply(g, add(square(ans), 1)))

_arcsin = primitive("arcsin", np.arcsin)
defvjp(_arcsin, lambda g, ans, x: multiply(g, rsqrt(subtract(1, square(x)))))

_arccos = primitive("arccos", np.arccos)
defvjp(_arccos, lambda g, ans, x: negative(multiply(g, rsqrt(subtract(1, square(x))))))

_arctan = primitive("arctan", np.arctan)
defvjp(_arctan, lambda g, ans, x: divide(g, add(square(x), 1)))

_sinh = primitive("sinh", np.sinh)
defvjp(_sinh, lambda g, ans, x: multiply(g, cosh(x)))

_cosh = primitive("cosh", np.cosh)
defvjp(_cosh, lambda g, ans, x: multiply(g, sinh(x)))

_arcsinh = primitive("arcsinh", np.arcsinh)
defvjp(_arcsinh, lambda g, ans, x: multiply(g, rsqrt(add(square(x), 1))))

_arccosh = primitive("arccosh", np.arccosh)
defvjp(_arccosh, lambda g, ans, x: multiply(g, rsqrt(subtract(square(x), 1))))

_arctanh = primitive("arctanh", np.arctanh)
defvjp(_arctanh, lambda g, ans, x: divide(g, subtract(1, square(x))))


def _atan2_den(x, y):
    """x**2 + y**2, with 1 where both are 0 (the gradient there is taken as 0, as PyTorch does)."""
    d = add(square(x), square(y))
    zero = d._value == 0
    return where(const(zero), const(np.ones_like(d._value)), d) if zero.any() else d


_arctan2 = primitive("arctan2", np.arctan2)
defvjp(_arctan2, lambda g, ans, y, x: multiply(g, divide(x, _atan2_den(x, y))),
       lambda g, ans, y, x: negative(multiply(g, divide(y, _atan2_den(x, y)))))


# -- roots, error functions, Bessel ----------------------------------------------------------------
_cbrt = primitive("cbrt", np.cbrt)
defvjp(_cbrt, lambda g, ans, x: divide(g, multiply(square(ans), 3)))  # inf at 0, as d/dx x^(1/3)


def _erfc_fwd(x):
    f = _special("erfc")
    return (f(x) if f is not None else 1 - _erf_array(x)).astype(x.dtype, copy=False)


_erfc = primitive("erfc", _erfc_fwd)
defvjp(_erfc, lambda g, ans, x: multiply(g, multiply(exp(negative(square(x))), -2.0 / math.sqrt(math.pi))))


def _erfinv_fwd(x):
    f = _special("erfinv")
    if f is not None:
        return f(x).astype(x.dtype, copy=False)
    z = x.astype(np.float64)  # pragma: no cover - Newton's method on erf from Giles' start
    w = -np.log((1 - z) * (1 + z))
    y = np.sign(z) * np.sqrt(np.maximum(w, 0)) * 0.9
    for _ in range(40):
        y = y - (_erf_array(y) - z) / (2 / math.sqrt(math.pi) * np.exp(-y * y))
    return np.where(np.abs(z) == 1, np.sign(z) * np.inf, y).astype(x.dtype)


_erfinv = primitive("erfinv", _erfinv_fwd)
defvjp(_erfinv, lambda g, ans, x: multiply(g, multiply(exp(square(ans)), math.sqrt(math.pi) / 2)))


def _i1_array(x):
    f = _special("i1")
    if f is not None:
        return f(x).astype(x.dtype, copy=False)
    z = x.astype(np.float64)  # pragma: no cover - power series sum (z/2)^(2k+1) / (k! (k+1)!)
    term = z / 2
    total = term.copy()
    for k in range(1, 200):
        term = term * (z / 2) ** 2 / (k * (k + 1))
        total += term
    return total.astype(x.dtype)


_i0 = primitive("i0", _same(np.i0))
defvjp(_i0, lambda g, ans, x: multiply(g, i1(x)))


def _i1_prime(x: Tensor) -> Tensor:
    """i1'(x) = i0(x) - i1(x)/x, which is 1/2 at x = 0."""
    v = x._value
    if np.all(v != 0):
        return subtract(i0(x), divide(i1(x), x))
    safe = where(const(v != 0), x, const(np.ones_like(v)))
    return where(const(v != 0), subtract(i0(x), divide(i1(safe), safe)), const(np.full_like(v, 0.5)))


_i1 = primitive("i1", _i1_array)
defvjp(_i1, lambda g, ans, x: multiply(g, _i1_prime(x)))


def _sinc_fwd(x):
    return np.sinc(x).astype(x.dtype, copy=False)


def _sinc_vjp(g, ans, x):
    """d/dx sin(pi x)/(pi x) = (cos(pi x) - sinc(x)) / x, and 0 at x = 0."""
    v = x._value
    nz = v != 0
    safe = x if nz.all() else where(const(nz), x, const(np.ones_like(v)))
    d = divide(subtract(cos(multiply(safe, math.pi)), sinc(safe)), safe)
    return multiply(g, d if nz.all() else where(const(nz), d, const(np.zeros_like(v))))


_sinc = primitive("sinc", _sinc_fwd)
defvjp(_sinc, _sinc_vjp)


_log2 = primitive("log2", np.log2)
defvjp(_log2, lambda g, ans, x: divide(g, multiply(x, math.log(2.0))))

_log10 = primitive("log10", np.log10)
defvjp(_log10, lambda g, ans, x: divide(g, multiply(x, math.log(10.0))))


# -- binary: hypot, fmod ------------------------------------------------------------------------
def _hypot_part(g, ans, a):
    """g * a / hypot, 0 where hypot is 0 (the subgradient PyTorch uses)."""
    zero = ans._value == 0
    if not zero.any():
        return multiply(g, divide(a, ans))
    safe = where(const(zero), const(np.ones_like(ans._value)), ans)
    return multiply(g, where(const(zero), const(np.zeros_like(ans._value)), divide(a, safe)))


_hypot = primitive("hypot", np.hypot)
defvjp(_hypot, lambda g, ans, x, y: _hypot_part(g, ans, x), lambda g, ans, x, y: _hypot_part(g, ans, y))

_fmod = primitive("fmod", np.fmod)
defvjp(_fmod, lambda g, ans, x, y: g,
       lambda g, ans, x, y: negative(multiply(g, const(np.trunc(x._value / y._value), g))))


# -- public functions ------------------------------------------------------------------------------
def _unary(prim, doc):
    def op(x, name=None):
        return bind(prim, x if isinstance(x, Tensor) else convert_to_tensor(x, dtype_hint="float32"))
    op.__name__ = op.__qualname__ = prim.name
    op.__doc__ = doc
    return op


tan = _unary(_tan, "Elementwise tangent; VJP g * (1 + tan(x)**2).")
arcsin = _unary(_arcsin, "Elementwise inverse sine; VJP g / sqrt(1 - x**2).")
arccos = _unary(_arccos, "Elementwise inverse cosine; VJP -g / sqrt(1 - x**2).")
arctan = _unary(_arctan, "Elementwise inverse tangent; VJP g / (1 + x**2).")
sinh = _unary(_sinh, "Elementwise hyperbolic sine; VJP g * cosh(x).")
cosh = _unary(_cosh, "Elementwise hyperbolic cosine; VJP g * sinh(x).")
arcsinh = _unary(_arcsinh, "Elementwise inverse hyperbolic sine; VJP g / sqrt(x**2 + 1).")
arccosh = _unary(_arccosh, "Elementwise inverse hyperbolic cosine; VJP g / sqrt(x**2 - 1).")
arctanh = _unary(_arctanh, "Elementwise inverse hyperbolic tangent; VJP g / (1 - x**2).")
cbrt = _unary(_cbrt, "Elementwise real cube root (negative for negative x); VJP g / (3 cbrt(x)**2).")
erfc = _unary(_erfc, "Complementary error function 1 - erf(x), accurate for large x (SciPy when installed).")
erfinv = _unary(_erfinv, "Inverse error function; VJP g * sqrt(pi)/2 * exp(erfinv(x)**2).")
i0 = _unary(_i0, "Modified Bessel function of the first kind, order 0; VJP g * i1(x).")
i1 = _unary(_i1, "Modified Bessel function of the first kind, order 1; VJP g * (i0(x) - i1(x)/x).")
log2 = _unary(_log2, "Elementwise base-2 logarithm; VJP g / (x ln 2).")
log10 = _unary(_log10, "Elementwise base-10 logarithm; VJP g / (x ln 10).")
sinc = _unary(_sinc, "Normalized sinc sin(pi x)/(pi x) (1 at 0); VJP (cos(pi x) - sinc(x))/x, 0 at 0.")


def arctan2(y, x, name=None) -> Tensor:
    """Elementwise angle of (x, y) in (-pi, pi]; gradient 0 at the origin.

    >>> import tapeflow as tf
    >>> from tapeflow.ops import math_extra_ops as E
    >>> [round(v, 4) for v in E.arctan2([1.0], [0.0]).numpy().tolist()]
    [1.5708]
    """
    return bind(_arctan2, *binary_args(y, x, "arctan2"))


def hypot(x, y, name=None) -> Tensor:
    """Elementwise sqrt(x**2 + y**2) without overflow; gradient 0 where both are 0."""
    return bind(_hypot, *binary_args(x, y, "hypot"))


def fmod(x, y, name=None) -> Tensor:
    """C-style remainder (sign of x); VJPs g and -g * trunc(x / y)."""
    return bind(_fmod, *binary_args(x, y, "fmod"))


__all__ = ["tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
           "cbrt", "erfc", "erfinv", "i0", "i1", "log2", "log10", "sinc", "hypot", "fmod"]
