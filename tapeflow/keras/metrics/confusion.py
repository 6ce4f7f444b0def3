"""Confusion-matrix metrics: TruePositives & co., Precision, Recall, AUC (Keras 3 semantics).

A prediction is positive at threshold t when ``y_pred > t``; labels are cast to bool.
Counting is O(N log T + T) for any thresholds: each prediction is placed among the sorted
thresholds with ``searchsorted`` and a weighted ``bincount`` plus a reversed cumulative sum gives
the true/false positives at every threshold at once (no N x T comparison matrix).
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor
from ..losses.loss import EPSILON, squeeze_or_expand_to_same_rank
from .base import Metric, divide_no_nan, to_numpy

NEG_INF = -1e10


def _thresholds(thresholds, default) -> list:
    if thresholds is None:
        return [float(default)]
    vals = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    bad = [t for t in vals if t is None or t < 0 or t > 1]
    if bad:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
    return [float(t) for t in vals]


def _filter_top_k(p: np.ndarray, k: int) -> np.ndarray:
    """Keep the k largest entries of the last axis (first ones on ties) and set the rest to NEG_INF."""
    idx = np.argsort(-p, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(p.shape, dtype=bool)
    np.put_along_axis(keep, idx, True, axis=-1)
    return np.where(keep, p, NEG_INF)


def _prepare(y_true, y_pred, sample_weight, top_k, class_id, who: str):
    """Bool labels, float predictions and broadcast weights, with top_k / class_id applied."""
    p = to_numpy(y_pred, np.float64)
    t = to_numpy(y_true)
    p, t = squeeze_or_expand_to_same_rank(p, t)
    if t.shape != p.shape:
        raise ValueError(f"{who}: y_true and y_pred must have the same shape; received y_true.shape={t.shape}, "
                         f"y_pred.shape={p.shape}")
    t = t.astype(bool)
    w = None
    if sample_weight is not None:
        w = to_numpy(sample_weight, np.float64)[..., None]
        _, w = squeeze_or_expand_to_same_rank(t, w, expand_rank_1=False)
        try:
            w = np.broadcast_to(w, p.shape)
        except ValueError:
            raise ValueError(f"{who}: sample_weight of shape {to_numpy(sample_weight).shape} does not broadcast to "
                             f"y_pred's shape {p.shape}") from None
    if top_k is not None:
        p = _filter_top_k(p, int(top_k))
    if class_id is not None:
        if p.ndim == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape: {p.shape}")
        t, p = t[..., class_id], p[..., class_id]
        w = None if w is None else w[..., class_id]
    return t, p, w


def confusion_counts(t: np.ndarray, p: np.ndarray, w, thresholds: np.ndarray, multi_label: bool = False):
    """(tp, fp, tn, fn) at each threshold; shape (T,) or (T, L) when ``multi_label``."""
    thr = np.asarray(thresholds, dtype=np.float64)
    order = np.argsort(thr, kind="stable")
    n_t = thr.size
    # idx = number of thresholds strictly below p, i.e. p > thr_sorted[j] iff j < idx.
    idx = np.searchsorted(thr[order], p, side="left")
    idx[np.isnan(p)] = 0
    w = np.ones(p.shape) if w is None else w
    wt = np.where(t, w, 0.0)
    wf = np.where(t, 0.0, w)
    if multi_label:
        n_l = p.shape[-1]
        flat = (idx.reshape(-1, n_l) + (n_t + 1) * np.arange(n_l)).ravel()
        size = n_l * (n_t + 1)
        hist_t = np.bincount(flat, wt.ravel(), minlength=size).reshape(n_l, n_t + 1)
        hist_f = np.bincount(flat, wf.ravel(), minlength=size).reshape(n_l, n_t + 1)
    else:
        flat = idx.ravel()
        hist_t = np.bincount(flat, wt.ravel(), minlength=n_t + 1)[None]
        hist_f = np.bincount(flat, wf.ravel(), minlength=n_t + 1)[None]
    tp_sorted = np.cumsum(hist_t[:, ::-1], axis=1)[:, ::-1][:, 1:]
    fp_sorted = np.cumsum(hist_f[:, ::-1], axis=1)[:, ::-1][:, 1:]
    tp = np.empty_like(tp_sorted)
    fp = np.empty_like(fp_sorted)
    tp[:, order], fp[:, order] = tp_sorted, fp_sorted
    fn = hist_t.sum(axis=1, keepdims=True) - tp
    tn = hist_f.sum(axis=1, keepdims=True) - fp
    if multi_label:
        return tp.T, fp.T, tn.T, fn.T
    return tp[0], fp[0], tn[0], fn[0]


class _ConfusionBase(Metric):
    _keys = ()

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        self._thr = np.asarray(self.thresholds, dtype=np.float64)
        for key in self._keys:
            setattr(self, key, self.add_variable((len(self.thresholds),), name=key))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        t, p, w = _prepare(y_true, y_pred, sample_weight, self.top_k, self.class_id, self.name)
        tp, fp, tn, fn = confusion_counts(t, p, w, self._thr)
        counts = {"true_positives": tp, "false_positives": fp, "true_negatives": tn, "false_negatives": fn}
        for key in self._keys:
            getattr(self, key)._value[...] += counts[key]

    def _out(self, values) -> Tensor:
        values = np.asarray(values)
        return self._scalar(values[0] if len(self.thresholds) == 1 else values)

    def get_config(self) -> dict:
        config = {"thresholds": self.init_thresholds}
        config.update(super().get_config())
        return config


class _CountMetric(_ConfusionBase):
    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)

    def result(self):
        return self._out(getattr(self, self._keys[0])._value)


class TruePositives(_CountMetric):
    """Weighted count of positives predicted positive (``y_pred > threshold``).

    >>> from tapeflow.keras import metrics
    >>> float(metrics.TruePositives()([0, 1, 1, 1], [1, 0, 1, 1]))
    2.0
    """

    _keys = ("true_positives",)


class FalsePositives(_CountMetric):
    """Weighted count of negatives predicted positive.

    >>> from tapeflow.keras import metrics
    >>> float(metrics.FalsePositives()([0, 1, 0, 0], [0, 0, 1, 1]))
    2.0
    """

    _keys = ("false_positives",)


class TrueNegatives(_CountMetric):
    """Weighted count of negatives predicted negative.

    >>> from tapeflow.keras import metrics
    >>> float(metrics.TrueNegatives()([0, 1, 0, 0], [1, 1, 0, 0]))
    2.0
    """

    _keys = ("true_negatives",)


class FalseNegatives(_CountMetric):
    """Weighted count of positives predicted negative.

    >>> from tapeflow.keras import metrics
    >>> float(metrics.FalseNegatives()([0, 1, 1, 1], [0, 1, 0, 0]))
    2.0
    """

    _keys = ("false_negatives",)


class Precision(_ConfusionBase):
    """tp / (tp + fp), optionally restricted to the ``top_k`` predictions or one ``class_id``.

    >>> from tapeflow.keras import metrics
    >>> float(metrics.Precision()([0, 1, 1, 1], [1, 0, 1, 1]))
    0.6666666865348816
    """

    _keys = ("true_positives", "false_positives")
    _direction = "up"

    def result(self):
        tp = self.true_positives._value
        return self._out(divide_no_nan(tp, tp + self.false_positives._value))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"top_k": self.top_k, "class_id": self.class_id})
        return config


class Recall(_ConfusionBase):
    """tp / (tp + fn), optionally restricted to the ``top_k`` predictions or one ``class_id``.

    >>> from tapeflow.keras import metrics
    >>> float(metrics.Recall()([0, 1, 1, 1], [1, 0, 1, 1]))
    0.6666666865348816
    """

    _keys = ("true_positives", "false_negatives")
    _direction = "up"

    def result(self):
        tp = self.true_positives._value
        return self._out(divide_no_nan(tp, tp + self.false_negatives._value))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"top_k": self.top_k, "class_id": self.class_id})
        return config


_CURVES = {"roc": "ROC", "pr": "PR"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


class AUC(Metric):
    """Area under the ROC or PR curve, from confusion counts at ``num_thresholds`` thresholds.

    ``summation_method="interpolation"`` is the trapezoidal rule for ROC and Davis & Goadrich's
    interpolation for PR, as Keras. ``multi_label=True`` averages one AUC per label column.

    >>> from tapeflow.keras import metrics
    >>> m = metrics.AUC(num_thresholds=3)
    >>> float(m([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]))
    0.75
    """

    _direction = "up"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None,
                 dtype=None, thresholds=None, multi_label=False, num_labels=None, label_weights=None,
                 from_logits=False):
        if str(curve).lower() not in _CURVES:
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC"]')
        if str(summation_method).lower() not in _SUMMATIONS:
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". '
                             'Expected values are ["interpolation", "majoring", "minoring"]')
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(_thresholds(thresholds, 0.5))
            self.num_thresholds = len(inner) + 2
        else:
            if num_thresholds is None or num_thresholds <= 1:
                raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self._thresholds = np.array([0.0 - EPSILON] + inner + [1.0 + EPSILON])
        self.curve = _CURVES[str(curve).lower()]
        self.summation_method = str(summation_method).lower()
        super().__init__(name=name, dtype=dtype)
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights, dtype=np.float64)
        self._from_logits = bool(from_logits)
        self._built = False
        if self.multi_label:
            if num_labels:
                self._build(int(num_labels))
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self) -> list:
        return list(self._thresholds)

    def _build(self, num_labels) -> None:
        shape = (self.num_thresholds,) if num_labels is None else (self.num_thresholds, num_labels)
        self.true_positives = self.add_variable(shape, name="true_positives")
        self.false_positives = self.add_variable(shape, name="false_positives")
        self.true_negatives = self.add_variable(shape, name="true_negatives")
        self.false_negatives = self.add_variable(shape, name="false_negatives")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        p = to_numpy(y_pred, np.float64)
        if self.multi_label:
            if p.ndim != 2:
                raise ValueError(f"{self.name}: `y_pred` must have rank 2 when `multi_label=True`. "
                                 f"Found rank {p.ndim}. Full shape received for `y_pred`: {p.shape}")
            if not self._built:
                self._build(p.shape[1])
        if self._from_logits:
            p = 1.0 / (1.0 + np.exp(-p))
        t, p, w = _prepare(y_true, p, sample_weight, None, None, self.name)
        if self.label_weights is not None and not self.multi_label:
            lw = np.broadcast_to(self.label_weights, p.shape)
            w = lw if w is None else w * lw
        p = np.clip(p, 0.0, 1.0)
        tp, fp, tn, fn = confusion_counts(t, p, w, self._thresholds, multi_label=self.multi_label)
        self.true_positives._value[...] += tp
        self.false_positives._value[...] += fp
        self.true_negatives._value[...] += tn
        self.false_negatives._value[...] += fn

    def _average(self, by_label):
        if not self.multi_label:
            return by_label
        if self.label_weights is None:
            return np.mean(by_label)
        return divide_no_nan(np.sum(by_label * self.label_weights), np.sum(self.label_weights))

    def _interpolate_pr_auc(self, tp, fp, fn):
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ok = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(ok, divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
        inc = divide_no_nan(slope * (dtp + intercept * np.log(np.where(ratio > 0, ratio, 1.0))),
                            np.maximum(tp[1:] + fn[1:], 0))
        return self._average(np.sum(inc, axis=0))

    def result(self):
        if not self._built:
            return self._scalar(0.0)
        tp, fp = self.true_positives._value, self.false_positives._value
        tn, fn = self.true_negatives._value, self.false_negatives._value
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._scalar(self._interpolate_pr_auc(tp, fp, fn))
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return self._scalar(self._average(np.sum((x[:-1] - x[1:]) * heights, axis=0)))

    def get_config(self) -> dict:
        config = {"num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels, "from_logits": self._from_logits,
                  "label_weights": None if self.label_weights is None else self.label_weights.tolist()}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        config.update(super().get_config())
        return config
