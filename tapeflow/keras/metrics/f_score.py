"""F-beta and F1 scores (Keras 3 semantics: per-class counts, micro/macro/weighted averaging)."""
from __future__ import annotations

import numpy as np

from ..losses.loss import EPSILON
from .base import Metric, to_numpy

_AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    """(1 + beta**2) * precision * recall / (beta**2 * precision + recall), per class.

    ``y_true``/``y_pred`` are (batch, num_classes). With ``threshold=None`` the highest score of
    each row is the predicted class; otherwise ``y_pred > threshold`` marks positives.
    ``average``: None (one score per class), "micro" (global counts), "macro" (mean of the
    class scores) or "weighted" (mean weighted by each class's support).

    >>> from tapeflow.keras import metrics
    >>> m = metrics.FBetaScore(average="micro", beta=2.0, threshold=0.66)
    >>> round(float(m([[0, 0, 1], [1, 1, 0], [1, 1, 1]], [[0.7, 0.7, 0.7], [1, 0, 0], [0.9, 0.8, 0]])), 4)
    0.6667
    """

    _direction = "up"

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in _AVERAGES:
            raise ValueError("Invalid `average` argument value. Expected one of: "
                             f"{{None, 'micro', 'macro', 'weighted'}}. Received: average={average}")
        if not isinstance(beta, float):
            raise ValueError("Invalid `beta` argument value. It should be a Python float. "
                             f"Received: beta={beta} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError("Invalid `threshold` argument value. It should be a Python float. "
                                 f"Received: threshold={threshold} of type '{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError("Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                                 f"Received: threshold={threshold}")
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true_shape, y_pred_shape) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(f"{type(self).__name__} expects 2D inputs with shape (batch_size, output_dim). "
                             f"Received input shapes: y_pred.shape={tuple(y_pred_shape)} and "
                             f"y_true.shape={tuple(y_true_shape)}.")
        if y_pred_shape[-1] is None or y_true_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} expects 2D inputs with shape (batch_size, output_dim), "
                             "with output_dim fully defined (not None). Received input shapes: "
                             f"y_pred.shape={tuple(y_pred_shape)} and y_true.shape={tuple(y_true_shape)}.")
        shape = () if self.average == "micro" else (y_pred_shape[-1],)
        self.true_positives = self.add_variable(shape, name="true_positives")
        self.false_positives = self.add_variable(shape, name="false_positives")
        self.false_negatives = self.add_variable(shape, name="false_negatives")
        self.intermediate_weights = self.add_variable(shape, name="intermediate_weights")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        t = to_numpy(y_true, np.float64)
        p = to_numpy(y_pred, np.float64)
        if t.ndim == 1 and p.ndim == 2 and p.shape[1] == 1:
            t = t[:, None]
        if not self._built:
            self._build(t.shape, p.shape)
        if t.shape != p.shape:
            raise ValueError(f"{self.name}: y_true and y_pred must have the same shape (batch_size, output_dim); "
                             f"received y_true.shape={t.shape}, y_pred.shape={p.shape}")
        if self.threshold is None:
            top = np.max(p, axis=-1, keepdims=True)
            pos = (p >= top) & (np.abs(p) > 1e-9)  # an all-zero row predicts nothing
        else:
            pos = p > self.threshold
        pos = pos.astype(np.float64)
        w = None if sample_weight is None else to_numpy(sample_weight, np.float64).reshape(-1, 1)

        def wsum(v):
            return np.sum(v if w is None else v * w, axis=self.axis)

        self.true_positives._value[...] += wsum(pos * t)
        self.false_positives._value[...] += wsum(pos * (1.0 - t))
        self.false_negatives._value[...] += wsum((1.0 - pos) * t)
        self.intermediate_weights._value[...] += wsum(t)

    def result(self):
        if not self._built:
            return self._scalar(0.0)
        tp = self.true_positives._value
        precision = tp / (tp + self.false_positives._value + EPSILON)
        recall = tp / (tp + self.false_negatives._value + EPSILON)
        b2 = self.beta ** 2
        f = (precision * recall) / (b2 * precision + recall + EPSILON) * (1.0 + b2)
        if self.average == "weighted":
            weights = self.intermediate_weights._value
            f = np.sum(f * weights / (np.sum(weights) + EPSILON))
        elif self.average is not None:
            f = np.mean(f)
        return self._scalar(f)

    def get_config(self) -> dict:
        config = {"average": self.average, "beta": self.beta, "threshold": self.threshold}
        config.update(super().get_config())
        return config


class F1Score(FBetaScore):
    """F-beta score with beta = 1: the harmonic mean of precision and recall.

    >>> from tapeflow.keras import metrics
    >>> m = metrics.F1Score(average="macro")
    >>> round(float(m([[1, 0], [0, 1], [1, 0]], [[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]])), 4)
    0.6667
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("beta", None)
        return config
