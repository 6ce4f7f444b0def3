"""Keras 3 metrics: IoU family, R2Score, Pearson / concordance correlation, and the
"X at fixed Y" threshold metrics (PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity,
SpecificityAtSensitivity), with Keras's names, arguments, defaults, configs and numbers.

IoU metrics accumulate a (num_classes, num_classes) confusion matrix with one weighted ``bincount``
per batch; the threshold metrics reuse ``confusion_counts`` from ``confusion.py``.

>>> from tapeflow.keras import metrics
>>> m = metrics.MeanIoU(num_classes=2)
>>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1]); round(float(m.result()), 4)
0.3333
>>> round(float(metrics.R2Score()([[1.0], [2.0], [3.0]], [[1.0], [2.0], [4.0]])), 4)
0.5
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from ...autodiff.tensor import Tensor
from ...ops import math_ops as M
from ...ops import reduce_ops as R
from ..losses.loss import EPSILON, as_pred, as_true, squeeze_or_expand_to_same_rank
from .base import Metric, MeanMetricWrapper, divide_no_nan, to_numpy
from .confusion import _prepare, confusion_counts


def _check_int(value, who: str, arg: str, low: int = 0):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < low:
        raise ValueError(f"{who}: argument `{arg}` must be an integer >= {low}; received {arg}={value!r}")
    return int(value)


# -- Intersection over union ------------------------------------------------------------------------
class _IoUBase(Metric):
    """Accumulates the weighted confusion matrix (rows: true class, columns: predicted class).

    Keras's default ``dtype`` is an integer one: the matrix and the weights are integers, so float
    weights are truncated (``0.5`` counts as 0); pass ``dtype="float32"`` to keep fractional weights.
    Labels outside [0, num_classes) and ``ignore_class`` are left out.
    """

    _direction = "up"

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(name=name, dtype=None)
        who = self.name
        self.num_classes = _check_int(num_classes, who, "num_classes", 1)
        self._count_dtype = np.dtype("int64" if dtype is None or dtype == "int" else dtype)
        if self._count_dtype.kind not in "iuf":
            raise ValueError(f"{who}: argument `dtype` must be an integer or float dtype; received dtype={dtype!r}")
        self.ignore_class = None if ignore_class is None else _check_int(ignore_class, who, "ignore_class", -2**62)
        self.sparse_y_true = bool(sparse_y_true)
        self.sparse_y_pred = bool(sparse_y_pred)
        self.axis = _check_int(axis, who, "axis", -2**31)
        self.total_cm = self.add_variable((self.num_classes, self.num_classes), name="total_confusion_matrix")

    @property
    def dtype(self) -> str:
        return self._count_dtype.name

    def _labels(self, values, sparse: bool, arg: str) -> np.ndarray:
        v = to_numpy(values)
        if not sparse:
            if v.ndim == 0:
                raise ValueError(f"{self.name}: dense `{arg}` needs a class axis; received a scalar")
            v = np.argmax(v, axis=self.axis)
        v = np.asarray(v)
        if v.dtype.kind == "f":
            v = np.trunc(np.nan_to_num(v, nan=-1.0))
        return v.astype(np.int64).reshape(-1)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        t = self._labels(y_true, self.sparse_y_true, "y_true")
        p = self._labels(y_pred, self.sparse_y_pred, "y_pred")
        if t.size != p.size:
            raise ValueError(f"{self.name}: y_true and y_pred must hold the same number of labels; received "
                             f"{t.size} and {p.size}")
        w = np.ones(t.shape)
        if sample_weight is not None:
            sw = to_numpy(sample_weight, np.float64)
            if self._count_dtype.kind in "iu":
                sw = np.trunc(sw)
            sw = sw.reshape(-1) if sw.ndim > 1 else sw
            try:
                w = np.broadcast_to(sw, t.shape).astype(np.float64)
            except ValueError:
                raise ValueError(f"{self.name}: sample_weight of shape {to_numpy(sample_weight).shape} does not "
                                 f"broadcast to the {t.size} labels") from None
        n = self.num_classes
        keep = (t >= 0) & (t < n) & (p >= 0) & (p < n)
        if self.ignore_class is not None:
            keep &= t != self.ignore_class
        cm = np.bincount(t[keep] * n + p[keep], weights=w[keep], minlength=n * n).reshape(n, n)
        self.total_cm._value[...] += cm

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class IoU(_IoUBase):
    """Mean intersection-over-union, tp / (tp + fp + fn), over the classes in ``target_class_ids``
    (classes that never occur in y_true or y_pred are left out of the mean).

    >>> from tapeflow.keras import metrics
    >>> m = metrics.IoU(num_classes=2, target_class_ids=[0])
    >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1]); round(float(m.result()), 4)
    0.3333
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes=num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        ids = list(target_class_ids) if isinstance(target_class_ids, (list, tuple, np.ndarray)) else None
        if not ids or any(isinstance(i, bool) or not isinstance(i, numbers.Integral) for i in ids):
            raise ValueError(f"{self.name}: argument `target_class_ids` must be a non-empty list or tuple of ints; "
                             f"received target_class_ids={target_class_ids!r}")
        if max(ids) >= self.num_classes or min(ids) < 0:
            raise ValueError(f"{self.name}: target class ids {ids} are out of range [0, {self.num_classes})")
        self.target_class_ids = [int(i) for i in ids]

    def result(self) -> Tensor:
        cm = self.total_cm._value
        tp = np.diag(cm)
        denom = (cm.sum(axis=0) + cm.sum(axis=1) - tp)[self.target_class_ids]
        tp = tp[self.target_class_ids]
        valid = denom > 1e-9
        iou = np.where(valid, tp / (denom + EPSILON), 0.0)
        return self._scalar(iou.sum() / (valid.sum() + EPSILON))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                       "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                       "sparse_y_pred": self.sparse_y_pred, "axis": self.axis})
        return config


