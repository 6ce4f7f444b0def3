"""The gamma family as primitives: ``lgamma`` (VJP digamma), ``digamma`` and ``polygamma(n, x)`` (VJP the next
order), for ``tf.math``'s special functions.

``polygamma`` shifts x up by the recurrence psi_n(x) = psi_n(x + 1) - (-1)^n n! / x^(n+1) (for n = 0:
psi(x) = psi(x + 1) - 1/x) until x >= 10, then sums the asymptotic (Bernoulli) series; about 1e-13 relative
error, for any x but the poles 0, -1, -2, ...

>>> import numpy as np
>>> from tapeflow.ops import special_ops as S
>>> round(float(S.digamma(np.float64(1.0))), 10)       # minus the Euler-Mascheroni constant
-0.5772156649
"""
from __future__ import annotations

import math

import numpy as np

from ..autodiff.tensor import Tensor, convert_to_tensor
from . import array_ops as A
from . import math_ops as M
from .registry import bind, defvjp, primitive

_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6)   # B2 .. B14


def _polygamma_np(n: int, x: np.ndarray) -> np.ndarray:
    y = np.asarray(x, np.float64).copy()
    out = np.zeros_like(y)
    sign = -1.0 if n % 2 == 0 else 1.0                          # (-1)^(n+1)
    fact = math.factorial(n)
    while True:
        small = y < 10
        if not small.any():
            break
        term = -1.0 / y if n == 0 else sign * fact / y ** (n + 1)
        out += np.where(small, term, 0.0)
        y = np.where(small, y + 1, y)
    if n == 0:
        series = np.log(y) - 0.5 / y
        for k, b in enumerate(_BERNOULLI, start=1):
            series -= b / (2 * k * y ** (2 * k))
    else:
        series = math.factorial(n - 1) / y ** n + fact / (2 * y ** (n + 1))
        for k, b in enumerate(_BERNOULLI, start=1):
            series += b * math.factorial(2 * k + n - 1) / (math.factorial(2 * k) * y ** (2 * k + n))
        series *= sign
    return out + series


_lgamma_vec = np.vectorize(math.lgamma, otypes=[np.float64])
_lgamma = primitive("lgamma", lambda x: _lgamma_vec(x).astype(x.dtype))
_polygamma = primitive("polygamma", lambda x, n: _polygamma_np(n, x).astype(x.dtype))
defvjp(_lgamma, lambda g, ans, x: M.multiply(g, bind(_polygamma, x, n=0)))
defvjp(_polygamma, lambda g, ans, x, n: M.multiply(g, bind(_polygamma, x, n=n + 1)))


def _f(x) -> Tensor:
    t = convert_to_tensor(x)
    return t if t._value.dtype.kind == "f" else A.cast(t, "float32")


def lgamma(x) -> Tensor:
    """log |Gamma(x)|; VJP digamma(x)."""
    return bind(_lgamma, _f(x))


def digamma(x) -> Tensor:
    """d/dx lgamma(x); VJP polygamma(1, x)."""
    return bind(_polygamma, _f(x), n=0)


def polygamma(n: int, x) -> Tensor:
    """The n-th derivative of digamma (n >= 0); VJP polygamma(n + 1, x)."""
    if int(n) < 0:
        raise ValueError(f"polygamma: the order must be >= 0, got {n}")
    return bind(_polygamma, _f(x), n=int(n))
