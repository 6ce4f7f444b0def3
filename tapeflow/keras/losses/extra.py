"""Keras 3 segmentation, metric-learning and sequence losses: Dice, Tversky, Circle,
CategoricalGeneralizedCrossEntropy and CTC (Keras's names, arguments, defaults and numbers).

Every function returns differentiable per-sample values built from tapeflow ops (labels are data and
are prepared in NumPy); the classes weight and reduce them as every other ``Loss``.

>>> from tapeflow.keras import losses
>>> y_true = [[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 1.0, 0.0]]
>>> y_pred = [[1.0, 0.0, 0.0, 1.0], [1.0, 0.0, 1.0, 0.0]]
>>> [round(v, 4) for v in losses.Dice(axis=-1, reduction=None)(y_true, y_pred).numpy().tolist()]
[0.5, 0.0]
>>> round(float(losses.Tversky(alpha=0.7, beta=0.3, axis=-1)(y_true, y_pred)), 4)
0.25
"""
from __future__ import annotations

import numbers

import numpy as np

from ...autodiff.tensor import Tensor
from ...ops import array_ops as A
from ...ops import math_ops as M
from ...ops import reduce_ops as R
from .loss import (EPSILON, LossFunctionWrapper, as_pred, as_true, np_value, reduce_weighted_values,
                   squeeze_or_expand_to_same_rank)

_SOBS = "sum_over_batch_size"


# -- argument checks --------------------------------------------------------------------------------
def _number(value, who: str, arg: str, lo=None, hi=None, open_interval: bool = False) -> float:
    """``value`` as a float, checked to be a real number (in ``(lo, hi)`` or ``[lo, hi]`` when given)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{who}: argument `{arg}` must be a real number; received {arg}={value!r} "
                         f"({type(value).__name__})")
    value = float(value)
    if lo is not None and (value <= lo if open_interval else value < lo):
        raise ValueError(f"{who}: argument `{arg}` must be in {'(' if open_interval else '['}{lo}, {hi}"
                         f"{')' if open_interval else ']'}; received {arg}={value}")
    if hi is not None and (value >= hi if open_interval else value > hi):
        raise ValueError(f"{who}: argument `{arg}` must be in {'(' if open_interval else '['}{lo}, {hi}"
                         f"{')' if open_interval else ']'}; received {arg}={value}")
    return value


def _axis(axis, ndim: int, who: str):
    """Keras's ``axis`` (None, an int or a tuple of ints) checked against the rank ``ndim``."""
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral) or not -ndim <= int(a) < ndim:
            raise ValueError(f"{who}: argument `axis` must be None, an int or a tuple of ints in [{-ndim}, {ndim}) "
                             f"for inputs of rank {ndim}; received axis={axis!r}")
    return tuple(int(a) for a in axes) if isinstance(axis, (list, tuple)) else int(axis)


def _same_shape(y_true, y_pred, who: str):
    y_pred = as_pred(y_pred)
    y_true = as_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(f"{who}: y_true and y_pred must have the same shape; received y_true.shape="
                         f"{tuple(y_true.shape)} and y_pred.shape={tuple(y_pred.shape)}")
    return y_true, y_pred


def _int_labels(y_true, who: str) -> np.ndarray:
    labels = np.asarray(np_value(y_true))
    if labels.dtype.kind not in "iub":
        if labels.dtype.kind != "f" or not np.all(np.isfinite(labels)):
            raise ValueError(f"{who}: y_true must hold integer class labels; received dtype {labels.dtype}")
        labels = np.trunc(labels)
    return labels.astype(np.int64)


