"""Elementwise arithmetic and math: forward (NumPy) and VJP (tapeflow ops) side by side.

VJP signature: ``vjp(g, ans, *inputs, **attrs)``. Broadcasting is undone by the tape, so a
VJP may return a gradient of the broadcast shape.
"""
from __future__ import annotations

import math

import numpy as np

from ..autodiff.tensor import Tensor, convert_to_tensor
from .registry import bind, binary_args, const, defvjp, primitive

# -- binary arithmetic ----------------------------------------------------------------------
_add = primitive("add", np.add)
defvjp(_add, lambda g, ans, x, y: g, lambda g, ans, x, y: g)

_sub = primitive("subtract", np.subtract)
defvjp(_sub, lambda g, ans, x, y: g, lambda g, ans, x, y: negative(g))

_mul = primitive("multiply", np.multiply)
defvjp(_mul, lambda g, ans, x, y: multiply(g, y), lambda g, ans, x, y: multiply(g, x))

_div = primitive("divide", np.true_divide)
defvjp(_div, lambda g, ans, x, y: divide(g, y),
       lambda g, ans, x, y: negative(multiply(g, divide(ans, y))))


def _pow_fwd(x, y):
    return np.power(x, y)


_pow = primitive("pow", _pow_fwd)
defvjp(_pow,
       lambda g, ans, x, y: multiply(g, multiply(y, pow(x, subtract(y, 1)))),
       lambda g, ans, x, y: multiply(g, multiply(ans, log(_positive_or_one(x)))))


def _max_fwd(x, y):
    return np.maximum(x, y)


_maximum = primitive("maximum", _max_fwd)
defvjp(_maximum,
       lambda g, ans, x, y: multiply(g, const(x._value >= y._value, g)),
       lambda g, ans, x, y: multiply(g, const(x._value < y._value, g)))

_minimum = primitive("minimum", np.minimum)
defvjp(_minimum,
       lambda g, ans, x, y: multiply(g, const(x._value <= y._value, g)),
       lambda g, ans, x, y: multiply(g, const(x._value > y._value, g)))


def add(x, y, name=None) -> Tensor:
    """Elementwise x + y with broadcasting.

    >>> import tapeflow as tf
    >>> tf.add([1.0, 2.0], 1.0).numpy().tolist()
    [2.0, 3.0]
    """
    x, y = binary_args(x, y, "add")
    if x._value.dtype.kind in "OSU":
        return Tensor._wrap(np.char.add(x._value.astype(str), y._value.astype(str)))
    return bind(_add, x, y)


def subtract(x, y, name=None) -> Tensor:
    """Elementwise x - y."""
    return bind(_sub, *binary_args(x, y, "subtract"))


def multiply(x, y, name=None) -> Tensor:
    """Elementwise x * y."""
    return bind(_mul, *binary_args(x, y, "multiply"))


def divide(x, y, name=None) -> Tensor:
    """Elementwise true division; integer tensors divide to float64, as TF's truediv."""
    x, y = binary_args(x, y, "divide")
    if x._value.dtype.kind in "iub":
        x = const(x._value.astype(np.float64))
        y = const(y._value.astype(np.float64))
    return bind(_div, x, y)


truediv = divide


def pow(x, y, name=None) -> Tensor:  # noqa: A001 - TF's name
    """Elementwise x ** y."""
    return bind(_pow, *binary_args(x, y, "pow"))


def maximum(x, y, name=None) -> Tensor:
    """Elementwise max; the gradient goes to x where x >= y."""
    return bind(_maximum, *binary_args(x, y, "maximum"))


def minimum(x, y, name=None) -> Tensor:
    """Elementwise min; the gradient goes to x where x <= y."""
    return bind(_minimum, *binary_args(x, y, "minimum"))


def squared_difference(x, y, name=None) -> Tensor:
    return square(subtract(x, y))


def floordiv(x, y, name=None) -> Tensor:
    """Floor division (not differentiable)."""
    x, y = binary_args(x, y, "floordiv")
    return Tensor._wrap(np.floor_divide(x._value, y._value))


floor_div = floordiv


def floormod(x, y, name=None) -> Tensor:
    """Python-style modulo (not differentiable)."""
    x, y = binary_args(x, y, "floormod")
    return Tensor._wrap(np.mod(x._value, y._value))


mod = floormod


def divide_no_nan(x, y, name=None) -> Tensor:
    """x / y, with 0 where y == 0."""
    x, y = binary_args(x, y, "divide_no_nan")
    safe = where_nonzero(y)
    return multiply(divide(x, safe), const(y._value != 0, x))


def _positive_or_one(x: Tensor) -> Tensor:
    """x where x > 0 else 1, differentiable through the x branch (d/dy of x**y is 0 where x <= 0)."""
    from .array_ops import where
    v = x._value
    if np.all(v > 0):
        return x
    return where(const(v > 0), x, const(np.ones_like(v)))


def where_positive(x: Tensor) -> Tensor:
    """x where x > 0 else 1 (so log() of it is safe); a constant mask, no new gradient path."""
    return const(np.where(x._value > 0, x._value, 1), x)