class BinaryIoU(IoU):
    """IoU of classes 0 and/or 1 after thresholding: ``y_pred >= threshold`` is class 1.

    >>> from tapeflow.keras import metrics
    >>> m = metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    >>> m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7]); round(float(m.result()), 4)
    0.3333
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
            raise ValueError(f"{self.name}: argument `threshold` must be a real number; received "
                             f"threshold={threshold!r}")
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        p = (to_numpy(y_pred, np.float32) >= np.float32(self.threshold)).astype(np.int64)
        super().update_state(y_true, p, sample_weight)

    def get_config(self) -> dict:
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}


class MeanIoU(IoU):
    """Mean of the per-class IoUs over all ``num_classes`` classes.

    >>> from tapeflow.keras import metrics
    >>> m = metrics.MeanIoU(num_classes=2)
    >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1], sample_weight=[0.3, 0.3, 0.3, 0.1]); float(m.result())
    0.0
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True, sparse_y_pred=True,
                 axis=-1):
        super().__init__(num_classes=num_classes, target_class_ids=list(range(_check_int(
            num_classes, name or "mean_io_u", "num_classes", 1))), name=name, dtype=dtype, ignore_class=ignore_class,
            sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotIoU(IoU):
    """``IoU`` for one-hot labels: y_true (and, unless ``sparse_y_pred``, y_pred) go through argmax.

    >>> from tapeflow.keras import metrics
    >>> m = metrics.OneHotIoU(num_classes=3, target_class_ids=[0, 2])
    >>> m.update_state([[0, 0, 1], [1, 0, 0]], [[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]); round(float(m.result()), 4)
    1.0
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None, sparse_y_pred=False,
                 axis=-1):
        super().__init__(num_classes=num_classes, target_class_ids=target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids, "name": self.name,
                "dtype": self.dtype, "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """``MeanIoU`` for one-hot labels (argmax over ``axis``).

    >>> from tapeflow.keras import metrics
    >>> m = metrics.OneHotMeanIoU(num_classes=2)
    >>> m.update_state([[1, 0], [0, 1]], [[0.9, 0.1], [0.8, 0.2]]); round(float(m.result()), 4)
    0.25
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes=num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


# -- R2 score ---------------------------------------------------------------------------------------
_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """Coefficient of determination, 1 - sum((y - y_hat)^2) / sum((y - mean(y))^2) per output column,
    aggregated by ``class_aggregation``; ``num_regressors > 0`` gives the adjusted R2 (whose sample
    count is, as in Keras, the number of entries seen). Inputs are (batch, outputs).

    >>> from tapeflow.keras import metrics
    >>> m = metrics.R2Score(class_aggregation=None)
    >>> m.update_state([[1.0, 1.0], [2.0, 3.0], [3.0, 2.0]], [[1.0, 2.0], [2.0, 2.0], [4.0, 2.0]])
    >>> m.result().numpy().tolist()
    [0.5, 0.0]
    """

    _direction = "up"

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError(f"{self.name}: invalid value for argument `class_aggregation`. Expected one of "
                             f"{_AGGREGATIONS}. Received: class_aggregation={class_aggregation!r}")
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, numbers.Integral) or num_regressors < 0:
            raise ValueError(f"{self.name}: invalid value for argument `num_regressors`. Expected an integer >= 0. "
                             f"Received: num_regressors={num_regressors!r}")
        self.class_aggregation = class_aggregation
        self.num_regressors = int(num_regressors)
        self.num_samples = self.add_variable((), name="num_samples")
        self._built = False

    def _build(self, n_out: int) -> None:
        self.squared_sum = self.add_variable((n_out,), name="squared_sum")
        self.sum = self.add_variable((n_out,), name="sum")
        self.total_mse = self.add_variable((n_out,), name="residual")
        self.count = self.add_variable((n_out,), name="count")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        t, p = squeeze_or_expand_to_same_rank(to_numpy(y_true, np.float64), to_numpy(y_pred, np.float64))
        if t.ndim != 2 or p.ndim != 2 or t.shape != p.shape:
            raise ValueError(f"{self.name}: R2Score expects 2D inputs with shape (batch_size, output_dim) and equal "
                             f"shapes. Received input shapes: y_pred.shape={p.shape} and y_true.shape={t.shape}.")
        if not self._built:
            self._build(t.shape[1])
        elif t.shape[1] != self.sum.shape[0]:
            raise ValueError(f"{self.name}: output_dim changed from {self.sum.shape[0]} to {t.shape[1]}")
        w = np.ones(()) if sample_weight is None else to_numpy(sample_weight, np.float64)
        if w.ndim == 1:
            w = w[:, None]
        try:
            w = np.broadcast_to(w, t.shape)
        except ValueError:
            raise ValueError(f"{self.name}: sample_weight of shape {w.shape} does not broadcast to y_true's shape "
                             f"{t.shape}") from None
        self.sum._value[...] += (t * w).sum(axis=0)
        self.squared_sum._value[...] += (t * t * w).sum(axis=0)
        self.total_mse._value[...] += ((t - p) ** 2 * w).sum(axis=0)
        self.count._value[...] += w.sum(axis=0)
        self.num_samples._value[...] += t.size

    def result(self) -> Tensor:
        if not self._built:
            return self._scalar(0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum._value / self.count._value
            total = self.squared_sum._value - self.sum._value * mean
            raw = 1.0 - self.total_mse._value / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = np.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = np.sum(total * raw) / np.sum(total)
        else:
            score = raw
        if self.num_regressors:
            n, k = float(self.num_samples._value), self.num_regressors
            if k > n - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 score. Falling back to "
                              "standard R2 score.", stacklevel=2)
            elif k == n - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard R2 score.",
                              stacklevel=2)
            else:
                score = 1.0 - (1.0 - score) * (n - 1.0) / (n - k - 1.0)
        return self._scalar(score)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"class_aggregation": self.class_aggregation, "num_regressors": self.num_regressors})
        return config


