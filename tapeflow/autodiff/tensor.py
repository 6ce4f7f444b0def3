"""Tensor and Variable: thin wrappers around a NumPy array.

A ``Tensor`` is immutable and carries no autodiff state of its own: which tape can
differentiate through it is the tapes' business (see ``tape.py``), as in TensorFlow. Operators
(``+``, ``@``, indexing...) are installed by ``tapeflow.ops`` so that this file stays free of
op definitions.
"""
from __future__ import annotations

import numpy as np

from .. import backend as B


class TensorShape(tuple):
    """A tuple of dimensions with TensorFlow's helpers (``as_list``, ``rank``).

    >>> TensorShape((2, 3)).as_list()
    [2, 3]
    """

    def as_list(self) -> list:
        return list(self)

    @property
    def rank(self) -> int:
        return len(self)

    ndims = rank

    def num_elements(self) -> int | None:
        if any(d is None for d in self):
            return None
        return int(np.prod(self, dtype=np.int64))

    def __getitem__(self, item):
        out = tuple.__getitem__(self, item)
        return TensorShape(out) if isinstance(item, slice) else out

    def __repr__(self) -> str:
        return f"TensorShape({list(self)})"


class Tensor:
    """An immutable n-dimensional array, as ``tf.Tensor`` in eager mode.

    >>> import tapeflow as tf
    >>> t = tf.constant([[1.0, 2.0]])
    >>> (t * 2).numpy().tolist()
    [[2.0, 4.0]]
    """

    __slots__ = ("_value", "_keras_mask", "_keras_logits", "_keras_act", "__weakref__")
    _is_variable = False
    _trainable = False
    __array_priority__ = 100

    def __init__(self, value, dtype=None):
        self._value = np.asarray(value, dtype=None if dtype is None else B.as_dtype(dtype))
        self._keras_mask = None

    @classmethod
    def _wrap(cls, array: np.ndarray) -> "Tensor":
        t = object.__new__(Tensor)
        t._value = array
        t._keras_mask = None
        return t

    # -- inspection ---------------------------------------------------------------------
    @property
    def shape(self) -> TensorShape:
        return TensorShape(self._value.shape)

    @property
    def dtype(self) -> np.dtype:
        return self._value.dtype

    @property
    def ndim(self) -> int:
        return self._value.ndim

    def get_shape(self) -> TensorShape:
        return self.shape

    def numpy(self) -> np.ndarray:
        """The value as a NumPy array (a scalar for rank 0, as TensorFlow)."""
        v = self._value
        return v[()] if v.ndim == 0 else v

    def __array__(self, dtype=None, copy=None):
        v = self._value
        if dtype is not None and v.dtype != dtype:
            return np.asarray(v.astype(dtype))  # asarray: reductions may leave a NumPy scalar here
        return np.array(v) if copy else np.asarray(v)

    def __float__(self) -> float:
        return float(self._value)

    def __int__(self) -> int:
        return int(self._value)

    def __index__(self) -> int:
        if self._value.dtype.kind not in "iu":
            raise TypeError(f"Only integer tensors can be used as an index, got dtype {self.dtype.name}")
        return int(self._value)

    def __bool__(self) -> bool:
        if self._value.size != 1:
            raise ValueError(
                f"The truth value of a tensor of shape {self._value.shape} is ambiguous; "
                "use tf.reduce_any / tf.reduce_all")
        return bool(self._value)

    def __len__(self) -> int:
        if self._value.ndim == 0:
            raise TypeError("len() of a scalar tensor")
        return self._value.shape[0]

    def __iter__(self):
        if self._value.ndim == 0:
            raise TypeError("Cannot iterate over a scalar tensor")
        for i in range(self._value.shape[0]):
            yield self[i]

    def __format__(self, spec: str) -> str:
        if self._value.ndim == 0:
            return format(self._value[()], spec)
        return format(str(self), spec)

    def __repr__(self) -> str:
        return (f"<tf.Tensor: shape={tuple(self._value.shape)}, dtype={self.dtype.name}, "
                f"numpy={np.array2string(self._value, separator=', ')}>")

    def __str__(self) -> str:
        return f"tf.Tensor({self._value}, shape={tuple(self._value.shape)}, dtype={self.dtype.name})"

    def __hash__(self) -> int:  # identity hash; __eq__ is elementwise, as in TF2
        return id(self)

    def ref(self):
        """A hashable handle, as ``tf.Tensor.ref()`` (here the tensor itself)."""
        return self

    def deref(self):
        return self


