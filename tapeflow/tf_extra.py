"""TensorFlow 2's remaining top-level names: the trigonometric aliases of ``tf.math``, the other dtypes, complex
numbers (``tf.complex`` and ``tf.math.real`` / ``imag`` / ``conj`` / ``angle``), ``eig`` / ``eigvals``,
``matrix_square_root``, ``edit_distance``, ``grad_pass_through``, ``timestamp``, ``get_logger``, ``hessians``,
the ``VariableAggregation`` / ``VariableSynchronization`` enums and TensorFlow's own initializer classes
(``tf.constant_initializer`` ...), plus re-exports of the array ops in ``ops/tf_extra_ops.py`` and
``ops/tf_slice_ops.py``.

Complex tensors are held (complex64 / complex128 NumPy arrays) but tapeflow does not differentiate through them:
``complex``, ``eig``, ``eigvals`` and ``real`` / ``imag`` / ``conj`` / ``angle`` of a complex input return
constants. For a real input ``real`` and ``conj`` return the input itself (so gradients flow, as in TensorFlow)
and ``imag`` / ``angle`` constants (TensorFlow's gradient there is None as well).

>>> import tapeflow as tf
>>> z = tf.complex(tf.constant([1.0, -2.0]), tf.constant([0.5, 0.0]))
>>> z.dtype.name, tf.math.real(z).numpy().tolist(), tf.math.imag(z).numpy().tolist()
('complex64', [1.0, -2.0], [0.5, 0.0])
"""
from __future__ import annotations

import builtins
import enum
import functools
import logging
import time

import numpy as np

from . import backend as B
from .autodiff.custom import custom_gradient
from .autodiff.tensor import Tensor, convert_to_tensor
from .errors import InvalidArgumentError
from .math_more import acos, acosh, asin, asinh, atan, atan2, atanh, cosh, sinh, tan  # noqa: F401
from .ops import array_ops as A
from .ops.linalg_ops import matrix_solve
from .ops.tf_extra_ops import (Unique, UniqueWithCounts, batch_to_space, bitcast,  # noqa: F401
                               broadcast_dynamic_shape, broadcast_static_shape, histogram_fixed_width,
                               histogram_fixed_width_bins, meshgrid, parallel_stack,
                               required_space_to_batch_paddings, searchsorted, space_to_batch, space_to_batch_nd,
                               tensor_scatter_nd_max, tensor_scatter_nd_min, unique,
                               unique_with_counts, unravel_index)
from .ops.tf_extra_ops import tuple  # noqa: F401,A004 - TensorFlow's names
from .ops.tf_slice_ops import slice, strided_slice  # noqa: F401,A004

_py_tuple = builtins.tuple   # ``tuple`` here is tf.tuple

# -- dtypes (NumPy dtype objects, as tapeflow.float32) ---------------------------------------------------------
complex64, complex128 = np.dtype("complex64"), np.dtype("complex128")
double, half = np.dtype("float64"), np.dtype("float16")
uint16, uint32, uint64 = np.dtype("uint16"), np.dtype("uint32"), np.dtype("uint64")


def __getattr__(name):
    """``bfloat16`` exists when the optional ``ml_dtypes`` package is installed (as in the backend)."""
    if name == "bfloat16":
        try:
            return B.as_dtype("bfloat16")
        except TypeError as e:
            raise AttributeError(f"tf.bfloat16 needs the optional package ml_dtypes ({e})") from None
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- complex numbers -------------------------------------------------------------------------------------------
_COMPLEX_OF = {np.dtype("float32"): complex64, np.dtype("float64"): complex128}