# -- correlation ------------------------------------------------------------------------------------
def _corr_pair(y_true, y_pred, axis, who: str):
    y_pred = as_pred(y_pred)
    y_true = as_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(f"{who}: y_true and y_pred must have the same shape; received y_true.shape="
                         f"{tuple(y_true.shape)} and y_pred.shape={tuple(y_pred.shape)}")
    nd = y_pred._value.ndim
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    if nd == 0 or any(isinstance(a, bool) or not isinstance(a, numbers.Integral) or not -nd <= a < nd for a in axes):
        raise ValueError(f"{who}: argument `axis` must be an int or tuple of ints in [{-nd}, {nd}) for inputs of "
                         f"rank {nd}; received axis={axis!r}")
    return y_true, y_pred, (tuple(axes) if isinstance(axis, (tuple, list)) else int(axis))


def pearson_correlation(y_true, y_pred, axis=-1) -> Tensor:
    """Pearson correlation coefficient of y_true and y_pred along ``axis`` (differentiable).

    >>> from tapeflow.keras import metrics
    >>> r = metrics.pearson_correlation([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], [[2.0, 4.0, 6.0], [3.0, 2.0, 1.0]])
    >>> [round(v, 4) for v in r.numpy().tolist()]
    [1.0, -1.0]
    """
    y_true, y_pred, axis = _corr_pair(y_true, y_pred, axis, "pearson_correlation")
    t = M.subtract(y_true, R.reduce_mean(y_true, axis=axis, keepdims=True))
    p = M.subtract(y_pred, R.reduce_mean(y_pred, axis=axis, keepdims=True))
    t = M.divide(t, R.reduce_std(t, axis=axis, keepdims=True))
    p = M.divide(p, R.reduce_std(p, axis=axis, keepdims=True))
    return R.reduce_mean(M.multiply(t, p), axis=axis)


