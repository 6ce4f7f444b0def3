"""``tf.debugging``: runtime assertions (raising ``tf.errors.InvalidArgumentError`` with the values that failed),
``check_numerics`` and the numerics switch.

``enable_check_numerics()`` makes every op check its output for NaN/Inf as it runs and name the op that produced
the first bad value (``tapeflow/debug/numerics.py``); ``disable_check_numerics()`` turns it off.

>>> import tapeflow as tf
>>> tf.debugging.assert_near(tf.constant([1.0, 2.0]), tf.constant([1.0, 2.0 + 1e-7]))
>>> float(tf.debugging.check_numerics(tf.constant(3.0), "fine"))
3.0
"""
from __future__ import annotations

import numpy as np

from .autodiff.tensor import Tensor, convert_to_tensor
from .errors import InvalidArgumentError
from .framework import Assert  # noqa: F401


def _v(x) -> np.ndarray:
    return np.asarray(x._value if isinstance(x, Tensor) else x)


def _fail(message, default: str, *values) -> None:
    shown = "; ".join(f"{np.array2string(v, threshold=10)}" for v in values)
    raise InvalidArgumentError(None, None, f"{message + ': ' if message else ''}{default}" +
                               (f" (values: {shown})" if shown else ""))


def _binary(fn, words: str, name: str):
    def check(x, y, message=None, summarize=None, name=None) -> None:
        a, b = _v(x), _v(y)
        if not np.all(fn(a, b)):
            _fail(message, f"Condition x {words} y did not hold element-wise", a, b)
    check.__name__ = name
    check.__doc__ = f"Raise ``InvalidArgumentError`` unless ``x {words} y`` everywhere."
    return check


assert_equal = _binary(np.equal, "==", "assert_equal")
assert_none_equal = _binary(np.not_equal, "!=", "assert_none_equal")
assert_less = _binary(np.less, "<", "assert_less")
assert_less_equal = _binary(np.less_equal, "<=", "assert_less_equal")
assert_greater = _binary(np.greater, ">", "assert_greater")
assert_greater_equal = _binary(np.greater_equal, ">=", "assert_greater_equal")


def _unary(fn, words: str, name: str):
    def check(x, message=None, summarize=None, name=None) -> None:
        a = _v(x)
        if not np.all(fn(a)):
            _fail(message, f"x {words} did not hold element-wise", a)
    check.__name__ = name
    check.__doc__ = f"Raise ``InvalidArgumentError`` unless ``x {words}`` everywhere."
    return check


assert_positive = _unary(lambda a: a > 0, "> 0", "assert_positive")
assert_negative = _unary(lambda a: a < 0, "< 0", "assert_negative")
assert_non_negative = _unary(lambda a: a >= 0, ">= 0", "assert_non_negative")
assert_non_positive = _unary(lambda a: a <= 0, "<= 0", "assert_non_positive")


def assert_near(x, y, rtol=None, atol=None, message=None, summarize=None, name=None) -> None:
    """``|x - y| <= atol + rtol * |y|`` everywhere (defaults: 10 * eps of the dtype, as TensorFlow)."""
    a, b = _v(x), _v(y)
    eps = np.finfo(a.dtype).eps if a.dtype.kind == "f" else 0.0
    rtol = 10 * eps if rtol is None else rtol
    atol = 10 * eps if atol is None else atol
    if not np.all(np.abs(a - b) <= atol + rtol * np.abs(b)):
        _fail(message, f"x and y not equal to tolerance rtol = {rtol}, atol = {atol}", a, b)


def assert_all_finite(t, msg, name=None, x=None, message=None) -> Tensor:
    t = convert_to_tensor(x if x is not None else t)
    if not np.all(np.isfinite(t._value)):
        _fail(msg or message, "Tensor had NaN or Inf values")
    return t


def check_numerics(tensor, message, name=None) -> Tensor:
    """``tensor`` unchanged, after raising ``InvalidArgumentError`` if it holds a NaN or an Inf."""
    t = convert_to_tensor(tensor)
    v = t._value
    if v.dtype.kind in "fc" and not np.all(np.isfinite(v)):
        kind = "NaN" if np.isnan(v).any() else "Inf"
        raise InvalidArgumentError(None, None, f"{message} : Tensor had {kind} values")
    return t


