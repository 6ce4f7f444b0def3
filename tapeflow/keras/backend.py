"""``keras.backend``: global Keras settings (float type, epsilon, image layout) and name counters.

>>> from tapeflow.keras import backend
>>> backend.floatx(), backend.epsilon(), backend.image_data_format()
('float32', 1e-07, 'channels_last')
"""
from __future__ import annotations

import re

from .. import backend as _B

_EPSILON = [1e-7]
_IMAGE_DATA_FORMAT = ["channels_last"]
_UIDS: dict[str, int] = {}


def floatx() -> str:
    """The default float dtype name, ``"float32"`` unless changed with ``set_floatx``."""
    return _B.floatx()


def set_floatx(value: str) -> None:
    """Set the default float dtype for new layers and weights (float16, float32 or float64)."""
    _B.set_floatx(value)


def epsilon() -> float:
    """The fuzz factor used in numeric expressions (1e-7)."""
    return _EPSILON[0]


def set_epsilon(value: float) -> None:
    _EPSILON[0] = float(value)


def image_data_format() -> str:
    """``"channels_last"`` (the only layout tapeflow's conv layers are tuned for) or ``"channels_first"``."""
    return _IMAGE_DATA_FORMAT[0]


def set_image_data_format(data_format: str) -> None:
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"set_image_data_format: expected 'channels_last' or 'channels_first', got {data_format!r}")
    _IMAGE_DATA_FORMAT[0] = data_format


def standardize_data_format(data_format) -> str:
    if data_format is None:
        return image_data_format()
    data_format = str(data_format).lower()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return data_format


def get_uid(prefix: str = "") -> int:
    """Per-prefix counter: 1, 2, 3... (used for unique layer names)."""
    _UIDS[prefix] = _UIDS.get(prefix, 0) + 1
    return _UIDS[prefix]


def unique_object_name(prefix: str) -> str:
    """``prefix`` the first time, then ``prefix_1``, ``prefix_2``..., as Keras names layers."""
    n = get_uid(prefix)
    return prefix if n == 1 else f"{prefix}_{n - 1}"