def complex(real, imag, name=None) -> Tensor:  # noqa: A001 - tf.complex
    """``real + 1j * imag`` (float32 -> complex64, float64 -> complex128; shapes broadcast). A constant: tapeflow
    does not differentiate complex tensors.

    >>> import tapeflow as tf
    >>> tf.complex([2.25, 3.25], [4.75, 5.75]).numpy().tolist()
    [(2.25+4.75j), (3.25+5.75j)]
    """
    r = convert_to_tensor(real)
    i = convert_to_tensor(imag)
    if r.dtype != i.dtype or r.dtype not in _COMPLEX_OF:
        raise TypeError(f"complex: real and imag must both be float32 or both float64, got {r.dtype.name} and "
                        f"{i.dtype.name}; cast them with tf.cast first")
    rv, iv = np.broadcast_arrays(r._value, i._value)
    out = np.empty(rv.shape, _COMPLEX_OF[r.dtype])
    out.real, out.imag = rv, iv
    return Tensor._wrap(out)


def _is_complex(t: Tensor) -> bool:
    return t._value.dtype.kind == "c"


def real(input, name=None) -> Tensor:  # noqa: A002
    """The real part (float32 for complex64, float64 for complex128); a real ``input`` is returned itself.

    >>> import tapeflow as tf
    >>> tf.math.real(tf.constant([-2.25 + 4.75j, 3.25 + 5.75j])).numpy().tolist()
    [-2.25, 3.25]
    """
    t = convert_to_tensor(input)
    return Tensor._wrap(t._value.real.copy()) if _is_complex(t) else t


def imag(input, name=None) -> Tensor:  # noqa: A002
    """The imaginary part; zeros of ``input``'s dtype for a real ``input`` (no gradient, as in TensorFlow).

    >>> import tapeflow as tf
    >>> tf.math.imag(tf.constant([-2.25 + 4.75j, 3.25 + 5.75j])).numpy().tolist()
    [4.75, 5.75]
    """
    t = convert_to_tensor(input)
    return Tensor._wrap(t._value.imag.copy()) if _is_complex(t) else A.zeros_like(t)


def conj(x, name=None) -> Tensor:
    """The complex conjugate; a real (float or integer) ``x`` is returned itself.

    >>> import tapeflow as tf
    >>> tf.math.conj(tf.constant([-2.25 + 4.75j])).numpy().tolist()
    [(-2.25-4.75j)]
    """
    t = convert_to_tensor(x)
    if _is_complex(t):
        return Tensor._wrap(np.conj(t._value))
    if t._value.dtype.kind not in "fiu":
        raise TypeError(f"conj: expected a numeric tensor, got dtype {t.dtype.name}")
    return t


def angle(input, name=None) -> Tensor:  # noqa: A002
    """The argument ``atan2(imag, real)``; for a real float ``input``, pi where it is negative and 0 elsewhere.

    >>> import tapeflow as tf
    >>> [round(v, 4) for v in tf.math.angle(tf.constant([-1.0, 0.0, 2.0])).numpy().tolist()]
    [3.1416, 0.0, 0.0]
    """
    t = convert_to_tensor(input)
    v = t._value
    if _is_complex(t):
        return Tensor._wrap(np.angle(v))
    if v.dtype.kind != "f":
        raise TypeError(f"angle: expected a float or complex tensor, got dtype {t.dtype.name}; cast it with "
                        f"tf.cast(x, tf.float32) first")
    return Tensor._wrap(np.where(v < 0, v.dtype.type(np.pi), v.dtype.type(0)))


# -- linear algebra ----------------------------------------------------------------------------------------------
def _square(t: Tensor, what: str) -> np.ndarray:
    v = t._value
    if v.ndim < 2 or v.shape[-1] != v.shape[-2]:
        raise InvalidArgumentError(message=f"{what}: input must be a (batch of) square matrices (..., n, n), "
                                           f"got shape {v.shape}")
    if v.dtype.kind not in "fc":
        raise TypeError(f"{what}: input must be float or complex, got dtype {t.dtype.name}")
    return v


