"""The ``Loss`` base class: dtype handling, masks, sample weights and reduction (Keras 3 rules).

A loss is ``call(y_true, y_pred) -> per-sample values`` (a differentiable tapeflow Tensor);
``Loss.__call__`` then weights and reduces those values:

* ``sample_weight`` of shape ``(batch,)``, ``(batch, 1)``, the values' shape, or anything whose
  leading axes match the values (per-sample weights broadcast over trailing axes such as
  timesteps); a scalar scales everything.
* reduction ``"sum_over_batch_size"`` (default, also ``"mean"``/``"auto"``): sum of the weighted
  values divided by their number of entries (not by the sum of the weights, as Keras);
  ``"sum"``; ``"mean_with_sample_weight"``: divided by the sum of the weights; ``None``/``"none"``:
  no reduction.
* a mask (``y_pred._keras_mask``, or the mask a loss puts on its values, e.g. ``ignore_class``)
  zeroes entries and, for the mean reductions, divides by the number of valid entries.
"""
from __future__ import annotations

import re

import numpy as np

from ... import backend as B
from ...autodiff.tensor import Tensor, convert_to_tensor
from ...ops import array_ops as A
from ...ops import math_ops as M
from ...ops import reduce_ops as R

EPSILON = 1e-7  # keras.backend.epsilon()

REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")


class Reduction:
    """tf.keras 2 spelling of the reduction names (``tf.keras.losses.Reduction.NONE``...)."""

    AUTO = "auto"
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"

    @classmethod
    def all(cls) -> tuple:
        return (cls.AUTO, cls.NONE, cls.SUM, cls.SUM_OVER_BATCH_SIZE)


def standardize_reduction(reduction):
    """Validate a reduction name; ``"auto"`` (tf.keras 2) means ``"sum_over_batch_size"``."""
    if reduction == "auto":
        return "sum_over_batch_size"
    if reduction not in REDUCTIONS:
        raise ValueError(
            "Invalid value for argument `reduction`. Expected one of "
            f"{set(REDUCTIONS)}. Received: reduction={reduction}")
    return reduction


def _snake(name: str) -> str:
    """Keras's to_snake_case: ``AUC`` -> ``auc``, ``MeanSquaredError`` -> ``mean_squared_error``."""
    name = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


# -- tensor helpers shared by the loss functions --------------------------------------------
def np_value(x) -> np.ndarray:
    """The NumPy array behind a Tensor, or ``np.asarray(x)``."""
    return x._value if isinstance(x, Tensor) else np.asarray(x)


def as_pred(y_pred, dtype=None) -> Tensor:
    """``y_pred`` as a float Tensor (of ``dtype`` when given), keeping ``_keras_logits``."""
    if isinstance(y_pred, Tensor):
        v = y_pred._value
        want = B.as_dtype(dtype) if dtype is not None else (v.dtype if v.dtype.kind == "f" else B.as_dtype(None))
        if v.dtype == want:
            return y_pred
        out = A.cast(y_pred, want) if v.dtype.kind == "f" else Tensor._wrap(v.astype(want))
        logits = getattr(y_pred, "_keras_logits", None)
        if logits is not None:
            out._keras_logits = as_pred(logits, want)
        out._keras_mask = y_pred._keras_mask
        return out
    t = convert_to_tensor(y_pred)
    if dtype is not None or t._value.dtype.kind != "f":
        t = Tensor._wrap(t._value.astype(B.as_dtype(dtype)))
    return t


def as_true(y_true, like: Tensor) -> Tensor:
    """``y_true`` cast to ``like``'s dtype (differentiably when it is a float Tensor)."""
    dt = like._value.dtype
    if isinstance(y_true, Tensor):
        v = y_true._value
        if v.dtype == dt:
            return y_true
        return A.cast(y_true, dt) if v.dtype.kind == "f" else Tensor._wrap(v.astype(dt))
    return Tensor._wrap(np.asarray(y_true, dtype=dt))


def _reshape(x, shape):
    return A.reshape(x, shape) if isinstance(x, Tensor) else np.reshape(x, shape)


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1: bool = True):
    """Keras's rank fix-up: when ranks differ by one and the longer one ends in 1, squeeze it
    (or, for a rank-1 partner, expand that partner). Works on Tensors and arrays."""
    s1, s2 = tuple(x1.shape), tuple(x2.shape)
    if len(s1) == len(s2) + 1 and s1[-1] == 1:
        if len(s2) == 1 and expand_rank_1:
            x2 = _reshape(x2, s2 + (1,))
        else:
            x1 = _reshape(x1, s1[:-1])
    elif len(s2) == len(s1) + 1 and s2[-1] == 1:
        if len(s1) == 1 and expand_rank_1:
            x1 = _reshape(x1, s1 + (1,))
        else:
            x2 = _reshape(x2, s2[:-1])
    return x1, x2