def to_snake_case(name: str) -> str:
    """``"GlobalAveragePooling2D"`` -> ``"global_average_pooling2d"``."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()
    return s[1:] if s.startswith("_") else s


def clear_session(free_memory: bool = True) -> None:
    """Reset layer-name counters (the next Dense is named ``dense`` again)."""
    _UIDS.clear()


def backend() -> str:
    return "numpy"


# -- dtypes, as keras.backend with the TensorFlow backend (Python int -> int64, 64-bit types kept) -----------------
_ALLOWED_DTYPES = ("float16", "float32", "float64", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32",
                   "int64", "bfloat16", "bool", "string", "float8_e4m3fn", "float8_e5m2", "complex64", "complex128")
_PYTHON_DTYPES = {bool: "bool", int: "int64", float: "float32", str: "string", "int": "int64", complex: "complex128"}
# Keras's (JAX's) type promotion lattice: each type -> its immediately higher types; "int"/"float" are weak types.
_LATTICE = {"bool": ["int"], "uint8": ["int16", "uint16"], "uint16": ["int32", "uint32"],
            "uint32": ["int64", "uint64"], "uint64": ["float"], "int": ["uint8", "int8", "complex64"],
            "int8": ["int16"], "int16": ["int32"], "int32": ["int64"], "int64": ["float"],
            "float": ["bfloat16", "float16"], "bfloat16": ["float32"], "float16": ["float32"],
            "float32": ["float64", "complex64"], "float64": ["complex128"], "complex64": ["complex128"],
            "complex128": []}


def _upper_bounds() -> dict:
    ub = {n: {n} for n in _LATTICE}
    for n in _LATTICE:
        while True:
            grown = ub[n].union(*(_LATTICE[b] for b in ub[n]))
            if grown == ub[n]:
                break
            ub[n] = grown
    return ub


_UPPER = _upper_bounds()


def standardize_dtype(dtype) -> str:
    """The Keras name of a dtype given as a name, NumPy/tapeflow dtype or Python type (None: ``floatx()``).

    >>> from tapeflow.keras import backend
    >>> backend.standardize_dtype(int), backend.standardize_dtype(float), backend.standardize_dtype("uint8")
    ('int64', 'float32', 'uint8')
    """
    if dtype is None:
        return floatx()
    dtype = _PYTHON_DTYPES.get(dtype, dtype) if isinstance(dtype, (type, str)) else dtype
    if hasattr(dtype, "kind") and getattr(dtype, "kind", None) in ("O", "S", "U"):
        dtype = "string"  # tapeflow's tf.string is NumPy's object dtype
    elif hasattr(dtype, "name"):
        dtype = dtype.name
    elif hasattr(dtype, "__name__"):
        dtype = dtype.__name__
    if dtype not in _ALLOWED_DTYPES:
        raise ValueError(f"Invalid dtype: {dtype}")
    return dtype


def is_float_dtype(dtype) -> bool:
    """True for float16/32/64 and bfloat16 (any form ``standardize_dtype`` accepts)."""
    return standardize_dtype(dtype).startswith(("float", "bfloat"))


def is_int_dtype(dtype) -> bool:
    """True for the signed and unsigned integer dtypes (not bool)."""
    return standardize_dtype(dtype).startswith(("int", "uint"))


def _least_upper_bound(nodes: set) -> str:
    missing = [n for n in nodes if n not in _UPPER]
    if missing:
        raise ValueError(f"dtype={missing[0]!r} is not a valid dtype for Keras type promotion.")
    common = set.intersection(*(_UPPER[n] for n in nodes))
    lub = (common & nodes) or {c for c in common if common.issubset(_UPPER[c])}
    if len(lub) != 1:
        raise ValueError(f"Input dtypes {tuple(sorted(nodes))} have no available implicit dtype promotion path. "
                         "Try explicitly casting inputs to the desired output type.")
    return lub.pop()


def _weak(dtype: str, weak: bool) -> str:
    if not weak or dtype == "bool":
        return dtype
    return "float" if "float" in dtype else "int" if "int" in dtype else "complex"


def result_type(*dtypes) -> str:
    """The dtype Keras's promotion rules give ``dtypes`` (Python ``int``/``float`` are weak types).

    >>> from tapeflow.keras import backend
    >>> backend.result_type("int8", "uint8"), backend.result_type("int32", float), backend.result_type()
    ('int16', 'float32', 'float32')
    """
    if not dtypes:
        return floatx()
    if any(d in ("float8_e4m3fn", "float8_e5m2") for d in dtypes):
        raise ValueError(f"There is no implicit conversions from float8 dtypes to others. Received: {dtypes}")
    pairs = [(standardize_dtype(floatx() if d is None else d), d is int or d is float) for d in dtypes]
    names, weak = [p[0] for p in pairs], [p[1] for p in pairs]
    if len(names) == 1:
        out, out_weak = names[0], weak[0]
    elif len(set(names)) == 1 and not all(weak):
        out, out_weak = names[0], False
    elif all(weak):
        out, out_weak = _least_upper_bound(set(names)), True
    else:
        out = _least_upper_bound({_weak(n, w) for n, w in pairs})
        out_weak = out in ("int", "float")
    if out != "bool" and out_weak:  # a weak type takes floatx()'s precision
        kind = {"i": "int", "u": "uint"}.get(out[0], "float")
        out = f"{kind}{floatx()[-2:]}"
    return {"uint64": "uint32", "complex128": "complex64"}.get(out, out)


def is_keras_tensor(x) -> bool:
    """True for the symbolic tensors of the functional API (``keras.Input(...)``), not for eager tensors."""
    from .models.keras_tensor import is_keras_tensor as _is
    return _is(x)


def __getattr__(name):
    """tf.keras 2's backend functions (``K.mean``, ``K.random_normal``, ``K.int_shape``...), loaded on first use."""
    import importlib
    legacy = importlib.import_module(".ops.legacy_backend", __package__)
    if name in legacy.NAMES:
        value = getattr(legacy, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tapeflow.keras.backend' has no attribute {name!r}")
