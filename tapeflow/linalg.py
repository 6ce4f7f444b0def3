"""``tf.linalg``: TensorFlow's spellings over the differentiable decompositions of ``ops/linalg_ops.py``.

Where TensorFlow's conventions differ from NumPy's they are TensorFlow's: ``svd`` returns ``(s, u, v)`` with ``v``
not transposed and the reduced factors by default, ``qr`` the reduced ``(q, r)``, ``triangular_solve`` reads the
lower triangle by default, ``slogdet`` returns ``(sign, log|det|)``, ``logdet`` is for Hermitian positive-definite
matrices (through the Cholesky factor), ``diag`` builds a diagonal matrix.

>>> import tapeflow as tf
>>> a = tf.constant([[4.0, 2.0], [2.0, 3.0]])
>>> tf.linalg.solve(a, tf.constant([[2.0], [1.0]])).numpy().tolist()
[[0.5], [0.0]]
>>> round(float(tf.linalg.logdet(a)), 4)
2.0794
"""
from __future__ import annotations

import numpy as np

from .autodiff.tensor import Tensor, convert_to_tensor
from .keras.ops import linalg as _K
from .ops import array_ops as A
from .ops import math_ops as M
from .ops import reduce_ops as R
from .ops.clip_ops import global_norm  # noqa: F401
from .ops.einsum_ops import einsum  # noqa: F401
from .ops.math_ops import matmul, tensordot  # noqa: F401
from .ops.nn_ops import l2_normalize  # noqa: F401
from .ops.reduce_ops import norm  # noqa: F401

cholesky, det, eigh, inv, pinv = _K.cholesky, _K.det, _K.eigh, _K.inv, _K.pinv


def _f(x) -> Tensor:
    t = convert_to_tensor(x)
    return t if t._value.dtype.kind == "f" else A.cast(t, "float32")


def matrix_transpose(a, name="matrix_transpose", conjugate=False) -> Tensor:
    """Swap the last two axes."""
    return M._mT(convert_to_tensor(a))


adjoint = matrix_transpose


def matvec(a, b, transpose_a=False, adjoint_a=False, a_is_sparse=False, b_is_sparse=False, name=None) -> Tensor:
    """``a @ b`` for a batch of matrices ``a`` and vectors ``b`` (the last axis)."""
    return A.squeeze(M.matmul(a, A.expand_dims(b, -1), transpose_a=transpose_a or adjoint_a), -1)


def solve(matrix, rhs, adjoint=False, name=None) -> Tensor:
    """X with ``matrix @ X = rhs`` (``matrix^T`` with ``adjoint=True``); ``rhs`` is (..., n, k)."""
    a = M._mT(_f(matrix)) if adjoint else _f(matrix)
    return _K.solve(a, rhs)


def triangular_solve(matrix, rhs, lower=True, adjoint=False, name=None) -> Tensor:
    """X with ``triangular(matrix) @ X = rhs``, reading the lower triangle (or the upper with ``lower=False``)."""
    a = _f(matrix)
    if adjoint:
        a, lower = M._mT(a), not lower
    return _K.solve_triangular(a, rhs, lower=lower)


def cholesky_solve(chol, rhs, name=None) -> Tensor:
    """X with ``(L L^T) X = rhs`` given the lower Cholesky factor ``chol``."""
    y = triangular_solve(chol, rhs, lower=True)
    return triangular_solve(chol, y, lower=True, adjoint=True)


def slogdet(input, name=None) -> tuple:  # noqa: A002
    """(sign, log|det|)."""
    return _K.slogdet(input)


def logdet(matrix, name=None) -> Tensor:
    """log det of a Hermitian positive-definite matrix: ``2 * sum(log(diag(cholesky(matrix))))``."""
    chol = _K.cholesky(matrix)
    return M.multiply(2.0, R.reduce_sum(M.log(diag_part(chol)), axis=-1))


def eigvalsh(tensor, name=None) -> Tensor:
    """The eigenvalues of a symmetric matrix, ascending."""
    return _K.eigh(tensor)[0]


def eig(tensor, name=None) -> tuple:
    """(eigenvalues, eigenvectors), complex as TensorFlow's (``tf.eig``, in ``tf_extra.py``)."""
    from .tf_extra import eig as _eig
    return _eig(tensor)


def eigvals(tensor, name=None) -> Tensor:
    """The eigenvalues, complex as TensorFlow's (``tf.eigvals``, in ``tf_extra.py``)."""
    from .tf_extra import eigvals as _eigvals
    return _eigvals(tensor)


def svd(tensor, full_matrices=False, compute_uv=True, name=None):
    """``s`` or ``(s, u, v)``: ``tensor = u @ diag(s) @ v^T`` (``v``, not its transpose, as TensorFlow)."""
    if not compute_uv:
        return _K.svd(tensor, compute_uv=False)
    u, s, vh = _K.svd(tensor, full_matrices=full_matrices)
    return s, u, M._mT(vh)


def qr(input, full_matrices=False, name=None) -> tuple:  # noqa: A002
    return _K.qr(input, mode="complete" if full_matrices else "reduced")