def align_weights(weights: np.ndarray, shape: tuple, who: str) -> np.ndarray:
    """Fit per-sample (or per-entry) weights to ``shape``: squeeze a trailing 1, append axes
    so leading axes line up, then check that it broadcasts. Raises a ValueError naming ``who``."""
    w = weights
    if w.ndim == 0 or w.shape == shape:
        return w
    if w.ndim == len(shape) + 1 and w.shape[-1] == 1:
        w = w.reshape(w.shape[:-1])
    if w.ndim < len(shape):
        w = w.reshape(w.shape + (1,) * (len(shape) - w.ndim))
    try:
        if np.broadcast_shapes(w.shape, shape) == tuple(shape):
            return w
    except ValueError:
        pass
    raise ValueError(
        f"{who}: sample_weight of shape {weights.shape} does not fit the per-sample values of shape "
        f"{tuple(shape)}; pass one weight per sample (shape ({shape[0] if shape else ''},)) "
        "or weights of the values' shape")


def reduce_values(values: Tensor, reduction, weights: np.ndarray | None = None) -> Tensor:
    """Reduce already-weighted ``values`` according to ``reduction``."""
    if reduction is None or reduction == "none" or values._value.ndim == 0:
        return values
    if values._value.size == 0:
        return Tensor._wrap(np.zeros((), dtype=values._value.dtype))
    if reduction == "sum":
        return R.reduce_sum(values)
    if reduction == "mean_with_sample_weight" and weights is not None:
        total = float(np.sum(weights))
        s = R.reduce_sum(values)
        return M.multiply(s, 0.0) if total == 0 else M.divide(s, total)
    return R.reduce_mean(values)  # sum / number of entries in one op


def reduce_weighted_values(values: Tensor, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", who: str = "loss") -> Tensor:
    """Apply ``mask`` and ``sample_weight`` to per-sample ``values`` and reduce them."""
    reduction = standardize_reduction(reduction)
    dt = values._value.dtype
    shape = values._value.shape
    w = None
    if sample_weight is not None:
        w = np.asarray(np_value(sample_weight), dtype=dt)
    if mask is not None:
        m = align_weights(np.asarray(np_value(mask), dtype=dt), shape, who)
        if reduction in ("mean", "sum_over_batch_size"):
            valid = float(np.sum(np.broadcast_to(m, shape)))
            m = m * (float(np.prod(shape)) / valid if valid else 0.0)
        w = m if w is None else align_weights(w, shape, who) * m
    if w is not None:
        if w.ndim == 0:
            if float(w) != 1.0:
                values = M.multiply(values, float(w))
        else:
            w = align_weights(w, shape, who)
            values = M.multiply(values, Tensor._wrap(w))
    return reduce_values(values, reduction, w)


class Loss:
    """Base class of losses: subclass and implement ``call(y_true, y_pred)``.

    ``__call__(y_true, y_pred, sample_weight=None)`` returns a differentiable scalar Tensor
    (or the per-sample values when ``reduction=None``).

    >>> import tapeflow as tf
    >>> from tapeflow.keras.losses import Loss
    >>> class MyMSE(Loss):
    ...     def call(self, y_true, y_pred):
    ...         return tf.reduce_mean(tf.square(y_pred - y_true), axis=-1)
    >>> float(MyMSE()([[0.0, 1.0]], [[1.0, 1.0]]))
    0.5
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or _snake(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype = B.as_dtype(dtype).name

    @property
    def dtype(self) -> str:
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        in_mask = getattr(y_pred, "_keras_mask", None)
        y_pred = as_pred(y_pred, self._dtype)
        values = self.call(y_true, y_pred)
        if not isinstance(values, Tensor):
            values = convert_to_tensor(values)
        out_mask = getattr(values, "_keras_mask", None)
        if in_mask is not None and out_mask is not None:
            mask = np.logical_and(np_value(in_mask), np_value(out_mask))
        else:
            mask = in_mask if in_mask is not None else out_mask
        return reduce_weighted_values(values, sample_weight, mask, self.reduction, who=self.name)

    def call(self, y_true, y_pred) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


class LossFunctionWrapper(Loss):
    """Turn a loss function ``fn(y_true, y_pred, **kwargs) -> per-sample values`` into a Loss.

    >>> from tapeflow.keras import losses
    >>> loss = losses.LossFunctionWrapper(losses.mean_absolute_error, name="mae")
    >>> float(loss([[0.0, 2.0]], [[1.0, 1.0]]))
    1.0
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred) -> Tensor:
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        if type(self) is LossFunctionWrapper:
            config["fn"] = getattr(self.fn, "__name__", str(self.fn))
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        if cls is LossFunctionWrapper:
            from . import get  # the registry of known functions; never an import path from a file
            fn = config.pop("fn")
            config["fn"] = get(fn) if isinstance(fn, str) else fn
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}({getattr(self.fn, '__name__', self.fn)}, kwargs={self._fn_kwargs})>"