def concordance_correlation(y_true, y_pred, axis=-1) -> Tensor:
    """Lin's concordance correlation coefficient along ``axis``: 2 cov / (var_t + var_p + (mean_t - mean_p)^2),
    with epsilon added to the denominator as in Keras (differentiable).

    >>> from tapeflow.keras import metrics
    >>> [round(v, 4) for v in metrics.concordance_correlation([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]]).numpy().tolist()]
    [1.0]
    """
    y_true, y_pred, axis = _corr_pair(y_true, y_pred, axis, "concordance_correlation")
    t_mean = R.reduce_mean(y_true, axis=axis, keepdims=True)
    p_mean = R.reduce_mean(y_pred, axis=axis, keepdims=True)
    t_var = R.reduce_variance(M.subtract(y_true, t_mean), axis=axis, keepdims=True)
    p_var = R.reduce_variance(M.subtract(y_pred, p_mean), axis=axis, keepdims=True)
    covar = M.multiply(M.subtract(y_true, p_mean), M.subtract(y_pred, p_mean))
    norm = M.add(M.add(t_var, p_var), M.square(M.subtract(t_mean, p_mean)))
    return R.reduce_mean(M.divide(M.multiply(covar, 2.0), M.add(norm, EPSILON)), axis=axis)


class PearsonCorrelation(MeanMetricWrapper):
    """Running mean of ``pearson_correlation`` over the samples (rows for ``axis=-1``).

    >>> from tapeflow.keras import metrics
    >>> round(float(metrics.PearsonCorrelation()([[1.0, 2.0, 3.0]], [[2.0, 4.0, 6.0]])), 4)
    1.0
    """

    _direction = "up"

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


class ConcordanceCorrelation(MeanMetricWrapper):
    """Running mean of ``concordance_correlation`` over the samples (rows for ``axis=-1``).

    >>> from tapeflow.keras import metrics
    >>> round(float(metrics.ConcordanceCorrelation()([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]])), 4)
    1.0
    """

    _direction = "up"

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


