"""Graph propagation: a fixed (sparse or dense) matrix times a dense, differentiable one.

``sparse_dense_matmul(adjacency, x)`` computes ``adjacency @ x`` where ``adjacency`` is a constant
(a ``scipy.sparse`` matrix or a NumPy array, passed as an attribute, never differentiated) and
``x`` is a Tensor. The VJP is the same op with the transposed matrix: ``d(S x) / dx = S^T g``.
"""
from __future__ import annotations

import numpy as np

from ..autodiff.tensor import Tensor, convert_to_tensor
from .registry import bind, defvjp, primitive


def _spmm_fwd(x, adjacency):
    out = adjacency @ x
    return np.asarray(out, dtype=x.dtype)


_spmm = primitive("sparse_dense_matmul", _spmm_fwd)
defvjp(_spmm, lambda g, ans, x, adjacency: bind(_spmm, g, adjacency=adjacency.T))
_spmm.fast = (lambda g, ans, x, adjacency: np.asarray(adjacency.T @ g, dtype=g.dtype),)


def sparse_dense_matmul(adjacency, x) -> Tensor:
    """``adjacency @ x`` for a constant ``(N, M)`` matrix (scipy.sparse or NumPy) and a Tensor ``(M, ...)``.

    >>> import numpy as np, scipy.sparse as sp, tapeflow as tf
    >>> from tapeflow.ops.graph_ops import sparse_dense_matmul
    >>> sparse_dense_matmul(sp.eye(3, format="csr"), tf.ones((3, 2))).numpy().tolist()
    [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]
    """
    x = convert_to_tensor(x)
    shape = adjacency.shape
    if len(shape) != 2 or shape[1] != x._value.shape[0]:
        raise ValueError(f"sparse_dense_matmul: adjacency of shape {tuple(shape)} cannot multiply x of shape "
                         f"{x._value.shape} (need adjacency.shape[1] == x.shape[0])")
    return bind(_spmm, x, adjacency=adjacency)
