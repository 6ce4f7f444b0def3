"""Element structures: ``TensorSpec``, nesting helpers and value conversion for ``tapeflow.data``.

Inside the pipeline an element travels as a *flat tuple of NumPy arrays*; its nesting (tuples,
namedtuples, dicts) lives once in the dataset's ``element_spec``. Tensors are made only where
user code sees an element (``iter``, the functions given to ``map``/``filter``/``reduce``), so
the common path costs no per-component Python objects beyond the arrays themselves.
"""
from __future__ import annotations

import numpy as np

from .. import backend as B
from ..autodiff.tensor import Tensor, TensorShape, convert_to_tensor


class TensorSpec:
    """The shape and dtype of one tensor component, as ``tf.TensorSpec`` (``None`` = unknown size).

    >>> import numpy as np
    >>> from tapeflow.data import TensorSpec
    >>> s = TensorSpec((None, 28), "float32")
    >>> s.shape.as_list(), s.dtype.name, s.is_compatible_with(np.zeros((5, 28), np.float32))
    ([None, 28], 'float32', True)
    """

    __slots__ = ("shape", "dtype", "name")

    def __init__(self, shape=None, dtype="float32", name=None):
        if isinstance(shape, (int, np.integer)):
            shape = (int(shape),)
        self.shape = None if shape is None else TensorShape(None if d is None or int(d) < 0 else int(d)
                                                            for d in shape)
        self.dtype = np.dtype(object) if dtype in ("string", str, bytes) else B.as_dtype(dtype)
        self.name = name

    @classmethod
    def from_tensor(cls, tensor, name=None) -> "TensorSpec":
        """The spec of a concrete value."""
        a = _as_array(tensor)
        return cls(a.shape, a.dtype, name)

    def is_compatible_with(self, value) -> bool:
        """True if ``value`` (a spec, Tensor or array) fits this spec's dtype and known dimensions."""
        shape = value.shape if isinstance(value, TensorSpec) else _as_array(value).shape
        dtype = value.dtype if isinstance(value, TensorSpec) else _as_array(value).dtype
        return dtype == self.dtype and _shapes_compatible(self.shape, shape)

    def most_specific_compatible_type(self, other: "TensorSpec") -> "TensorSpec":
        """A spec covering both (dimensions that differ become ``None``)."""
        if self.shape is None or other.shape is None or len(self.shape) != len(other.shape):
            return TensorSpec(None, self.dtype)
        return TensorSpec([a if a == b else None for a, b in zip(self.shape, other.shape)], self.dtype)

    def __eq__(self, other) -> bool:
        return (isinstance(other, TensorSpec) and self.dtype == other.dtype
                and (None if self.shape is None else tuple(self.shape))
                == (None if other.shape is None else tuple(other.shape)))

    def __hash__(self) -> int:
        return hash((None if self.shape is None else tuple(self.shape), self.dtype))

    def __repr__(self) -> str:
        shape = "None" if self.shape is None else str(tuple(self.shape))
        return f"TensorSpec(shape={shape}, dtype=tf.{self.dtype.name}, name={self.name!r})"


def _shapes_compatible(spec_shape, shape) -> bool:
    if spec_shape is None:
        return True
    if len(spec_shape) != len(shape):
        return False
    return all(a is None or b is None or a == b for a, b in zip(spec_shape, shape))


# -- nesting ---------------------------------------------------------------------------------
def is_nested(s) -> bool:
    return isinstance(s, (tuple, dict))


def flatten(s) -> list:
    """Leaves of tuples/namedtuples/dicts (dict keys in sorted order, as tf.nest)."""
    if isinstance(s, dict):
        return [x for k in sorted(s) for x in flatten(s[k])]
    if isinstance(s, tuple):
        return [x for v in s for x in flatten(v)]
    return [s]


def pack_as(structure, flat):
    """Rebuild ``structure``'s nesting from a flat sequence of leaves."""
    return _pack(structure, iter(flat))


def _pack(s, it):  # (not a self-calling closure: that cycle would hold each batch until the GC ran)
    if isinstance(s, dict):
        built = {k: _pack(s[k], it) for k in sorted(s)}
        return {k: built[k] for k in s}
    if isinstance(s, tuple):
        items = [_pack(v, it) for v in s]
        return type(s)(*items) if hasattr(s, "_fields") else tuple(items)
    return next(it)


def map_structure(fn, s):
    if isinstance(s, dict):
        return {k: map_structure(fn, v) for k, v in s.items()}
    if isinstance(s, tuple):
        items = [map_structure(fn, v) for v in s]
        return type(s)(*items) if hasattr(s, "_fields") else tuple(items)
    return fn(s)