# -- best X where Y >= value ------------------------------------------------------------------------
class _AtConstraint(Metric):
    """Confusion counts at ``num_thresholds`` evenly spaced thresholds in [0, 1] (0.5 alone when 1);
    ``result`` is the largest dependent statistic among thresholds meeting the constraint, else 0."""

    _direction = "up"
    _arg = ""

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
            raise ValueError(f"{self.name}: argument `{self._arg}` must be in the range [0, 1]. "
                             f"Received: {self._arg}={value!r}")
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, numbers.Integral) or num_thresholds <= 0:
            raise ValueError(f"{self.name}: argument `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds!r}")
        if class_id is not None:
            _check_int(class_id, self.name, "class_id")
        setattr(self, self._arg, value)
        self.value = value
        self.num_thresholds = int(num_thresholds)
        self.class_id = class_id
        n = self.num_thresholds
        self.thresholds = [0.5] if n == 1 else [0.0] + [(i + 1) * 1.0 / (n - 1) for i in range(n - 2)] + [1.0]
        self._thr = np.asarray(self.thresholds, dtype=np.float64)
        for key in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, key, self.add_variable((len(self.thresholds),), name=key))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        t, p, w = _prepare(y_true, y_pred, sample_weight, None, self.class_id, self.name)
        n = len(self.thresholds)
        if n == 1:
            tp, fp, tn, fn = confusion_counts(t, p, w, self._thr)
        else:  # Keras's bucketing in float32: p counts above the first ceil(p * (n - 1)) thresholds
            p32 = np.nan_to_num(np.clip(p.astype(np.float32), 0.0, 1.0), nan=0.0)
            above = np.ceil(p32 * np.float32(n - 1)).astype(np.int64).ravel()
            w = np.ones(t.shape) if w is None else w
            hist_t = np.bincount(above, np.where(t, w, 0.0).ravel(), minlength=n + 1)
            hist_f = np.bincount(above, np.where(t, 0.0, w).ravel(), minlength=n + 1)
            tp = np.cumsum(hist_t[::-1])[::-1][1:]
            fp = np.cumsum(hist_f[::-1])[::-1][1:]
            tn, fn = hist_f.sum() - fp, hist_t.sum() - tp
        self.true_positives._value[...] += tp
        self.false_positives._value[...] += fp
        self.true_negatives._value[...] += tn
        self.false_negatives._value[...] += fn

    def _rates(self):
        tp, fp = self.true_positives._value, self.false_positives._value
        tn, fn = self.true_negatives._value, self.false_negatives._value
        return {"recall": divide_no_nan(tp, tp + fn), "precision": divide_no_nan(tp, tp + fp),
                "specificity": divide_no_nan(tn, tn + fp)}

    def _best(self, constrained, dependent) -> Tensor:
        feasible = np.asarray(constrained) >= self.value
        return self._scalar(np.max(np.where(feasible, dependent, 0.0), initial=0.0))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"class_id": self.class_id, "num_thresholds": self.num_thresholds, self._arg: self.value})
        return config


class PrecisionAtRecall(_AtConstraint):
    """Best precision over the thresholds whose recall is >= ``recall``.

    >>> from tapeflow.keras import metrics
    >>> float(metrics.PrecisionAtRecall(0.5)([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]))
    0.5
    """

    _arg = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self) -> Tensor:
        r = self._rates()
        return self._best(r["recall"], r["precision"])


class RecallAtPrecision(_AtConstraint):
    """Best recall over the thresholds whose precision is >= ``precision`` (0 when none reaches it).

    >>> from tapeflow.keras import metrics
    >>> float(metrics.RecallAtPrecision(0.8)([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]))
    0.5
    """

    _arg = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self) -> Tensor:
        r = self._rates()
        return self._best(r["precision"], r["recall"])


class SensitivityAtSpecificity(_AtConstraint):
    """Best sensitivity (recall) over the thresholds whose specificity is >= ``specificity``.

    >>> from tapeflow.keras import metrics
    >>> float(metrics.SensitivityAtSpecificity(0.5)([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]))
    0.5
    """

    _arg = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self) -> Tensor:
        r = self._rates()
        return self._best(r["specificity"], r["recall"])


class SpecificityAtSensitivity(_AtConstraint):
    """Best specificity over the thresholds whose sensitivity (recall) is >= ``sensitivity``.

    >>> from tapeflow.keras import metrics
    >>> round(float(metrics.SpecificityAtSensitivity(0.5)([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])), 4)
    0.6667
    """

    _arg = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self) -> Tensor:
        r = self._rates()
        return self._best(r["recall"], r["specificity"])


EXTRA_CLASSES = (IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU, R2Score, PearsonCorrelation,
                 ConcordanceCorrelation, PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity,
                 SpecificityAtSensitivity)