def eig(tensor, name=None) -> tuple:
    """``(e, v)``: the eigenvalues and unit eigenvectors (columns) of general square matrices, complex64 for
    float32/complex64 input and complex128 for float64/complex128, in LAPACK's order; not differentiable.

    >>> import tapeflow as tf
    >>> e, v = tf.eig(tf.constant([[2.0, 0.0], [0.0, 3.0]]))
    >>> e.dtype.name, e.numpy().tolist()
    ('complex64', [(2+0j), (3+0j)])
    """
    v = _square(convert_to_tensor(tensor), "eig")
    ctype = complex64 if v.dtype in (np.float32, np.complex64) else complex128
    w, vec = np.linalg.eig(v)
    return Tensor._wrap(w.astype(ctype)), Tensor._wrap(vec.astype(ctype))


def eigvals(tensor, name=None) -> Tensor:
    """The eigenvalues of general square matrices (complex; see ``eig``).

    >>> import tapeflow as tf
    >>> tf.eigvals(tf.constant([[0.0, -1.0], [1.0, 0.0]])).numpy().tolist()
    [1j, -1j]
    """
    v = _square(convert_to_tensor(tensor), "eigvals")
    ctype = complex64 if v.dtype in (np.float32, np.complex64) else complex128
    return Tensor._wrap(np.linalg.eigvals(v).astype(ctype))


def _sqrtm_one(a: np.ndarray) -> np.ndarray:
    """The principal square root of one matrix, in float64/complex128."""
    w, vec = np.linalg.eig(a)
    if a.dtype.kind == "f" and np.any((w.imag == 0) & (w.real < 0)):
        return np.full(a.shape, np.nan)                         # no real square root: NaN, as TensorFlow
    if np.linalg.cond(vec) < 1e8:                               # diagonalizable: V sqrt(W) V^-1
        r = (vec * np.sqrt(w.astype(np.complex128))) @ np.linalg.inv(vec)
        return r.real if a.dtype.kind == "f" else r
    y, z = a.astype(np.result_type(a.dtype, np.float64)), np.eye(a.shape[0])  # defective: Denman-Beavers
    for _ in range(100):
        y, z = 0.5 * (y + np.linalg.inv(z)), 0.5 * (z + np.linalg.inv(y))
        if np.allclose(y @ y, a, rtol=1e-13, atol=1e-13 * max(1.0, np.abs(a).max())):
            break
    return y


def matrix_square_root(input, name=None) -> Tensor:  # noqa: A002
    """The principal square root ``S`` (``S @ S = input``) of square matrices (batched); a real matrix with a
    negative real eigenvalue gives NaN, as TensorFlow. Differentiable for float input: the gradient solves the
    Sylvester equation ``S^T X + X S^T = upstream`` (TensorFlow's Kronecker-product formulation).

    >>> import tapeflow as tf
    >>> tf.linalg.sqrtm(tf.constant([[4.0, 1.0], [0.0, 9.0]])).numpy().tolist()
    [[2.0, 0.20000000298023224], [0.0, 3.0]]
    """
    t = convert_to_tensor(input)
    v = _square(t, "matrix_square_root")
    n, batch = v.shape[-1], v.shape[:-2]
    flat = v.reshape((-1, n, n)).astype(np.result_type(v.dtype, np.float64))
    out = np.stack([_sqrtm_one(m) for m in flat]) if flat.shape[0] else flat
    s = Tensor._wrap(out.reshape(v.shape).astype(v.dtype))
    if v.dtype.kind == "c":
        return s

    @custom_gradient
    def matrix_square_root(x):
        def grad(g):
            sv = s._value.astype(np.float64).reshape((-1, n, n))
            eye = np.eye(n)
            k = np.stack([np.kron(m.T, eye) + np.kron(eye, m) for m in sv]).reshape(batch + (n * n, n * n))
            y = matrix_solve(Tensor._wrap(k.astype(g.dtype)), A.reshape(g, batch + (n * n, 1)))
            return A.reshape(y, v.shape)
        return s, grad

    return matrix_square_root(t)


sqrtm = matrix_square_root