# -- Dice and Tversky -------------------------------------------------------------------------------
def dice(y_true, y_pred, axis=None) -> Tensor:
    """1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + epsilon), summed over ``axis``
    (all axes when None: one scalar for the batch, as Keras).

    >>> from tapeflow.keras import losses
    >>> [round(v, 4) for v in losses.dice([[1.0, 0.0], [1.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]], axis=-1).numpy().tolist()]
    [0.0, 0.3333]
    """
    y_true, y_pred = _same_shape(y_true, y_pred, "dice")
    axis = _axis(axis, y_pred._value.ndim, "dice")
    inter = R.reduce_sum(M.multiply(y_true, y_pred), axis=axis)
    denom = M.add(M.add(R.reduce_sum(y_true, axis=axis), R.reduce_sum(y_pred, axis=axis)), EPSILON)
    return M.subtract(1.0, M.divide(M.multiply(inter, 2.0), denom))


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None) -> Tensor:
    """1 - sum(t*p) / (sum(t*p) + alpha * sum(t*(1-p)) + beta * sum((1-t)*p) + epsilon) over ``axis``
    (Keras's weighting: ``alpha`` scales the missed positives, ``beta`` the false alarms); equals
    ``dice`` at ``alpha = beta = 0.5``.

    >>> from tapeflow.keras import losses
    >>> losses.tversky([[1.0, 1.0, 0.0]], [[1.0, 0.0, 1.0]], alpha=0.2, beta=0.8, axis=-1).numpy().round(4).tolist()
    [0.5]
    """
    alpha = _number(alpha, "tversky", "alpha")
    beta = _number(beta, "tversky", "beta")
    y_true, y_pred = _same_shape(y_true, y_pred, "tversky")
    axis = _axis(axis, y_pred._value.ndim, "tversky")
    inter = R.reduce_sum(M.multiply(y_true, y_pred), axis=axis)
    missed = R.reduce_sum(M.multiply(M.subtract(1.0, y_pred), y_true), axis=axis)
    extra = R.reduce_sum(M.multiply(y_pred, M.subtract(1.0, y_true)), axis=axis)
    denom = M.add(M.add(M.add(inter, M.multiply(missed, alpha)), M.multiply(extra, beta)), EPSILON)
    return M.subtract(1.0, M.divide(inter, denom))


class _WholeBatchLoss(LossFunctionWrapper):
    """A loss whose value can be one scalar for the batch (``axis=None``): per-sample weights then
    scale that scalar once per sample before the reduction, as Keras broadcasts them."""

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        if sample_weight is None or np.ndim(np_value(sample_weight)) == 0:
            return super().__call__(y_true, y_pred, sample_weight)
        mask = getattr(y_pred, "_keras_mask", None)
        values = self.call(y_true, as_pred(y_pred, self._dtype))
        w = np.asarray(np_value(sample_weight), dtype=values._value.dtype)
        if values._value.ndim == 0:  # one value for the batch: repeat it once per weight
            values, mask = M.multiply(values, Tensor._wrap(np.ones(w.shape, dtype=w.dtype))), None
        return reduce_weighted_values(values, w, mask, self.reduction, who=self.name)


class Dice(_WholeBatchLoss):
    """Dice loss, 1 - 2|y_true * y_pred| / (|y_true| + |y_pred|), summed over ``axis`` (default None:
    the whole batch gives one value).

    >>> from tapeflow.keras import losses
    >>> round(float(losses.Dice()([[1.0, 1.0], [0.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]])), 4)
    0.5
    """

    def __init__(self, reduction=_SOBS, name="dice", axis=None, dtype=None):
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class Tversky(_WholeBatchLoss):
    """Tversky loss (Salehi et al., 2017): Dice with ``alpha``/``beta`` weighting the two error kinds.

    >>> from tapeflow.keras import losses
    >>> round(float(losses.Tversky(alpha=0.3, beta=0.7)([[1.0, 1.0, 0.0]], [[1.0, 0.0, 1.0]])), 4)
    0.5
    """

    def __init__(self, alpha=0.5, beta=0.5, reduction=_SOBS, name="tversky", axis=None, dtype=None):
        _number(alpha, name or "tversky", "alpha")
        _number(beta, name or "tversky", "beta")
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha, beta=beta, axis=axis)
        self.alpha, self.beta, self.axis = alpha, beta, axis


