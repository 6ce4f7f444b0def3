"""Regression, probabilistic and hinge metrics: running means of per-sample errors.

The common regression errors are computed in NumPy; the others reuse the loss functions (on
inputs no tape watches), so a metric named after a loss reports exactly that loss's value.
"""
from __future__ import annotations

import numpy as np

from .. import losses as L
from ..losses.loss import EPSILON, squeeze_or_expand_to_same_rank
from .base import Mean, MeanMetricWrapper, divide_no_nan, samplewise, to_numpy


def _pair(y_true, y_pred, who: str):
    p = to_numpy(y_pred, np.float64)
    t = to_numpy(y_true, np.float64)
    t, p = squeeze_or_expand_to_same_rank(t, p)
    if t.shape != p.shape:
        raise ValueError(f"{who}: y_true and y_pred must have the same shape; received y_true.shape={t.shape}, "
                         f"y_pred.shape={p.shape}")
    return t, p


def squared_error(y_true, y_pred) -> np.ndarray:
    """Per-sample mean squared error (NumPy)."""
    t, p = _pair(y_true, y_pred, "mean_squared_error")
    return np.mean(np.square(t - p), axis=-1)


def absolute_error(y_true, y_pred) -> np.ndarray:
    """Per-sample mean absolute error (NumPy)."""
    t, p = _pair(y_true, y_pred, "mean_absolute_error")
    return np.mean(np.abs(t - p), axis=-1)


def absolute_percentage_error(y_true, y_pred) -> np.ndarray:
    """Per-sample mean absolute percentage error (NumPy)."""
    t, p = _pair(y_true, y_pred, "mean_absolute_percentage_error")
    return 100.0 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), EPSILON)), axis=-1)


class MeanSquaredError(MeanMetricWrapper):
    """Running mean of mean((y_true - y_pred)**2).

    >>> from tapeflow.keras import metrics
    >>> float(metrics.MeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]]))
    0.25
    """

    _direction = "down"

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Running mean of mean(|y_true - y_pred|).

    >>> from tapeflow.keras import metrics
    >>> float(metrics.MeanAbsoluteError()([[0, 1], [0, 0]], [[1, 1], [0, 0]]))
    0.25
    """

    _direction = "down"

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Running mean of 100 * mean(|(y_true - y_pred) / y_true|).

    >>> from tapeflow.keras import metrics
    >>> float(metrics.MeanAbsolutePercentageError()([[2.0, 4.0]], [[1.0, 4.0]]))
    25.0
    """

    _direction = "down"

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(absolute_percentage_error, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """sqrt of the running mean of (y_true - y_pred)**2.

    >>> from tapeflow.keras import metrics
    >>> float(metrics.RootMeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]]))
    0.5
    """

    _direction = "down"

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        t, p = _pair(y_true, y_pred, self.name)
        v, w = samplewise(np.square(p - t), sample_weight, np.mean, self.name)
        self.total._value[...] += v.sum()
        self.count._value[...] += w.sum() if w is not None else (v.shape[0] if v.ndim else 1)

    def result(self):
        return self._scalar(np.sqrt(divide_no_nan(self.total._value, self.count._value)))


def _make(cls_name: str, loss_fn, default_name: str, direction: str, doc: str, defaults=None):
    """A MeanMetricWrapper class over a loss function, with Keras's metric arguments."""
    defaults = dict(defaults or {})

    def __init__(self, name=default_name, dtype=None, **kwargs):
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{cls_name}: unexpected arguments {sorted(unknown)}; accepted: {sorted(defaults)}")
        kw = {**defaults, **kwargs}
        MeanMetricWrapper.__init__(self, loss_fn, name=name, dtype=dtype, **kw)
        for k, v in kw.items():
            setattr(self, k, v)

    return type(cls_name, (MeanMetricWrapper,),
                {"__init__": __init__, "_direction": direction, "__doc__": doc, "__module__": __name__})


def _cosine(y_true, y_pred, axis=-1):
    return -to_numpy(L.cosine_similarity(y_true, y_pred, axis=axis))


MeanSquaredLogarithmicError = _make(
    "MeanSquaredLogarithmicError", L.mean_squared_logarithmic_error, "mean_squared_logarithmic_error", "down",
    "Running mean of mean((log(y_true + 1) - log(y_pred + 1))**2).")
LogCoshError = _make("LogCoshError", L.log_cosh, "logcosh", "down",
                     "Running mean of mean(log(cosh(y_pred - y_true))).")
CosineSimilarity = _make("CosineSimilarity", _cosine, "cosine_similarity", "up",
                         "Running mean of the cosine similarity (1 for aligned vectors).", {"axis": -1})
BinaryCrossentropy = _make(
    "BinaryCrossentropy", L.binary_crossentropy, "binary_crossentropy", "down",
    "Running mean of the binary cross-entropy (``from_logits``, ``label_smoothing`` as the loss).",
    {"from_logits": False, "label_smoothing": 0.0})
CategoricalCrossentropy = _make(
    "CategoricalCrossentropy", L.categorical_crossentropy, "categorical_crossentropy", "down",
    "Running mean of the categorical cross-entropy (one-hot labels).",
    {"from_logits": False, "label_smoothing": 0.0, "axis": -1})
SparseCategoricalCrossentropy = _make(
    "SparseCategoricalCrossentropy", L.sparse_categorical_crossentropy, "sparse_categorical_crossentropy", "down",
    "Running mean of the sparse categorical cross-entropy (integer labels).",
    {"from_logits": False, "axis": -1})
KLDivergence = _make("KLDivergence", L.kl_divergence, "kl_divergence", "down",
                     "Running mean of sum(y_true * log(y_true / y_pred)).")
Poisson = _make("Poisson", L.poisson, "poisson", "down", "Running mean of mean(y_pred - y_true * log(y_pred)).")
Hinge = _make("Hinge", L.hinge, "hinge", "down", "Running mean of the hinge loss.")
SquaredHinge = _make("SquaredHinge", L.squared_hinge, "squared_hinge", "down",
                     "Running mean of the squared hinge loss.")
CategoricalHinge = _make("CategoricalHinge", L.categorical_hinge, "categorical_hinge", "down",
                         "Running mean of the categorical hinge loss.")