def where_nonzero(x: Tensor) -> Tensor:
    v = x._value
    if np.all(v != 0):
        return x
    from .array_ops import where
    return where(const(v != 0), x, const(np.ones_like(v)))


# -- unary ----------------------------------------------------------------------------------
_neg = primitive("negative", np.negative)
defvjp(_neg, lambda g, ans, x: negative(g))

_exp = primitive("exp", np.exp)
defvjp(_exp, lambda g, ans, x: multiply(g, ans))

_log = primitive("log", np.log)
defvjp(_log, lambda g, ans, x: divide(g, x))

_log1p = primitive("log1p", np.log1p)
defvjp(_log1p, lambda g, ans, x: divide(g, add(x, 1)))

_expm1 = primitive("expm1", np.expm1)
defvjp(_expm1, lambda g, ans, x: multiply(g, add(ans, 1)))

_sqrt = primitive("sqrt", np.sqrt)
defvjp(_sqrt, lambda g, ans, x: divide(g, multiply(ans, 2)))

_rsqrt = primitive("rsqrt", lambda x: 1 / np.sqrt(x))
defvjp(_rsqrt, lambda g, ans, x: multiply(g, multiply(pow(ans, 3), -0.5)))

_square = primitive("square", np.square)
defvjp(_square, lambda g, ans, x: multiply(g, multiply(x, 2)))

_abs = primitive("abs", np.abs)
defvjp(_abs, lambda g, ans, x: multiply(g, const(np.sign(x._value), g)))

_reciprocal = primitive("reciprocal", np.reciprocal)
defvjp(_reciprocal, lambda g, ans, x: negative(multiply(g, square(ans))))

_tanh = primitive("tanh", np.tanh)
defvjp(_tanh, lambda g, ans, x: multiply(g, subtract(1, square(ans))))

_sin = primitive("sin", np.sin)
defvjp(_sin, lambda g, ans, x: multiply(g, cos(x)))

_cos = primitive("cos", np.cos)
defvjp(_cos, lambda g, ans, x: negative(multiply(g, sin(x))))