# -- Circle loss ------------------------------------------------------------------------------------
def _masked_logsumexp(x: Tensor, mask: np.ndarray):
    """Row-wise log(sum(exp(x)) over entries where ``mask``) and which rows have any entry; empty
    rows give a finite placeholder with zero gradient (the caller drops them)."""
    xv = x._value
    has = mask.any(axis=1)
    top = np.where(mask, xv, -np.inf).max(axis=1, initial=-np.inf)
    top = np.where(has, top, 0.0).astype(xv.dtype)[:, None]
    shifted = A.where(mask, M.subtract(x, Tensor._wrap(top)), np.zeros((), xv.dtype))
    total = R.reduce_sum(M.multiply(M.exp(shifted), Tensor._wrap(mask.astype(xv.dtype))), axis=1)
    total = A.where(has, total, np.ones((), xv.dtype))
    return M.add(M.log(total), Tensor._wrap(top[:, 0])), has


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True, gamma=80, margin=0.4):
    """Circle loss (Sun et al., 2020) of L2-normalized embeddings ``y_pred`` (B, D) with integer labels
    ``y_true`` (B,) against reference embeddings/labels (default: the batch itself). Samples with no
    positive or no negative pair get 0 and are masked out of the mean, as Keras.

    >>> import numpy as np
    >>> from tapeflow.keras import losses
    >>> emb = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
    >>> losses.circle([0, 0, 1, 1], emb, gamma=10).numpy().round(4).tolist()
    [0.309, 1.1898, 1.1898, 0.309]
    """
    gamma = _number(gamma, "circle", "gamma")
    margin = _number(margin, "circle", "margin")
    emb = as_pred(y_pred)
    dt = emb._value.dtype
    ref = emb if ref_embeddings is None else as_pred(ref_embeddings, dt)
    if emb._value.ndim != 2 or ref._value.ndim != 2 or emb.shape[1] != ref.shape[1]:
        raise ValueError(f"circle: y_pred and ref_embeddings must be (batch, dim) embeddings with the same dim; "
                         f"received y_pred.shape={tuple(emb.shape)}, ref_embeddings.shape={tuple(ref.shape)}")
    labels = _int_labels(y_true, "circle").reshape(-1)
    refs = labels if ref_labels is None else _int_labels(ref_labels, "circle").reshape(-1)
    if labels.size != emb.shape[0] or refs.size != ref.shape[0]:
        raise ValueError(f"circle: expected one label per embedding; received y_true of size {labels.size} for "
                         f"{emb.shape[0]} embeddings and ref_labels of size {refs.size} for {ref.shape[0]}")
    dist = M.maximum(M.subtract(1.0, M.matmul(emb, A.transpose(ref))), 0.0)
    positive = labels[:, None] == refs[None, :]
    negative = ~positive
    if remove_diagonal:
        positive &= ~np.eye(labels.size, refs.size, dtype=bool)
    pos_w = M.maximum(M.multiply(M.add(dist, margin), Tensor._wrap(positive.astype(dt))), 0.0)
    neg_w = M.maximum(M.multiply(M.subtract(1.0 + margin, dist), Tensor._wrap(negative.astype(dt))), 0.0)
    pos_logits = M.multiply(M.multiply(pos_w, M.subtract(margin, dist)), -gamma)
    neg_logits = M.multiply(M.multiply(neg_w, M.subtract(1.0 - margin, dist)), gamma)
    p_loss, p_has = _masked_logsumexp(pos_logits, positive)
    n_loss, n_has = _masked_logsumexp(neg_logits, negative)
    values = A.where(p_has & n_has, M.softplus(M.add(p_loss, n_loss)), np.zeros((), dt))
    values._keras_mask = values._value > 0
    return values


class Circle(LossFunctionWrapper):
    """Circle loss between integer labels and L2-normalized embeddings (``gamma`` scale, ``margin``
    relaxation, ``remove_diagonal`` drops self-pairs from the positives).

    >>> import numpy as np
    >>> from tapeflow.keras import losses
    >>> emb = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
    >>> round(float(losses.Circle(gamma=10.0)([0, 0, 1, 1], emb)), 4)
    0.7494
    """

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True, reduction=_SOBS, name="circle", dtype=None):
        _number(gamma, name or "circle", "gamma")
        _number(margin, name or "circle", "margin")
        super().__init__(circle, reduction=reduction, name=name, dtype=dtype, gamma=gamma, margin=margin,
                         remove_diagonal=remove_diagonal)
        self.gamma, self.margin, self.remove_diagonal = gamma, margin, remove_diagonal