# -- edit distance ---------------------------------------------------------------------------------------------
def _levenshtein(a: np.ndarray, b: np.ndarray) -> int:
    """The edit distance of two sequences, one DP row at a time (the insertion chain as a running minimum)."""
    if a.size == 0 or b.size == 0:
        return int(max(a.size, b.size))
    cols = np.arange(b.size + 1)
    prev = cols.copy()
    for i, x in enumerate(a, 1):
        cost = (b != x).astype(np.int64)
        cur = np.empty_like(prev)
        cur[0] = i
        cur[1:] = np.minimum(prev[1:] + 1, prev[:-1] + cost)
        prev = np.minimum.accumulate(cur - cols) + cols
    return int(prev[-1])


def _groups(sp, what: str) -> dict:
    idx, vals = sp.indices._value, sp.values._value
    order = np.lexsort(idx.T[::-1]) if idx.size else np.zeros(0, np.int64)   # row-major order, as TF's groups
    idx, vals = idx[order], vals[order]
    shape = sp.dense_shape._value
    if idx.size and (np.any(idx < 0) or np.any(idx >= shape)):
        raise InvalidArgumentError(message=f"edit_distance: {what} has indices outside its dense_shape "
                                           f"{shape.tolist()}")
    out = {}
    if idx.shape[0]:
        keys = [_py_tuple(int(k) for k in row) for row in idx[:, :-1]]
        starts = [0] + [j for j in range(1, len(keys)) if keys[j] != keys[j - 1]] + [len(keys)]
        for lo, hi in zip(starts[:-1], starts[1:]):
            out[keys[lo]] = vals[lo:hi]
    return out


def edit_distance(hypothesis, truth, normalize=True, name="edit_distance") -> Tensor:
    """Levenshtein distances between the sequences of two ``tf.SparseTensor``s (rank R; each sequence is the
    values of one index prefix along the last axis), float32 of rank R - 1; with ``normalize`` divided by the
    truth's length (an empty truth gives inf, or 0 for an empty hypothesis too; an empty hypothesis gives 1).

    >>> import tapeflow as tf
    >>> h = tf.SparseTensor([[0, 0, 0], [1, 0, 0]], ["a", "b"], (2, 1, 1))
    >>> t = tf.SparseTensor([[0, 1, 0], [1, 0, 0], [1, 0, 1], [1, 1, 0]], ["a", "b", "c", "a"], (2, 2, 2))
    >>> tf.edit_distance(h, t).numpy().tolist()
    [[inf, 1.0], [0.5, 1.0]]
    """
    from .sparse import SparseTensor
    if not isinstance(hypothesis, SparseTensor):
        raise TypeError(f"edit_distance: Hypothesis must be a SparseTensor, got {type(hypothesis).__name__}; "
                        f"convert a dense tensor with tf.sparse.from_dense")
    if not isinstance(truth, SparseTensor):
        raise TypeError(f"edit_distance: Truth must be a SparseTensor, got {type(truth).__name__}; convert a "
                        f"dense tensor with tf.sparse.from_dense")
    hs, ts = hypothesis.dense_shape._value, truth.dense_shape._value
    if hs.size != ts.size or hs.size < 2:
        raise InvalidArgumentError(message=f"edit_distance: hypothesis and truth must have one rank >= 2, got "
                                           f"dense shapes {hs.tolist()} and {ts.tolist()}")
    hv, tv = hypothesis.values._value, truth.values._value
    if (hv.dtype.kind == "O") != (tv.dtype.kind == "O") or (hv.dtype.kind != "O" and hv.dtype != tv.dtype):
        raise TypeError(f"edit_distance: hypothesis and truth values must share a dtype, got {hv.dtype} and "
                        f"{tv.dtype}")
    out = np.zeros(np.maximum(hs, ts)[:-1], np.float32)
    hg, tg = _groups(hypothesis, "hypothesis"), _groups(truth, "truth")
    for key in set(hg) | set(tg):
        h, t = hg.get(key), tg.get(key)
        if t is None:                                           # no truth sequence here
            d = float(h.size)
            out[key] = np.inf if normalize and d else d
        elif h is None:
            out[key] = 1.0 if normalize else float(t.size)
        else:
            d = _levenshtein(h, t)
            out[key] = np.float32(d) / np.float32(t.size) if normalize else d
    return Tensor._wrap(out)