def lstsq(matrix, rhs, l2_regularizer=0.0, fast=True, name=None) -> Tensor:
    """The least-squares solution of ``matrix @ X = rhs`` (ridge-regularized by ``l2_regularizer``)."""
    a, b = _f(matrix), _f(rhs)
    if l2_regularizer:
        n = a._value.shape[-1]
        ata = M.add(M.matmul(a, a, transpose_a=True), M.multiply(float(l2_regularizer), A.eye(n, dtype=a.dtype.name)))
        return _K.solve(ata, M.matmul(a, b, transpose_a=True))
    if a._value.ndim == 2:
        return _K.lstsq(a, b)
    return Tensor._wrap(np.stack([np.linalg.lstsq(ai, bi, rcond=None)[0]
                                  for ai, bi in zip(a._value.reshape((-1,) + a._value.shape[-2:]),
                                                    b._value.reshape((-1,) + b._value.shape[-2:]))])
                        .reshape(a._value.shape[:-2] + (a._value.shape[-1], b._value.shape[-1])))


def matrix_rank(a, tol=None, validate_args=False, name=None) -> Tensor:
    return _K.matrix_rank(a, tol=tol)


def diag(diagonal, name="diag", k=0, num_rows=-1, num_cols=-1, padding_value=0, align="RIGHT_LEFT") -> Tensor:
    """A (batch of) square matrices with ``diagonal`` on the diagonal (main one only)."""
    d = convert_to_tensor(diagonal)
    if k != 0:
        raise ValueError("diag: only k=0 (the main diagonal) is supported")
    n = d._value.shape[-1]
    return M.multiply(A.expand_dims(d, -1), A.eye(n, dtype=d.dtype.name))


def diag_part(input, name="diag_part", k=0, padding_value=0, align="RIGHT_LEFT") -> Tensor:  # noqa: A002
    """The main diagonal of the last two axes."""
    x = convert_to_tensor(input)
    n = min(x._value.shape[-2:])
    i = np.arange(n)
    return A.getitem(x, (Ellipsis, i, i))


def set_diag(input, diagonal, name="set_diag", k=0, align="RIGHT_LEFT") -> Tensor:  # noqa: A002
    """``input`` with its main diagonal replaced by ``diagonal``."""
    x = convert_to_tensor(input)
    m, n = x._value.shape[-2:]
    on = np.eye(m, n, dtype=bool)
    d = convert_to_tensor(diagonal)
    full = M.multiply(A.expand_dims(d, -1), A.eye(m, n, dtype=x.dtype.name)) if m <= n else \
        M.multiply(A.expand_dims(d, -2), A.eye(m, n, dtype=x.dtype.name))
    return A.where(np.broadcast_to(on, x._value.shape), full, x)


def band_part(input, num_lower, num_upper, name=None) -> Tensor:  # noqa: A002
    """Keep the band of ``num_lower`` sub- and ``num_upper`` super-diagonals (-1: all of them)."""
    x = convert_to_tensor(input)
    m, n = x._value.shape[-2:]
    i, j = np.arange(m)[:, None], np.arange(n)[None, :]
    keep = ((num_lower < 0) | (i - j <= num_lower)) & ((num_upper < 0) | (j - i <= num_upper))
    return A.where(np.broadcast_to(keep, x._value.shape), x, Tensor._wrap(np.zeros((), x._value.dtype)))


def trace(x, name=None) -> Tensor:
    return R.reduce_sum(diag_part(x), axis=-1)


def eye(num_rows, num_columns=None, batch_shape=None, dtype="float32", name=None) -> Tensor:
    e = A.eye(num_rows, num_columns, dtype=dtype)
    return e if batch_shape is None else A.broadcast_to(e, tuple(batch_shape) + tuple(e._value.shape))


def cross(a, b, name=None) -> Tensor:
    """The cross product of 3-vectors on the last axis."""
    from .keras.ops import cross as _cross
    return _cross(a, b)


def normalize(tensor, ord="euclidean", axis=None, name=None) -> tuple:  # noqa: A002
    """(tensor / its norm, the norm)."""
    t = _f(tensor)
    n = R.norm(t, ord=ord, axis=axis, keepdims=True)
    return M.divide(t, n), n


def expm(input, name=None) -> Tensor:  # noqa: A002
    """The matrix exponential by scaling and squaring with a degree-12 Taylor series (differentiable)."""
    x = _f(input)
    norm1 = float(np.max(np.abs(x._value).sum(axis=-2))) if x._value.size else 0.0
    s = max(0, int(np.ceil(np.log2(norm1))) + 1) if norm1 > 0.5 else 0
    a = M.multiply(x, 1.0 / 2 ** s)
    n = x._value.shape[-1]
    term = A.broadcast_to(A.eye(n, dtype=x.dtype.name), x._value.shape)
    total = term
    for k in range(1, 13):
        term = M.divide(M.matmul(term, a), float(k))
        total = M.add(total, term)
    for _ in range(s):
        total = M.matmul(total, total)
    return total


def sqrtm(input, name=None) -> Tensor:  # noqa: A002
    """The principal matrix square root, differentiable (``tf.matrix_square_root``, in ``tf_extra.py``)."""
    from .tf_extra import matrix_square_root
    return matrix_square_root(input)


__all__ = ["matmul", "matvec", "tensordot", "einsum", "norm", "global_norm", "l2_normalize", "inv", "det", "slogdet",
           "logdet", "solve", "triangular_solve", "cholesky", "cholesky_solve", "eigh", "eigvalsh", "eig", "eigvals",
           "svd", "qr", "pinv", "lstsq", "matrix_rank", "diag", "diag_part", "set_diag", "band_part", "trace", "eye",
           "matrix_transpose", "adjoint", "cross", "normalize", "expm", "sqrtm"]
