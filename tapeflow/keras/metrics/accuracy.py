"""Accuracy metrics (Keras 3 semantics), computed with NumPy.

Each function returns per-sample (or per-entry) 0/1 values as a float32 array; the classes are
``MeanMetricWrapper``s averaging them (weighted by ``sample_weight``).
"""
from __future__ import annotations

import numpy as np

from ..losses.loss import squeeze_or_expand_to_same_rank
from .base import MeanMetricWrapper, to_numpy


def _match(a, b) -> np.ndarray:
    return np.equal(a, b).astype(np.float32)


def accuracy(y_true, y_pred) -> np.ndarray:
    """1.0 where y_true == y_pred exactly."""
    t, p = to_numpy(y_true), to_numpy(y_pred)
    t, p = squeeze_or_expand_to_same_rank(t, p)
    return _match(t, p)


def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> np.ndarray:
    """1.0 where (y_pred > threshold) equals y_true."""
    t, p = to_numpy(y_true), to_numpy(y_pred)
    t, p = squeeze_or_expand_to_same_rank(t, p)
    return _match(t, (p > threshold).astype(t.dtype if t.dtype.kind in "fiu" else np.float32))


def _squeezed_labels(t: np.ndarray, p: np.ndarray, who: str, other: str) -> np.ndarray:
    if t.ndim == p.ndim and t.ndim > 0 and t.shape[-1] == 1:
        t = t.reshape(t.shape[:-1])
    if t.shape != p.shape[:-1]:
        hint = (f" y_true has y_pred's shape, so it looks one-hot encoded: use {other}."
                if t.shape == p.shape else "")
        raise ValueError(f"{who}: y_true must hold one class index per sample, of shape {p.shape[:-1]}; "
                         f"received y_true.shape={t.shape}, y_pred.shape={p.shape}.{hint}")
    return t


def _one_hot_labels(t: np.ndarray, p: np.ndarray, who: str, other: str) -> np.ndarray:
    if t.shape != p.shape:
        hint = (f" y_true looks like integer class indices: use {other}."
                if t.shape in (p.shape[:-1], p.shape[:-1] + (1,)) else "")
        raise ValueError(f"{who}: y_true (one-hot) and y_pred must have the same shape; received "
                         f"y_true.shape={t.shape}, y_pred.shape={p.shape}.{hint}")
    return np.argmax(t, axis=-1)


def categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """1.0 where argmax(y_true) == argmax(y_pred) (one-hot labels)."""
    p = to_numpy(y_pred)
    t = _one_hot_labels(to_numpy(y_true), p, "categorical_accuracy", "sparse_categorical_accuracy")
    return _match(t, np.argmax(p, axis=-1))


def sparse_categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """1.0 where the integer label equals argmax(y_pred)."""
    p = to_numpy(y_pred)
    t = _squeezed_labels(to_numpy(y_true), p, "sparse_categorical_accuracy", "categorical_accuracy")
    return _match(t, np.argmax(p, axis=-1))


def _in_top_k(labels: np.ndarray, p: np.ndarray, k: int) -> np.ndarray:
    """Whether each label's score is among the k largest (ties at the boundary count as in, as TF)."""
    idx = labels.astype(np.intp)[..., None]
    if idx.size and (idx.min() < 0 or idx.max() >= p.shape[-1]):
        raise ValueError(f"top-k accuracy: labels must lie in [0, {p.shape[-1]}), got values in "
                         f"[{idx.min()}, {idx.max()}]")
    score = np.take_along_axis(p, idx, axis=-1)
    return (np.sum(p > score, axis=-1) < k).astype(np.float32)


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5) -> np.ndarray:
    """1.0 where the one-hot target is among the k highest predictions."""
    p = to_numpy(y_pred)
    t = _one_hot_labels(to_numpy(y_true), p, "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy")
    return _in_top_k(t, p, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5) -> np.ndarray:
    """1.0 where the integer target is among the k highest predictions."""
    p = to_numpy(y_pred)
    t = _squeezed_labels(to_numpy(y_true), p, "sparse_top_k_categorical_accuracy", "top_k_categorical_accuracy")
    return _in_top_k(t, p, k)


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly.

    >>> from tapeflow.keras import metrics
    >>> float(metrics.Accuracy()([[1], [2], [3], [4]], [[0], [2], [3], [4]]))
    0.75
    """

    _direction = "up"

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often (y_pred > threshold) matches binary labels.

    >>> from tapeflow.keras import metrics
    >>> float(metrics.BinaryAccuracy()([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]]))
    0.75
    """

    _direction = "up"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches the one-hot label.

    >>> from tapeflow.keras import metrics
    >>> float(metrics.CategoricalAccuracy()([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
    0.5
    """

    _direction = "up"

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches the integer label.

    >>> from tapeflow.keras import metrics
    >>> float(metrics.SparseCategoricalAccuracy()([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]]))
    0.5
    """

    _direction = "up"

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target is in the top ``k`` predictions.

    >>> from tapeflow.keras import metrics
    >>> float(metrics.TopKCategoricalAccuracy(k=1)([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
    0.5
    """

    _direction = "up"

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer target is in the top ``k`` predictions.

    >>> from tapeflow.keras import metrics
    >>> float(metrics.SparseTopKCategoricalAccuracy(k=1)([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
    0.5
    """

    _direction = "up"

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k
