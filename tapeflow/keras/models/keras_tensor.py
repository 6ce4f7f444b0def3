"""Symbolic tensors for the functional API: ``KerasTensor`` (shape + dtype + history) and ``Node``.

``keras.Input(shape=(784,))`` returns a KerasTensor; calling a layer on KerasTensors records a
``Node`` (the layer, its arguments, its output KerasTensors) instead of computing anything.
``Model(inputs, outputs)`` walks those nodes back from the outputs.
"""
from __future__ import annotations

import collections

import numpy as np

from ...autodiff.tensor import TensorShape

KerasHistory = collections.namedtuple("KerasHistory", ["operation", "node_index", "tensor_index"])


def is_keras_tensor(x) -> bool:
    """True for the symbolic tensors of the functional API."""
    return isinstance(x, KerasTensor)


def flatten(x) -> list:
    out = []

    def walk(v):
        if isinstance(v, KerasTensor):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            for e in v:
                walk(e)
        elif isinstance(v, dict):  # sorted by key, as Keras's tree.flatten (the graph's order follows it)
            for k in sorted(v, key=str):
                walk(v[k])
    walk(x)
    return out


class KerasTensor:
    """A symbolic tensor: known shape (``None`` for unknown dims) and dtype, no values.

    >>> import tapeflow as tf
    >>> x = tf.keras.Input(shape=(784,))
    >>> x.shape.as_list(), x.dtype.name
    ([None, 784], 'float32')
    """

    _is_keras_tensor = True
    __array_priority__ = 200

    def __init__(self, shape, dtype="float32", sparse=False, name=None):
        from ..backend import unique_object_name
        self._shape = tuple(None if d is None else int(d) for d in shape)
        self._dtype = np.dtype(dtype)
        self.sparse = bool(sparse)
        self.name = name or unique_object_name("keras_tensor")
        self._keras_history = None
        self._keras_mask = None

    @property
    def shape(self) -> TensorShape:
        return TensorShape(self._shape)

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def ndim(self) -> int:
        return len(self._shape)

    def __repr__(self) -> str:
        return (f"<KerasTensor shape={self._shape}, dtype={self._dtype.name}, sparse={self.sparse}, "
                f"name={self.name}>")

    def __hash__(self) -> int:
        return id(self)

    def __len__(self):
        raise TypeError("A KerasTensor is symbolic and has no length; use x.shape[0]")

    def __bool__(self):
        raise TypeError("A KerasTensor is symbolic: it has no truth value. Put data-dependent logic inside a "
                        "layer's call() (or a Lambda layer).")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            f"KerasTensor {self.name} with shape {self._shape} is symbolic (it stands for a model input); "
            "it cannot be converted to a NumPy array. A functional model takes keras.layers and keras.ops "
            "(keras.ops.mean, not tf.reduce_mean); put other code in a Layer's call() or a keras.layers.Lambda, "
            "or call a Model built from it on real data.")

    def __iter__(self):
        raise TypeError("A KerasTensor is symbolic and cannot be iterated; index it (x[:, 0]) instead")

    def numpy(self):
        return self.__array__()


def _install_operators():
    """``x + y``, ``x * 2``, ``x[:, 0]``... on KerasTensors record an op layer in the graph."""
    def binary(op):
        def f(self, other):
            from .functional import op_call
            return op_call(op, self, other)

        def r(self, other):
            from .functional import op_call
            return op_call(op, other, self)
        return f, r

    for op, (name, rname) in {"add": ("__add__", "__radd__"), "subtract": ("__sub__", "__rsub__"),
                              "multiply": ("__mul__", "__rmul__"), "true_divide": ("__truediv__", "__rtruediv__"),
                              "matmul": ("__matmul__", "__rmatmul__"), "power": ("__pow__", "__rpow__"),
                              "floor_divide": ("__floordiv__", "__rfloordiv__"), "mod": ("__mod__", "__rmod__"),
                              "logical_and": ("__and__", "__rand__"), "logical_or": ("__or__", "__ror__"),
                              "logical_xor": ("__xor__", "__rxor__")}.items():
        f, r = binary(op)
        setattr(KerasTensor, name, f)
        setattr(KerasTensor, rname, r)
    for op, name in {"less": "__lt__", "less_equal": "__le__", "greater": "__gt__", "greater_equal": "__ge__",
                     "not_equal": "__ne__"}.items():  # (== stays Python's identity test, as in Keras)
        setattr(KerasTensor, name, binary(op)[0])

    def unary(op):
        def f(self):
            from .functional import op_call
            return op_call(op, self)
        return f
    KerasTensor.__neg__ = unary("negative")
    KerasTensor.__abs__ = unary("absolute")
    KerasTensor.__invert__ = unary("logical_not")

    def round_(self, ndigits=None):
        from .functional import op_call
        return op_call("round", self) if ndigits is None else op_call("round", self, ndigits)
    KerasTensor.__round__ = round_

    def getitem(self, key):
        from .functional import op_call
        return op_call("get_item", self, key)
    KerasTensor.__getitem__ = getitem


_install_operators()


class Node:
    """One call of a layer on KerasTensors: inputs, arguments and output KerasTensors."""

    def __init__(self, operation, call_args=(), call_kwargs=None, outputs=None):
        self.operation = operation
        self.call_args = tuple(call_args)
        self.call_kwargs = dict(call_kwargs or {})
        self.input_tensors = flatten((self.call_args, self.call_kwargs))
        self.input_struct = self.call_args[0] if self.call_args else None
        self.output_struct = outputs
        self.output_tensors = flatten(outputs)
        self.is_input = not self.input_tensors
        operation._inbound_nodes.append(self)
        index = len(operation._inbound_nodes) - 1
        for i, t in enumerate(self.output_tensors):
            t._keras_history = KerasHistory(operation, index, i)
        for t in self.input_tensors:
            if t._keras_history is not None:
                t._keras_history.operation._outbound_nodes.append(self)

    @property
    def layer(self):
        return self.operation

    @property
    def parent_nodes(self) -> list:
        out = []
        for t in self.input_tensors:
            h = t._keras_history
            if h is not None:
                out.append(h.operation._inbound_nodes[h.node_index])
        return out

    def __repr__(self) -> str:
        return f"<Node {self.operation.name}: {len(self.input_tensors)} in, {len(self.output_tensors)} out>"
