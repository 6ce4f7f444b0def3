"""The differentiable op library. Importing it installs Tensor's operators."""
from __future__ import annotations

from ..autodiff.tensor import Tensor
from . import array_ops, clip_ops, math_ops, nn_ops, reduce_ops  # noqa: F401 - registers primitives
from .registry import REGISTRY  # noqa: F401
from . import fast_vjps as _fast_vjps

_fast_vjps.install()


def _rev(fn):
    return lambda self, other: fn(other, self)


def _ufunc(self, ufunc, method, *inputs, **kwargs):
    """NumPy ufuncs on Tensors: arithmetic dispatches to tapeflow ops, the rest runs on arrays."""
    import numpy as np

    table = {np.add: math_ops.add, np.subtract: math_ops.subtract, np.multiply: math_ops.multiply,
             np.true_divide: math_ops.divide, np.power: math_ops.pow, np.matmul: math_ops.matmul,
             np.maximum: math_ops.maximum, np.minimum: math_ops.minimum}
    if method == "__call__" and ufunc in table and not kwargs:
        return table[ufunc](*inputs)
    arrays = [x._value if isinstance(x, Tensor) else x for x in inputs]
    if "out" in kwargs:
        kwargs["out"] = tuple(x._value if isinstance(x, Tensor) else x for x in kwargs["out"])
    return getattr(ufunc, method)(*arrays, **kwargs)


def _install():
    M, A = math_ops, array_ops
    T = Tensor
    T.__add__, T.__radd__ = M.add, _rev(M.add)
    T.__sub__, T.__rsub__ = M.subtract, _rev(M.subtract)
    T.__mul__, T.__rmul__ = M.multiply, _rev(M.multiply)
    T.__truediv__, T.__rtruediv__ = M.divide, _rev(M.divide)
    T.__floordiv__, T.__rfloordiv__ = M.floordiv, _rev(M.floordiv)
    T.__mod__, T.__rmod__ = M.floormod, _rev(M.floormod)
    T.__pow__, T.__rpow__ = M.pow, _rev(M.pow)
    T.__matmul__, T.__rmatmul__ = M.matmul, _rev(M.matmul)
    T.__neg__ = M.negative
    T.__pos__ = lambda self: self
    T.__abs__ = M.abs
    T.__lt__, T.__le__, T.__gt__, T.__ge__ = M.less, M.less_equal, M.greater, M.greater_equal
    T.__eq__ = lambda self, other: M.equal(self, other) if _comparable(other) else False
    T.__ne__ = lambda self, other: M.not_equal(self, other) if _comparable(other) else True
    T.__and__, T.__or__, T.__xor__ = M.logical_and, M.logical_or, M.logical_xor
    T.__invert__ = M.logical_not
    T.__getitem__ = A.getitem
    T.__array_ufunc__ = _ufunc
    T.__hash__ = lambda self: id(self)


def _comparable(other) -> bool:
    import numbers

    import numpy as np
    return isinstance(other, (Tensor, numbers.Number, np.ndarray, np.generic, list, tuple))


_install()
