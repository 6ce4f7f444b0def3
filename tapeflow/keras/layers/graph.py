"""Graph convolution (Kipf & Welling 2017), with PyTorch Geometric's ``GCNConv`` semantics.

``out = D^-1/2 (A + I) D^-1/2 (X @ kernel) + bias`` where self-loops are added to nodes that have
none (PyG's ``add_remaining_self_loops``) and ``D`` holds the row sums of ``A + I``. The graph may
be given as

* a dense ``(N, N)`` adjacency (NumPy array or Tensor): row ``i`` lists the nodes ``i`` aggregates
  from (``a[i, j]`` = weight of the edge ``j -> i``);
* a ``scipy.sparse`` ``(N, N)`` matrix, same meaning;
* an edge index ``(2, E)`` of integers, PyG style: edge ``e`` goes from ``edge_index[0, e]``
  (source) to ``edge_index[1, e]`` (target); messages flow source -> target.

The normalized matrix is a constant (computed once per graph object and cached); gradients flow
to the features and the weights through ``sparse_dense_matmul``.
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor
from ...ops import graph_ops
from ...ops import math_ops as M
from .. import activations, constraints, initializers, regularizers
from .base import Layer


def gcn_normalize(adjacency, num_nodes: int, add_self_loops: bool = True, dtype="float32"):
    """The symmetric-normalized propagation matrix ``D^-1/2 (A + I) D^-1/2`` as ``scipy.sparse.csr``.

    >>> import numpy as np
    >>> s = gcn_normalize(np.array([[0, 1], [1, 0]]), 2)
    >>> np.round(s.toarray(), 3).tolist()
    [[0.5, 0.5], [0.5, 0.5]]
    """
    import scipy.sparse as sp
    if isinstance(adjacency, Tensor):
        adjacency = adjacency._value
    if sp.issparse(adjacency):
        a = sp.csr_matrix(adjacency, dtype=np.float64)
    else:
        arr = np.asarray(adjacency)
        if arr.ndim == 2 and arr.shape[0] == 2 and arr.dtype.kind in "iu" and arr.shape != (num_nodes, num_nodes):
            src, dst = arr[0].astype(np.int64), arr[1].astype(np.int64)
            if arr.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= num_nodes):
                raise ValueError(f"GCNConv: edge_index values must lie in [0, {num_nodes}) for {num_nodes} nodes, "
                                 f"got [{min(src.min(), dst.min())}, {max(src.max(), dst.max())}]")
            a = sp.csr_matrix((np.ones(len(src)), (dst, src)), shape=(num_nodes, num_nodes))
        elif arr.ndim == 2 and arr.shape == (num_nodes, num_nodes):
            a = sp.csr_matrix(arr.astype(np.float64))
        else:
            raise ValueError(f"GCNConv: the graph must be an ({num_nodes}, {num_nodes}) adjacency (dense or "
                             f"scipy.sparse) or a (2, E) integer edge index, got an array of shape {arr.shape} "
                             f"and dtype {arr.dtype}")
    if a.shape != (num_nodes, num_nodes):
        raise ValueError(f"GCNConv: adjacency has shape {a.shape}, expected ({num_nodes}, {num_nodes}) for "
                         f"{num_nodes} nodes")
    if add_self_loops:
        missing = (a.diagonal() == 0).astype(np.float64)
        a = a + sp.diags(missing)
    deg = np.asarray(a.sum(axis=1)).ravel()
    with np.errstate(divide="ignore"):
        inv = np.where(deg > 0, deg ** -0.5, 0.0)
    d = sp.diags(inv)
    return sp.csr_matrix(d @ a @ d, dtype=dtype)


class GCNConv(Layer):
    """Graph convolution layer: ``activation(S @ (x @ kernel) + bias)`` with ``S`` the GCN-normalized
    adjacency. Call it as ``conv(x, graph)`` (``x``: ``(num_nodes, features)``; ``graph``: dense or
    sparse adjacency, or a ``(2, E)`` edge index) or ``conv([x, graph])``. ``GCNConv(in_channels,
    out_channels)`` (PyG's spelling) is accepted too.

    >>> import numpy as np, tapeflow as tf
    >>> edge_index = np.array([[0, 1, 1, 2], [1, 0, 2, 1]])
    >>> conv = tf.keras.layers.GCNConv(4, activation="relu")
    >>> conv(np.ones((3, 5), "float32"), edge_index).shape.as_list()
    [3, 4]
    """

    def __init__(self, units, out_channels=None, activation=None, use_bias=True, add_self_loops=True,
                 normalize=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if out_channels is not None:  # GCNConv(in_channels, out_channels)
            units = out_channels
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"GCNConv: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.add_self_loops = bool(add_self_loops)
        self.normalize = bool(normalize)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._self_adj_cache = None

    def build(self, input_shape):
        if isinstance(input_shape, list):  # conv([x, graph])
            input_shape = input_shape[0]
        self.kernel = self.add_weight(shape=(int(input_shape[-1]), self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.built = True

    def _propagation(self, graph, n, dtype):
        cache = self._self_adj_cache
        if cache is not None and cache[0] is graph:
            return cache[1]
        if self.normalize:
            s = gcn_normalize(graph, n, self.add_self_loops, dtype)
        else:
            import scipy.sparse as sp
            s = sp.csr_matrix(graph._value if isinstance(graph, Tensor) else graph, dtype=dtype)
        self._self_adj_cache = (graph, s)
        return s

    def call(self, inputs, graph=None):
        if isinstance(inputs, (list, tuple)):
            inputs, graph = inputs
        if graph is None:
            raise ValueError(f'Layer "{self.name}": pass the graph, conv(x, edge_index_or_adjacency)')
        x = inputs
        if x._value.ndim != 2:
            raise ValueError(f'Layer "{self.name}": node features must have shape (num_nodes, features), '
                             f"got {x._value.shape}")
        s = self._propagation(graph, x._value.shape[0], x._value.dtype)
        y = graph_ops.sparse_dense_matmul(s, M.matmul(x, self._read(self.kernel)))
        if self.bias is not None:
            y = M.add(y, self._read(self.bias))
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units, "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            "add_self_loops": self.add_self_loops, "normalize": self.normalize,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint)})
        return config


GraphConv = GCNConv

__all__ = ["GCNConv", "GraphConv", "gcn_normalize"]