def _sigmoid_fwd(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


_sigmoid = primitive("sigmoid", _sigmoid_fwd)
defvjp(_sigmoid, lambda g, ans, x: multiply(g, multiply(ans, subtract(1, ans))))


def _softplus_fwd(x):
    return np.logaddexp(np.zeros((), x.dtype), x)


_softplus = primitive("softplus", _softplus_fwd)
defvjp(_softplus, lambda g, ans, x: multiply(g, sigmoid(x)))


def _erf_fwd(x):
    return _erf_array(x)


_erf = primitive("erf", _erf_fwd)
defvjp(_erf, lambda g, ans, x: multiply(g, multiply(exp(negative(square(x))), 2.0 / math.sqrt(math.pi))))


def _erf_array(x: np.ndarray) -> np.ndarray:
    """erf on an array: SciPy's when installed, else a float64 series / continued fraction."""
    try:
        from scipy.special import erf as sp_erf
    except ImportError:  # pragma: no cover - SciPy is optional
        sp_erf = None
    if sp_erf is not None:
        return sp_erf(x).astype(x.dtype, copy=False)
    z = np.abs(x.astype(np.float64))
    out = np.empty_like(z)
    small = z < 2.5
    zs = z[small]
    term, total = zs.copy(), zs.copy()
    for n in range(1, 60):  # Maclaurin series: sum (-1)^n z^(2n+1) / (n! (2n+1))
        term = term * -(zs * zs) / n
        total += term / (2 * n + 1)
    out[small] = total * (2 / math.sqrt(math.pi))
    zl = z[~small]  # erfc(z) = exp(-z^2)/sqrt(pi) / (z + (1/2)/(z + 1/(z + (3/2)/(z + ...)))), Lentz
    f = zl.copy()
    c, d = f.copy(), np.zeros_like(zl)
    for k in range(1, 120):
        d = 1 / (zl + (k / 2.0) * d)
        c = zl + (k / 2.0) / c
        f = f * c * d
    erfc = np.exp(-zl * zl) / (math.sqrt(math.pi) * f)
    out[~small] = 1 - erfc
    return (np.sign(x) * out).astype(x.dtype, copy=False)


def _unary(prim):
    def op(x, name=None):
        return bind(prim, x if isinstance(x, Tensor) else convert_to_tensor(x, dtype_hint="float32"))
    op.__name__ = prim.name
    op.__doc__ = f"Elementwise {prim.name}, differentiable (VJP in ``math_ops``)."
    return op


negative = _unary(_neg)
exp = _unary(_exp)
log = _unary(_log)
log1p = _unary(_log1p)
expm1 = _unary(_expm1)
sqrt = _unary(_sqrt)
rsqrt = _unary(_rsqrt)
square = _unary(_square)
abs = _unary(_abs)  # noqa: A001 - TF's name
reciprocal = _unary(_reciprocal)
tanh = _unary(_tanh)
sin = _unary(_sin)
cos = _unary(_cos)
sigmoid = _unary(_sigmoid)
softplus = _unary(_softplus)
erf = _unary(_erf)
neg = negative


def sign(x, name=None) -> Tensor:
    """Elementwise sign (gradient zero: not recorded)."""
    x = convert_to_tensor(x)
    return Tensor._wrap(np.sign(x._value))


def _nondiff_unary(fn, name):
    def op(x, name=None):
        x = convert_to_tensor(x)
        return Tensor._wrap(fn(x._value))
    op.__name__ = name
    op.__doc__ = f"Elementwise {name} (not differentiable)."
    return op


floor = _nondiff_unary(np.floor, "floor")
ceil = _nondiff_unary(np.ceil, "ceil")
round = _nondiff_unary(np.round, "round")  # noqa: A001 - TF's name (banker's rounding, as TF)
is_nan = _nondiff_unary(np.isnan, "is_nan")
is_inf = _nondiff_unary(np.isinf, "is_inf")
is_finite = _nondiff_unary(np.isfinite, "is_finite")
logical_not = _nondiff_unary(np.logical_not, "logical_not")


def _compare(fn, name):
    def op(x, y, name=None):
        x, y = binary_args(x, y, name)
        return Tensor._wrap(fn(x._value, y._value))
    op.__name__ = name
    op.__doc__ = f"Elementwise {name}, returns a bool tensor."
    return op


equal = _compare(np.equal, "equal")
not_equal = _compare(np.not_equal, "not_equal")
less = _compare(np.less, "less")
less_equal = _compare(np.less_equal, "less_equal")
greater = _compare(np.greater, "greater")
greater_equal = _compare(np.greater_equal, "greater_equal")
logical_and = _compare(np.logical_and, "logical_and")
logical_or = _compare(np.logical_or, "logical_or")
logical_xor = _compare(np.logical_xor, "logical_xor")


# -- matmul ---------------------------------------------------------------------------------
def _mT(x: Tensor) -> Tensor:
    from .array_ops import transpose
    n = x._value.ndim
    return transpose(x, perm=tuple(range(n - 2)) + (n - 1, n - 2))


def _matmul_fwd(a, b):
    out = np.matmul(a, b)
    # ml_dtypes' bfloat16 matmul returns float32: keep the operands' dtype, as TF does
    return out if out.dtype == a.dtype else out.astype(a.dtype)


_matmul = primitive("matmul", _matmul_fwd)
defvjp(_matmul, lambda g, ans, a, b: matmul(g, _mT(b)), lambda g, ans, a, b: matmul(_mT(a), g))


def matmul(a, b, transpose_a=False, transpose_b=False, name=None) -> Tensor:
    """Matrix product of rank >= 2 tensors, batch dims broadcast, as ``tf.matmul``.

    >>> import tapeflow as tf
    >>> tf.matmul([[1.0, 2.0]], [[3.0], [4.0]]).numpy().tolist()
    [[11.0]]
    """
    a, b = binary_args(a, b, "matmul")
    if a._value.ndim < 2 or b._value.ndim < 2:
        raise ValueError(
            f"matmul: both operands need rank >= 2, got shapes {a._value.shape} and {b._value.shape}; "
            "use tf.expand_dims or tf.tensordot for vectors")
    if transpose_a:
        a = _mT(a)
    if transpose_b:
        b = _mT(b)
    if a._value.shape[-1] != b._value.shape[-2]:
        raise ValueError(
            f"matmul: inner dimensions differ: a has shape {a._value.shape}, b has shape {b._value.shape} "
            f"({a._value.shape[-1]} != {b._value.shape[-2]})")
    return bind(_matmul, a, b)


def tensordot(a, b, axes, name=None) -> Tensor:
    """Contract ``a`` and ``b`` over ``axes`` (an int or a pair of axis lists)."""
    from .array_ops import reshape, transpose
    a, b = binary_args(a, b, "tensordot")
    if isinstance(axes, (int, np.integer)):
        ax_a = list(range(a.ndim - axes, a.ndim))
        ax_b = list(range(axes))
    else:
        ax_a, ax_b = [list(np.atleast_1d(v)) for v in axes]
    ax_a = [x % a.ndim for x in ax_a]
    ax_b = [x % b.ndim for x in ax_b]
    free_a = [i for i in range(a.ndim) if i not in ax_a]
    free_b = [i for i in range(b.ndim) if i not in ax_b]
    sa, sb = a._value.shape, b._value.shape
    k = int(np.prod([sa[i] for i in ax_a], dtype=np.int64))
    at = reshape(transpose(a, perm=free_a + ax_a), (-1, k))
    bt = reshape(transpose(b, perm=ax_b + free_b), (k, -1))
    out = matmul(at, bt)
    return reshape(out, tuple(sa[i] for i in free_a) + tuple(sb[i] for i in free_b))


def cast_like(x: Tensor, like: Tensor) -> Tensor:
    from .array_ops import cast
    return cast(x, like.dtype)


def add_n(inputs, name=None) -> Tensor:
    """Sum of a list of same-shape tensors."""
    inputs = list(inputs)
    if not inputs:
        raise ValueError("add_n: needs at least one tensor")
    out = convert_to_tensor(inputs[0])
    for t in inputs[1:]:
        out = add(out, t)
    return out