def same_structure(a, b) -> bool:
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and set(a) == set(b)
                and all(same_structure(a[k], b[k]) for k in a))
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                and all(same_structure(x, y) for x, y in zip(a, b)))
    return True


def normalize(value):
    """User values -> tuples/dicts of leaves; lists become tuples only at the top of a map result."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return map_structure(lambda v: v, value) if hasattr(value, "_fields") else tuple(normalize(v) for v in value)
    return value


# -- values ------------------------------------------------------------------------------------
def _as_array(value) -> np.ndarray:
    if isinstance(value, Tensor):
        # a Variable's buffer changes in place: snapshot it, as TF reads a variable's value
        return np.array(value._value) if value._is_variable else np.asarray(value._value)
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (str, bytes)):
        return np.asarray(value, dtype=object)
    return np.asarray(convert_to_tensor(value)._value)


def to_array(value, spec: TensorSpec | None = None, what: str = "Dataset") -> np.ndarray:
    """One leaf as a NumPy array, cast to ``spec.dtype`` when a spec is given (TF's conversion rules)."""
    if spec is not None and not isinstance(value, (Tensor, np.ndarray)):
        arr = np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=spec.dtype)
    else:
        arr = _as_array(value)
        if spec is not None and arr.dtype != spec.dtype:
            if arr.dtype.kind in "fc" and spec.dtype.kind in "iub":
                raise TypeError(f"{what}: got a value of dtype {arr.dtype.name} where the spec says "
                                f"{spec.dtype.name}; cast it explicitly (tf.cast) if that is intended")
            arr = arr.astype(spec.dtype)
    if spec is not None and not _shapes_compatible(spec.shape, arr.shape):
        raise ValueError(f"{what}: got a value of shape {arr.shape}, which does not match the declared "
                         f"shape {tuple(spec.shape)} (None = any size)")
    return arr


def wrap(arr: np.ndarray) -> Tensor:
    return Tensor._wrap(arr)


def to_user(spec, flat):
    """A flat tuple of arrays -> the nested structure of Tensors that user code sees."""
    return packer(spec)(flat)


def packer(spec):
    """A fast function turning a flat tuple of arrays into ``spec``'s nesting of Tensors."""
    wrap_ = Tensor._wrap
    if not isinstance(spec, (tuple, dict)):
        return lambda flat: wrap_(flat[0])
    if type(spec) is tuple and not any(isinstance(s, (tuple, dict)) for s in spec):
        return lambda flat: tuple([wrap_(a) for a in flat])
    return lambda flat: pack_as(spec, [wrap_(a) for a in flat])


def from_user(value, what: str, need_spec: bool = True):
    """What a user function returned -> (structure of specs or None, flat tuple of arrays)."""
    if not need_spec and type(value) is tuple:  # the common case: a flat tuple of Tensors/arrays
        try:
            return None, tuple([v._value if type(v) is Tensor else _as_array(v) for v in value])
        except Exception:  # noqa: BLE001 - fall back to the checked path for the error message
            pass
    if isinstance(value, list):
        value = tuple(value)  # tf.data turns a returned list into a tuple
    value = normalize(value)
    leaves = flatten(value)
    flat = []
    for leaf in leaves:
        if leaf is None:
            raise TypeError(f"{what}: the function returned None as (part of) an element; "
                            "return Tensors, arrays or numbers")
        try:
            flat.append(_as_array(leaf))
        except Exception as e:  # noqa: BLE001 - name the op and the offending type
            raise TypeError(f"{what}: could not convert a returned {type(leaf).__name__} to a tensor") from e
    if not need_spec:
        return None, tuple(flat)
    spec = pack_as(value, [TensorSpec(a.shape, a.dtype) for a in flat])
    return spec, tuple(flat)


def spec_of(structure_of_arrays):
    return map_structure(lambda a: TensorSpec(a.shape, a.dtype), structure_of_arrays)


def relax(spec_a, spec_b, what: str):
    """Most specific spec covering both element specs; dtype or nesting mismatches are errors."""
    if not same_structure(spec_a, spec_b):
        raise TypeError(f"{what}: the datasets have different element structures: {spec_a} vs {spec_b}")
    fa, fb = flatten(spec_a), flatten(spec_b)
    out = []
    for a, b in zip(fa, fb):
        if a.dtype != b.dtype:
            raise TypeError(f"{what}: component dtypes differ ({a.dtype.name} vs {b.dtype.name}); "
                            "cast one side with map(lambda ...: tf.cast(...)) first")
        out.append(a.most_specific_compatible_type(b))
    return pack_as(spec_a, out)


def numpy_leaf(arr: np.ndarray):
    """As ``as_numpy_iterator`` yields leaves: 0-d arrays become NumPy scalars."""
    return arr[()] if arr.ndim == 0 else arr