# -- gradients and the runtime ---------------------------------------------------------------------------------
def grad_pass_through(f):
    """Wrap ``f`` so its forward values are ``f``'s and its gradient that of the identity: each input receives
    the upstream gradient unchanged; variables read inside ``f`` receive none.

    >>> import tapeflow as tf
    >>> x = tf.constant(1.3)
    >>> with tf.GradientTape() as tape:
    ...     tape.watch(x)
    ...     y = tf.grad_pass_through(tf.round)(x * 2.0)
    >>> float(y), float(tape.gradient(y, x))
    (3.0, 2.0)
    """
    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        def _grad_pass_through_op(*xs):
            def grad(g):
                return g if len(xs) == 1 else [g] * len(xs)
            return f(*xs, **kwargs), grad
        _grad_pass_through_op.__name__ = f"grad_pass_through_{getattr(f, '__name__', 'f')}"
        return custom_gradient(_grad_pass_through_op)(*args)
    return wrapped


def hessians(ys, xs, gate_gradients=False, aggregation_method=None, name="hessians"):
    """Graph-mode only in TensorFlow 2: eagerly it raises RuntimeError, and so does tapeflow (always eager).
    Use nested ``tf.GradientTape``s (or ``tape.jacobian`` of a gradient) instead."""
    raise RuntimeError("tf.gradients is not supported when eager execution is enabled. Use tf.GradientTape "
                       "instead.")


def timestamp(name=None) -> Tensor:
    """Seconds since the Unix epoch as a float64 scalar.

    >>> import tapeflow as tf
    >>> tf.timestamp().dtype.name
    'float64'
    """
    return Tensor._wrap(np.asarray(time.time(), np.float64))


def get_logger() -> logging.Logger:
    """The ``"tensorflow"`` logger (``logging.getLogger("tensorflow")``).

    >>> import tapeflow as tf
    >>> tf.get_logger().name
    'tensorflow'
    """
    return logging.getLogger("tensorflow")


class VariableAggregation(enum.Enum):
    """How a distributed variable combines per-replica updates (``tf.VariableAggregation``)."""
    NONE = 0
    SUM = 1
    MEAN = 2
    ONLY_FIRST_REPLICA = 3


class VariableSynchronization(enum.Enum):
    """When a distributed variable is synchronized (``tf.VariableSynchronization``)."""
    AUTO = 0
    NONE = 1
    ON_WRITE = 2
    ON_READ = 3


from .tf_initializers import (constant_initializer, ones_initializer, random_normal_initializer,  # noqa: E402,F401
                              random_uniform_initializer, zeros_initializer)

__all__ = ["acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "cosh", "sinh", "tan", "complex64",
           "complex128", "double", "half", "uint16", "uint32", "uint64", "complex", "real", "imag", "conj", "angle",
           "eig", "eigvals", "matrix_square_root", "sqrtm", "edit_distance", "grad_pass_through", "hessians",
           "timestamp", "get_logger", "VariableAggregation", "VariableSynchronization", "constant_initializer",
           "zeros_initializer", "ones_initializer", "random_normal_initializer", "random_uniform_initializer",
           "unique", "unique_with_counts", "meshgrid", "searchsorted", "unravel_index", "histogram_fixed_width",
           "histogram_fixed_width_bins", "space_to_batch_nd", "space_to_batch", "batch_to_space",
           "required_space_to_batch_paddings", "bitcast", "tensor_scatter_nd_max", "tensor_scatter_nd_min",
           "parallel_stack", "broadcast_static_shape", "broadcast_dynamic_shape", "tuple", "slice", "strided_slice"]