class Variable(Tensor):
    """A mutable tensor holding model state, as ``tf.Variable``.

    Its buffer is updated in place by ``assign*`` so optimizers allocate nothing per step.
    Trainable variables read inside a ``GradientTape`` are watched automatically.

    >>> import tapeflow as tf
    >>> v = tf.Variable([1.0, 2.0])
    >>> v.assign_sub([0.5, 0.5]).numpy().tolist()
    [0.5, 1.5]
    """

    __slots__ = ("trainable", "name", "path", "constraint", "regularizer", "_layer_name",
                 "aggregation", "overwrite_with_gradient")
    _is_variable = True

    def __init__(self, initial_value=None, trainable=True, name=None, dtype=None, shape=None,
                 constraint=None, validate_shape=True, aggregation=None, synchronization=None,
                 **kwargs):
        if initial_value is None:
            raise ValueError("Variable: initial_value is required")
        if callable(initial_value):
            initial_value = initial_value()
        if isinstance(initial_value, Tensor):
            initial_value = initial_value._value
        if dtype is None:
            arr = np.asarray(initial_value)
            if arr.dtype == np.float64 and not isinstance(initial_value, np.ndarray):
                arr = arr.astype(np.float32)  # Python floats become float32, as TF
            elif arr.dtype == np.int64 and not isinstance(initial_value, np.ndarray):
                arr = arr.astype(np.int32)
        else:
            arr = np.asarray(initial_value, dtype=B.as_dtype(dtype))
        self._value = np.array(arr, copy=True, order="C")
        self._keras_mask = None
        self.trainable = bool(trainable)
        self.name = name or "Variable"
        self.path = self.name
        self.constraint = constraint
        self.regularizer = None
        self._layer_name = None
        self.aggregation = aggregation
        self.overwrite_with_gradient = False

    @property
    def _trainable(self) -> bool:  # read by the tape for auto-watching
        return self.trainable

    def _check(self, value, what: str) -> np.ndarray:
        arr = value._value if isinstance(value, Tensor) else np.asarray(value)
        if arr.shape != self._value.shape:
            try:
                arr = np.broadcast_to(arr, self._value.shape) if arr.ndim == 0 else arr
            except ValueError:
                pass
            if arr.shape != self._value.shape:
                raise ValueError(
                    f"Variable '{self.path}'.{what}: expected a value of shape {self._value.shape}, "
                    f"got shape {arr.shape}")
        return arr

    def assign(self, value, use_locking=None, name=None, read_value=True):
        """Overwrite the value in place; returns the variable."""
        np.copyto(self._value, self._check(value, "assign"), casting="unsafe")
        return self

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        arr = self._check(delta, "assign_add")
        np.add(self._value, arr, out=self._value, casting="unsafe")
        return self

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        arr = self._check(delta, "assign_sub")
        np.subtract(self._value, arr, out=self._value, casting="unsafe")
        return self

    def numpy(self) -> np.ndarray:
        v = self._value.copy()
        return v[()] if v.ndim == 0 else v

    def value(self) -> Tensor:
        """A snapshot of the current value as a plain Tensor."""
        return Tensor._wrap(self._value.copy())

    read_value = value

    def __repr__(self) -> str:
        return (f"<tf.Variable '{self.path}' shape={tuple(self._value.shape)} dtype={self.dtype.name}, "
                f"numpy={np.array2string(self._value, separator=', ')}>")


def _default_dtype_for(value):
    """TF's conversion rule: Python floats -> float32, Python ints -> int32."""
    if isinstance(value, bool):
        return np.bool_
    if isinstance(value, float):
        return np.float32
    if isinstance(value, int):
        return np.int32
    return None


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None) -> Tensor:
    """Turn arrays, lists and scalars into a Tensor (a Tensor passes through).

    Python floats become float32 and Python ints int32, as in TensorFlow; NumPy arrays keep
    their dtype.

    >>> import tapeflow as tf
    >>> tf.convert_to_tensor([1.0, 2.0]).dtype.name
    'float32'
    """
    if isinstance(value, Tensor):
        if dtype is not None and value._value.dtype != B.as_dtype(dtype):
            raise TypeError(
                f"convert_to_tensor: tensor has dtype {value.dtype.name}, requested {B.as_dtype(dtype).name}; "
                "use tf.cast to change a tensor's dtype")
        return value
    if dtype is not None:
        return Tensor._wrap(np.asarray(_unwrap_nested(value), dtype=B.as_dtype(dtype)))
    if isinstance(value, np.ndarray):
        return Tensor._wrap(value)
    if isinstance(value, np.generic):
        return Tensor._wrap(np.asarray(value))
    arr = np.asarray(_unwrap_nested(value))
    if not isinstance(value, (list, tuple)):
        d = _default_dtype_for(value)
        if d is not None:
            return Tensor._wrap(arr.astype(d))
    if dtype_hint is not None and arr.dtype.kind in "fi":
        return Tensor._wrap(arr.astype(B.as_dtype(dtype_hint)))
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    elif arr.dtype == np.int64:
        arr = arr.astype(np.int32)
    return Tensor._wrap(arr)


def _unwrap_nested(value):
    if isinstance(value, Tensor):
        return value._value
    if isinstance(value, (list, tuple)) and any(isinstance(v, (Tensor, list, tuple)) for v in value):
        return [_unwrap_nested(v) for v in value]
    return value


def constant(value, dtype=None, shape=None, name=None) -> Tensor:
    """A constant tensor, as ``tf.constant`` (``shape`` broadcasts a scalar or reshapes).

    >>> import tapeflow as tf
    >>> tf.constant(0.0, shape=(2,)).numpy().tolist()
    [0.0, 0.0]
    """
    if isinstance(value, Tensor):
        t = value if dtype is None else Tensor._wrap(value._value.astype(B.as_dtype(dtype)))
        t = Tensor._wrap(t._value.copy()) if t is value else t
    else:
        t = convert_to_tensor(value, dtype=dtype)
        if isinstance(value, np.ndarray) and t._value is value:
            t = Tensor._wrap(value.copy())
    if shape is not None:
        shape = tuple(int(s) for s in shape)
        v = t._value
        if v.size == 1:
            return Tensor._wrap(np.full(shape, v.reshape(()), dtype=v.dtype))
        if v.size != int(np.prod(shape)):
            raise ValueError(f"constant: cannot reshape a value with {v.size} elements to shape {shape}")
        return Tensor._wrap(v.reshape(shape))
    return t


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)