# -- generalized cross-entropy ----------------------------------------------------------------------
def categorical_generalized_cross_entropy(y_true, y_pred, q) -> Tensor:
    """(1 - p**q) / q with p the predicted probability of the integer label ``y_true`` (B,) or (B, 1).

    >>> from tapeflow.keras import losses
    >>> losses.categorical_generalized_cross_entropy([1, 0], [[0.36, 0.64], [0.25, 0.75]], q=0.5).numpy().tolist()
    [0.3999999761581421, 1.0]
    """
    q = _number(q, "categorical_generalized_cross_entropy", "q")
    y_pred = as_pred(y_pred)
    labels = _int_labels(y_true, "categorical_generalized_cross_entropy")
    n_class = y_pred.shape[-1]
    if labels.ndim == y_pred._value.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != tuple(y_pred.shape[:-1]):
        raise ValueError(f"categorical_generalized_cross_entropy: y_true must hold one integer label per row of "
                         f"y_pred, shape {tuple(y_pred.shape[:-1])}; received y_true.shape={labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_class):
        raise ValueError(f"categorical_generalized_cross_entropy: labels must be in [0, {n_class}); received "
                         f"labels in [{labels.min()}, {labels.max()}]")
    one_hot = np.eye(n_class, dtype=y_pred._value.dtype)[labels]
    p = R.reduce_sum(M.multiply(y_pred, Tensor._wrap(one_hot)), axis=-1)
    return M.divide(M.subtract(1.0, M.pow(p, q)), q)


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Generalized cross-entropy (Zhang & Sabuncu, 2018), robust to noisy labels: ``q`` in (0, 1)
    moves it from cross-entropy (q -> 0) towards mean absolute error (q -> 1).

    >>> from tapeflow.keras import losses
    >>> round(float(losses.CategoricalGeneralizedCrossEntropy()([0, 1], [[0.64, 0.36], [0.75, 0.25]])), 4)
    0.7
    """

    def __init__(self, q=0.5, reduction=_SOBS, name="categorical_generalized_cross_entropy", dtype=None):
        q = _number(q, name or "categorical_generalized_cross_entropy", "q", 0, 1, open_interval=True)
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction, name=name, dtype=dtype, q=q)
        self.q = q


# -- CTC --------------------------------------------------------------------------------------------
def ctc(y_true, y_pred) -> Tensor:
    """Per-sample CTC loss of integer labels ``y_true`` (B, L), 0 = blank/padding, under logits ``y_pred``
    (B, T, C) (log-softmax applied inside); every sample uses all T steps and its nonzero labels.

    >>> from tapeflow.keras import losses
    >>> import numpy as np
    >>> losses.ctc([[1, 0]], np.zeros((1, 2, 2))).numpy().round(4).tolist()
    [0.2877]
    """
    from ...ops import ctc_ops
    labels = np.asarray(np_value(y_true))
    y_pred = as_pred(y_pred)
    if labels.ndim != 2:
        raise ValueError("ctc: targets `y_true` are expected to be a tensor of shape (batch_size, max_length) in "
                         f"integer format; received y_true.shape={labels.shape}")
    if y_pred._value.ndim != 3:
        raise ValueError("ctc: logits `y_pred` are expected to be a tensor of shape (batch_size, max_length, "
                         f"num_classes); received y_pred.shape={tuple(y_pred.shape)}")
    labels = _int_labels(labels, "ctc")
    batch, steps, n_class = y_pred.shape
    if labels.shape[0] != batch:
        raise ValueError(f"ctc: y_true and y_pred must have the same batch size; received y_true.shape="
                         f"{labels.shape} and y_pred.shape={tuple(y_pred.shape)}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_class):
        raise ValueError(f"ctc: labels must be in [0, {n_class}) (0 is the blank); received labels in "
                         f"[{labels.min()}, {labels.max()}]")
    label_length = (labels != 0).sum(axis=-1)
    return ctc_ops.ctc_loss(y_pred, labels, label_length, np.full((batch,), steps), blank=0)


class CTC(LossFunctionWrapper):
    """Connectionist Temporal Classification loss over logits (B, T, C) and padded labels (B, L).

    >>> from tapeflow.keras import losses
    >>> import numpy as np
    >>> round(float(losses.CTC()([[1, 0], [1, 1]], np.zeros((2, 3, 2)))), 4)
    1.1836
    """

    def __init__(self, reduction=_SOBS, name="ctc", dtype=None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)


EXTRA_CLASSES = (Dice, Tversky, Circle, CategoricalGeneralizedCrossEntropy, CTC)