def assert_rank(x, rank, message=None, name=None) -> None:
    if np.ndim(_v(x)) != int(rank):
        _fail(message, f"Tensor must have rank {int(rank)}, got rank {np.ndim(_v(x))}")


def assert_rank_at_least(x, rank, message=None, name=None) -> None:
    if np.ndim(_v(x)) < int(rank):
        _fail(message, f"Tensor must have rank at least {int(rank)}, got rank {np.ndim(_v(x))}")


def assert_rank_in(x, ranks, message=None, name=None) -> None:
    if np.ndim(_v(x)) not in [int(r) for r in ranks]:
        _fail(message, f"Tensor must have rank in {list(ranks)}, got rank {np.ndim(_v(x))}")


def assert_scalar(tensor, message=None, name=None) -> None:
    assert_rank(tensor, 0, message)


def assert_integer(x, message=None, name=None) -> None:
    if _v(x).dtype.kind not in "iu":
        raise TypeError(f"{message + ': ' if message else ''}Expected an integer tensor, got dtype {_v(x).dtype}")


def assert_type(tensor, tf_type, message=None, name=None) -> None:
    want = np.dtype(getattr(tf_type, "as_numpy_dtype", tf_type))
    if _v(tensor).dtype != want:
        raise TypeError(f"{message + ': ' if message else ''}Expected dtype {want}, got {_v(tensor).dtype}")


def assert_same_float_dtype(tensors=None, dtype=None):
    dtypes = {_v(t).dtype for t in (tensors or [])} | ({np.dtype(dtype)} if dtype is not None else set())
    if len(dtypes) > 1 or any(d.kind != "f" for d in dtypes):
        raise ValueError(f"assert_same_float_dtype: expected one float dtype, got {sorted(map(str, dtypes))}")
    return next(iter(dtypes), np.dtype("float32"))


def assert_shapes(shapes, data=None, summarize=None, message=None, name=None) -> None:
    """Check ``[(tensor, ("N", "D")), ...]``: fixed sizes must match and a symbolic size must be the same
    wherever it appears."""
    bound = {}
    for tensor, spec in shapes:
        shape = np.shape(_v(tensor))
        if len(shape) != len(spec):
            _fail(message, f"Tensor of shape {shape} must have rank {len(spec)} ({tuple(spec)})")
        for dim, want in zip(shape, spec):
            if isinstance(want, str):
                if bound.setdefault(want, dim) != dim:
                    _fail(message, f"Dimension {want!r} is {bound[want]} elsewhere but {dim} in shape {shape}")
            elif want is not None and int(want) != dim:
                _fail(message, f"Expected size {want} but got {dim} in shape {shape}")


def assert_proper_iterable(values) -> None:
    if isinstance(values, (str, bytes, np.ndarray, Tensor)) or not hasattr(values, "__iter__"):
        raise TypeError(f"Expected an iterable of tensors (not a string, array or tensor), got {type(values)}")


def is_numeric_tensor(tensor) -> bool:
    return isinstance(tensor, Tensor) and tensor._value.dtype.kind in "iufcb"


_STATE = {"log_placement": False}


def enable_check_numerics(stack_height_limit=30, path_length_limit=50) -> None:
    """Check every op's output (and gradient) for NaN/Inf from now on, naming the op and layer that made the first
    bad value (``tapeflow/debug/numerics.py``); ``disable_check_numerics`` undoes it."""
    from .debug.numerics import enable_check_numerics as _enable
    _enable(stack_height_limit, path_length_limit)


def disable_check_numerics() -> None:
    from .debug.numerics import disable_check_numerics as _disable
    _disable()


def set_log_device_placement(enabled) -> None:
    """Accepted for compatibility: everything runs on the CPU."""
    _STATE["log_placement"] = bool(enabled)


def get_log_device_placement() -> bool:
    return _STATE["log_placement"]


def enable_traceback_filtering() -> None:
    """Accepted for compatibility."""


def disable_traceback_filtering() -> None:
    """Accepted for compatibility."""


def is_traceback_filtering_enabled() -> bool:
    return False
