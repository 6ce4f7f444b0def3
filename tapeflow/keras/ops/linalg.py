"""``keras.ops.linalg``: Keras 3's linear-algebra ops (also importable as ``keras.ops.<name>``).

Differentiable (VJPs in ``tapeflow/ops/linalg_ops.py``): ``inv``, ``det``, ``slogdet``/``logdet``, ``solve``,
``solve_triangular``, ``cholesky``, ``cholesky_inverse``, ``eigh`` (distinct eigenvalues), ``svd`` (singular
values always; U/V when distinct and reduced or square), ``qr`` (reduced, m >= n), ``pinv`` and ``cdist``
(composed). ``eig``, ``lu_factor``, ``matrix_rank`` and ``lstsq`` return plain NumPy results (no gradient).

>>> from tapeflow import keras
>>> ops = keras.ops
>>> float(ops.linalg.det([[2.0, 1.0], [1.0, 3.0]]))
5.0
>>> ops.linalg.solve([[2.0, 0.0], [0.0, 4.0]], [1.0, 2.0]).numpy().tolist()
[0.5, 0.5]
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor
from ...ops import array_ops as A
from ...ops import linalg_ops as L
from ...ops import math_ops as M
from ...ops import reduce_ops as R
from .core import norm  # noqa: F401 - keras.ops.linalg.norm
from .numpy import _float

__all__ = ["cdist", "cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "logdet", "lstsq", "lu_factor",
           "matrix_rank", "norm", "pinv", "qr", "slogdet", "solve", "solve_triangular", "svd"]


def _square(x, op: str) -> Tensor:
    x = _float(x)
    s = x._value.shape
    if len(s) < 2 or s[-1] != s[-2]:
        raise ValueError(f"{op}: expected a square matrix or a batch of them, shape (..., n, n); got shape {s}")
    return x


def _matrix(x, op: str) -> Tensor:
    x = _float(x)
    if x._value.ndim < 2:
        raise ValueError(f"{op}: expected a matrix or a batch of them, shape (..., m, n); got shape {x._value.shape}")
    return x


def _rhs(a: Tensor, b, op: str):
    """``b`` as (..., n, k) (a vector b of rank a.ndim - 1 becomes one column), and whether it was a vector."""
    b = _float(b)
    if b._value.dtype != a._value.dtype:
        b = A.cast(b, a._value.dtype)
    vec = b._value.ndim == a._value.ndim - 1
    if vec:
        b = A.expand_dims(b, -1)
    n = a._value.shape[-1]
    if b._value.ndim < 2 or b._value.shape[-2] != n:
        raise ValueError(f"{op}: b must have shape (..., {n}) or (..., {n}, k) to match a of shape "
                         f"{a._value.shape}; got shape {tuple(b._value.shape) if not vec else b._value.shape[:-1]}")
    return b, vec


def inv(x):
    """The inverse of a square matrix (batched); differentiable.

    >>> from tapeflow import keras
    >>> keras.ops.inv([[2.0, 0.0], [0.0, 4.0]]).numpy().tolist()
    [[0.5, 0.0], [0.0, 0.25]]
    """
    return L.matrix_inverse(_square(x, "inv"))


def det(x):
    """The determinant of a square matrix (batched); differentiable (gradient det(x) x^-T)."""
    return L.matrix_determinant(_square(x, "det"))


def slogdet(x):
    """(sign, log|det|) of a square matrix; the log-determinant is differentiable, the sign a constant."""
    x = _square(x, "slogdet")
    sign = np.linalg.slogdet(x._value)[0]
    return Tensor._wrap(np.asarray(sign, x._value.dtype)), L.log_abs_determinant(x)


def logdet(x):
    """log|det(x)| (Keras's NumPy backend returns ``slogdet(x)[1]``); differentiable."""
    return L.log_abs_determinant(_square(x, "logdet"))


def solve(a, b):
    """X with a @ X = b; ``b`` of shape (..., n) or (..., n, k); differentiable in both."""
    a = _square(a, "solve")
    b, vec = _rhs(a, b, "solve")
    x = L.matrix_solve(a, b)
    return A.squeeze(x, -1) if vec else x


def solve_triangular(a, b, lower=False):
    """X with triangular(a) @ X = b, reading only a's lower (``lower=True``) or upper triangle; differentiable."""
    a = _square(a, "solve_triangular")
    b, vec = _rhs(a, b, "solve_triangular")
    x = L.triangular_solve(a, b, lower=lower)
    return A.squeeze(x, -1) if vec else x


def cholesky(x, upper=False):
    """The Cholesky factor L (x = L L^T), or L^T with ``upper=True``; differentiable (x is read as symmetric:
    the gradient is the symmetric one, as in PyTorch)."""
    c = L.cholesky(_square(x, "cholesky"))
    return M._mT(c) if upper else c


def cholesky_inverse(x, upper=False):
    """The inverse of the matrix whose Cholesky factor is ``x`` (lower, or upper with ``upper=True``);
    differentiable."""
    x = _square(x, "cholesky_inverse")
    eye = A.eye(x._value.shape[-1], dtype=x._value.dtype)
    xi = L.triangular_solve(x, A.broadcast_to(eye, x._value.shape), lower=not upper)
    return M.matmul(xi, xi, transpose_b=True) if upper else M.matmul(xi, xi, transpose_a=True)


def eigh(x):
    """(eigenvalues ascending, eigenvectors in columns) of a symmetric matrix (its lower triangle is read);
    differentiable for distinct eigenvalues (symmetric gradient, as PyTorch)."""
    return L.eigh(_square(x, "eigh"))


def eig(x):
    """(eigenvalues, eigenvectors) of a general square matrix as complex NumPy results; not differentiable."""
    w, v = np.linalg.eig(_square(x, "eig")._value)
    return Tensor._wrap(w), Tensor._wrap(v)


def svd(x, full_matrices=True, compute_uv=True):
    """Singular value decomposition ``(u, s, vh)`` (or ``s`` with ``compute_uv=False``), as ``np.linalg.svd``.

    Differentiable: ``s`` always; ``u``/``vh`` when the singular values are distinct and the factors are the
    reduced ones (``full_matrices=False``, or a square input). With ``full_matrices=True`` on a non-square input
    u and vh are NumPy constants (no gradient), as PyTorch refuses that gradient.

    >>> from tapeflow import keras
    >>> keras.ops.svd([[3.0, 0.0], [0.0, -2.0]], compute_uv=False).numpy().tolist()
    [3.0, 2.0]
    """
    x = _matrix(x, "svd")
    if not compute_uv:
        return L.singular_values(x)
    m, n = x._value.shape[-2:]
    if not full_matrices or m == n:
        return L.svd_reduced(x)
    u, s, vh = np.linalg.svd(x._value, full_matrices=True)
    return Tensor._wrap(u), L.singular_values(x), Tensor._wrap(vh)


def qr(x, mode="reduced"):
    """QR decomposition ``(q, r)``; ``mode`` "reduced" or "complete". Differentiable for m >= n in reduced mode
    (and complete mode on a square or wide input, where it is the same); complete mode on a tall input gives
    NumPy constants."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode must be 'reduced' or 'complete', got {mode!r}")
    x = _matrix(x, "qr")
    m, n = x._value.shape[-2:]
    if mode == "complete" and m > n:
        q, r = np.linalg.qr(x._value, mode="complete")
        return Tensor._wrap(q), Tensor._wrap(r)
    return L.qr_reduced(x)


def pinv(x, rcond=None):
    """Moore-Penrose pseudo-inverse through the SVD, singular values <= rcond * max(s) dropped (rcond defaults to
    max(m, n) * eps, as NumPy); differentiable by composition (distinct singular values)."""
    x = _matrix(x, "pinv")
    m, n = x._value.shape[-2:]
    if rcond is None:
        rcond = max(m, n) * np.finfo(x._value.dtype).eps
    u, s, vh = L.svd_reduced(x)
    keep = s._value > np.asarray(rcond) * s._value.max(axis=-1, keepdims=True)
    sinv = M.multiply(M.reciprocal(M.add(s, Tensor._wrap((~keep).astype(s._value.dtype)))),
                      Tensor._wrap(keep.astype(s._value.dtype)))
    return M.matmul(M.multiply(M._mT(vh), A.expand_dims(sinv, -2)), M._mT(u))


def lstsq(a, b, rcond=None):
    """Least-squares solution of a @ x = b (``np.linalg.lstsq(...)[0]``); not differentiable."""
    a, b = _matrix(a, "lstsq"), _float(b)
    if b._value.shape[0] != a._value.shape[0]:
        raise ValueError(f"lstsq: b must have {a._value.shape[0]} rows to match a of shape {a._value.shape}; "
                         f"got shape {b._value.shape}")
    return Tensor._wrap(np.linalg.lstsq(a._value, b._value, rcond=rcond)[0])


def lu_factor(x):
    """(lu, pivots) as ``scipy.linalg.lu_factor`` (batched; 0-based int32 pivots); not differentiable."""
    import scipy.linalg as sl
    x = _matrix(x, "lu_factor")
    a = x._value
    m, n = a.shape[-2:]
    flat = a.reshape((-1, m, n))
    res = [sl.lu_factor(mat) for mat in flat]
    lu = np.stack([r[0] for r in res]).reshape(a.shape)
    piv = np.stack([r[1] for r in res]).reshape(a.shape[:-2] + (min(m, n),)).astype(np.int32)
    return Tensor._wrap(lu), Tensor._wrap(piv)


def matrix_rank(x, tol=None):
    """The rank (int32) by SVD, as ``np.linalg.matrix_rank``; not differentiable."""
    x = _matrix(x, "matrix_rank")
    return Tensor._wrap(np.asarray(np.linalg.matrix_rank(x._value, tol=tol)).astype(np.int32))


def cdist(x, y):
    """Euclidean distances between the rows of x (..., p, d) and y (..., r, d): shape (..., p, r).
    Differentiable; the gradient at coincident points is 0 (as PyTorch)."""
    x, y = _float(x), _float(y)
    if x._value.ndim < 2 or y._value.ndim < 2 or x._value.shape[-1] != y._value.shape[-1]:
        raise ValueError(f"cdist: expected x (..., p, d) and y (..., r, d) of rank >= 2 with equal d; got shapes "
                         f"{x._value.shape} and {y._value.shape}")
    if y._value.dtype != x._value.dtype:
        y = A.cast(y, x._value.dtype)
    diff = M.subtract(A.expand_dims(x, -2), A.expand_dims(y, -3))
    d2 = R.reduce_sum(M.square(diff), axis=-1)
    zero = d2._value == 0
    safe = M.add(d2, Tensor._wrap(zero.astype(d2._value.dtype)))
    return M.multiply(M.sqrt(safe), Tensor._wrap((~zero).astype(d2._value.dtype)))
