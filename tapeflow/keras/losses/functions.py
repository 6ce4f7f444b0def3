"""Loss functions: ``fn(y_true, y_pred, ...) -> per-sample values`` built from tapeflow ops.

Everything on ``y_pred``'s path is a differentiable tapeflow op, so a GradientTape sees it.
Label checks and label preprocessing (one-hot, smoothing, hinge's {0,1} -> {-1,1}) run on
NumPy: labels are data, not differentiated.

Cross-entropies and softmax/sigmoid outputs: when ``y_pred`` carries ``_keras_logits`` (set by
the Keras ``softmax``/``sigmoid`` activations), the loss is computed from those logits with the
fused primitives, as tf.keras does. That is faster (one primitive, gradient ``p - y``) and never
saturates. A cheap check on one row makes sure the logits really produced ``y_pred`` with the
activation the loss expects; otherwise the probabilities are used.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ...autodiff.tensor import Tensor
from ...ops import array_ops as A
from ...ops import math_ops as M
from ...ops import nn_ops as N
from ...ops import reduce_ops as R
from ...ops.registry import bind, primitive
from .loss import EPSILON, as_pred, as_true, np_value, squeeze_or_expand_to_same_rank

_LOG2 = math.log(2.0)


def _pair(y_true, y_pred, fn_name: str, same_shape: bool = True, hint: str = ""):
    """Convert, fix ranks as Keras does, and (optionally) require identical shapes."""
    y_pred = as_pred(y_pred)
    y_true = as_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if same_shape and tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(
            f"{fn_name}: y_true and y_pred must have the same shape; received y_true.shape="
            f"{tuple(y_true.shape)} and y_pred.shape={tuple(y_pred.shape)}.{hint}")
    return y_true, y_pred


def _clip(x: Tensor, lo: float, hi: float) -> Tensor:
    return A.clip_by_value(x, lo, hi)


# -- the _keras_logits fast path ------------------------------------------------------------
def _logits_match(logits: Tensor, y_pred: Tensor, kind: str) -> bool:
    """Whether ``y_pred`` is ``kind``(logits), checked on one row (O(classes), not O(batch))."""
    lv, pv = logits._value, y_pred._value
    if lv.shape != pv.shape:
        return False
    act = getattr(y_pred, "_keras_act", None)
    if act is not None:  # set by the Keras activation that made y_pred: no numeric check needed
        return act == kind
    if pv.size == 0:
        return True
    if kind == "softmax":
        k = lv.shape[-1]
        if k > 64:  # NumPy for long rows, plain floats for short ones (less call overhead)
            row = lv.reshape(-1, k)[0].astype(np.float64)
            e = np.exp(row - row.max())
            return float(np.max(np.abs(e / e.sum() - pv.reshape(-1, k)[0]))) <= 1e-4
        row, got = lv.reshape(-1, k)[0].tolist(), pv.reshape(-1, k)[0].tolist()
        top = max(row)
        e = [math.exp(v - top) for v in row]
        total = sum(e)
        return all(abs(a / total - b) <= 1e-4 for a, b in zip(e, got))
    row, got = lv.reshape(-1)[:8].tolist(), pv.reshape(-1)[:8].tolist()
    return all(abs(0.5 * (1.0 + math.tanh(0.5 * a)) - b) <= 1e-4 for a, b in zip(row, got))


def _resolve_logits(y_pred: Tensor, from_logits: bool, kind: str, fn_name: str):
    """(tensor, from_logits) to compute with: the cached logits when they are usable."""
    logits = getattr(y_pred, "_keras_logits", None)
    if logits is None:
        return y_pred, from_logits
    if from_logits:
        warnings.warn(
            f'"`{fn_name}` received `from_logits=True`, but the `y_pred` argument was produced by a '
            f"{kind} activation and thus does not represent logits. Was this intended?",
            stacklevel=4)
    if _logits_match(logits, y_pred, kind):
        return as_pred(logits, y_pred._value.dtype), True
    return y_pred, from_logits


# -- regression -----------------------------------------------------------------------------
def mean_squared_error(y_true, y_pred) -> Tensor:
    """mean(square(y_true - y_pred), axis=-1).

    >>> from tapeflow.keras import losses
    >>> losses.mean_squared_error([[0.0, 1.0]], [[1.0, 1.0]]).numpy().tolist()
    [0.5]
    """
    y_true, y_pred = _pair(y_true, y_pred, "mean_squared_error")
    return R.reduce_mean(M.square(M.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_error(y_true, y_pred) -> Tensor:
    """mean(abs(y_true - y_pred), axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred, "mean_absolute_error")
    return R.reduce_mean(M.abs(M.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred) -> Tensor:
    """100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred, "mean_absolute_percentage_error")
    diff = M.abs(M.divide(M.subtract(y_true, y_pred), M.maximum(M.abs(y_true), EPSILON)))
    return M.multiply(R.reduce_mean(diff, axis=-1), 100.0)


def mean_squared_logarithmic_error(y_true, y_pred) -> Tensor:
    """mean(square(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)), axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred, "mean_squared_logarithmic_error")
    first = M.log(M.add(M.maximum(y_pred, EPSILON), 1.0))
    second = M.log(M.add(M.maximum(y_true, EPSILON), 1.0))
    return R.reduce_mean(M.square(M.subtract(first, second)), axis=-1)


def huber(y_true, y_pred, delta: float = 1.0) -> Tensor:
    """0.5 * e**2 where |e| <= delta, else delta * |e| - 0.5 * delta**2; mean over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred, "huber")
    err = M.subtract(y_pred, y_true)
    abs_err = M.abs(err)
    quad = M.multiply(M.square(err), 0.5)
    lin = M.subtract(M.multiply(abs_err, float(delta)), 0.5 * float(delta) ** 2)
    small = Tensor._wrap(abs_err._value <= delta)
    return R.reduce_mean(A.where(small, quad, lin), axis=-1)


def log_cosh(y_true, y_pred) -> Tensor:
    """mean(log(cosh(y_pred - y_true)), axis=-1), computed as x + softplus(-2x) - log 2."""
    y_true, y_pred = _pair(y_true, y_pred, "log_cosh")
    x = M.subtract(y_pred, y_true)
    return R.reduce_mean(M.subtract(M.add(x, M.softplus(M.multiply(x, -2.0))), _LOG2), axis=-1)


def cosine_similarity(y_true, y_pred, axis: int = -1) -> Tensor:
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)."""
    y_true, y_pred = _pair(y_true, y_pred, "cosine_similarity")
    t = N.l2_normalize(y_true, axis=axis)
    p = N.l2_normalize(y_pred, axis=axis)
    return M.negative(R.reduce_sum(M.multiply(t, p), axis=axis))


def poisson(y_true, y_pred) -> Tensor:
    """mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred, "poisson")
    return R.reduce_mean(M.subtract(y_pred, M.multiply(y_true, M.log(M.add(y_pred, EPSILON)))), axis=-1)


def kl_divergence(y_true, y_pred) -> Tensor:
    """sum(y_true * log(y_true / y_pred), axis=-1), both clipped to [epsilon, 1]."""
    y_true, y_pred = _pair(y_true, y_pred, "kl_divergence")
    t = _clip(y_true, EPSILON, 1.0)
    p = _clip(y_pred, EPSILON, 1.0)
    return R.reduce_sum(M.multiply(t, M.log(M.divide(t, p))), axis=-1)


# -- hinge family ---------------------------------------------------------------------------
def _hinge_labels(y_true: Tensor) -> Tensor:
    v = y_true._value
    if v.size and np.all((v == 0) | (v == 1)):
        return M.subtract(M.multiply(y_true, 2.0), 1.0)
    return y_true


def hinge(y_true, y_pred) -> Tensor:
    """mean(max(1 - y_true * y_pred, 0), axis=-1); labels in {0, 1} become {-1, 1}."""
    y_true, y_pred = _pair(y_true, y_pred, "hinge")
    return R.reduce_mean(N.relu(M.subtract(1.0, M.multiply(_hinge_labels(y_true), y_pred))), axis=-1)


def squared_hinge(y_true, y_pred) -> Tensor:
    """mean(square(max(1 - y_true * y_pred, 0)), axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred, "squared_hinge")
    h = N.relu(M.subtract(1.0, M.multiply(_hinge_labels(y_true), y_pred)))
    return R.reduce_mean(M.square(h), axis=-1)


def categorical_hinge(y_true, y_pred) -> Tensor:
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred, "categorical_hinge")
    pos = R.reduce_sum(M.multiply(y_true, y_pred), axis=-1)
    neg = R.reduce_max(M.multiply(M.subtract(1.0, y_true), y_pred), axis=-1)
    return N.relu(M.add(M.subtract(neg, pos), 1.0))


# -- binary cross-entropies -----------------------------------------------------------------
def _bce_from_probs(y_true: Tensor, p: Tensor) -> Tensor:
    p = _clip(p, EPSILON, 1.0 - EPSILON)
    pos = M.multiply(y_true, M.log(p))
    neg = M.multiply(M.subtract(1.0, y_true), M.log(M.subtract(1.0, p)))
    return M.negative(M.add(pos, neg))


def binary_crossentropy(y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0,
                        axis: int = -1) -> Tensor:
    """Mean over ``axis`` of -(y log p + (1 - y) log(1 - p)); p clipped to [1e-7, 1 - 1e-7].

    >>> from tapeflow.keras import losses
    >>> [round(v, 3) for v in losses.binary_crossentropy([[0, 1], [0, 0]],
    ...                                                   [[0.6, 0.4], [0.4, 0.6]]).numpy().tolist()]
    [0.916, 0.714]
    """
    y_true, y_pred = _pair(y_true, y_pred, "binary_crossentropy")
    if label_smoothing:
        y_true = M.add(M.multiply(y_true, 1.0 - label_smoothing), 0.5 * label_smoothing)
    x, logits = _resolve_logits(y_pred, from_logits, "sigmoid", "binary_crossentropy")
    if logits:
        per = N.sigmoid_cross_entropy_with_logits(labels=y_true, logits=x)
    else:
        per = _bce_from_probs(y_true, x)
    return R.reduce_mean(per, axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing: bool = False, alpha: float = 0.25,
                              gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                              axis: int = -1) -> Tensor:
    """Binary cross-entropy scaled by the focal factor (1 - p_t) ** gamma (Lin et al. 2018)."""
    y_true, y_pred = _pair(y_true, y_pred, "binary_focal_crossentropy")
    if label_smoothing:
        y_true = M.add(M.multiply(y_true, 1.0 - label_smoothing), 0.5 * label_smoothing)
    x, logits = _resolve_logits(y_pred, from_logits, "sigmoid", "binary_focal_crossentropy")
    p = M.sigmoid(x) if logits else x
    bce = _bce_from_probs(y_true, p)
    p_t = M.add(M.multiply(y_true, p), M.multiply(M.subtract(1.0, y_true), M.subtract(1.0, p)))
    focal = M.multiply(M.pow(M.subtract(1.0, p_t), float(gamma)), bce)
    if apply_class_balancing:
        weight = M.add(M.multiply(y_true, float(alpha)), M.multiply(M.subtract(1.0, y_true), 1.0 - alpha))
        focal = M.multiply(weight, focal)
    return R.reduce_mean(focal, axis=axis)


# -- categorical cross-entropies ------------------------------------------------------------
def _check_axis(axis):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}")


def _categorical_pair(y_true, y_pred, fn_name: str, label_smoothing: float):
    y_pred = as_pred(y_pred)
    t = np_value(y_true)
    if t.shape != tuple(y_pred.shape):
        hint = ""
        if t.shape in (tuple(y_pred.shape[:-1]), tuple(y_pred.shape[:-1]) + (1,)):
            hint = (" y_true looks like integer class labels: use SparseCategoricalCrossentropy "
                    "(loss='sparse_categorical_crossentropy') for those, or one-hot encode them.")
        raise ValueError(
            f"{fn_name}: y_true and y_pred must have the same shape; received y_true.shape={t.shape} "
            f"and y_pred.shape={tuple(y_pred.shape)}.{hint}")
    if y_pred.shape[-1] == 1:
        warnings.warn(
            f"In loss {fn_name}, expected y_pred.shape to be (batch_size, num_classes) with "
            f"num_classes > 1. Received: y_pred.shape={tuple(y_pred.shape)}. Consider using "
            "'binary_crossentropy' if you only have 2 classes.", SyntaxWarning, stacklevel=3)
    y_true = as_true(y_true, y_pred)
    if label_smoothing:
        k = float(y_true.shape[-1])
        y_true = M.add(M.multiply(y_true, 1.0 - label_smoothing), label_smoothing / k)
    return y_true, y_pred


def _normalized_clipped(p: Tensor, axis: int) -> Tensor:
    p = M.divide(p, R.reduce_sum(p, axis=axis, keepdims=True))
    return _clip(p, EPSILON, 1.0 - EPSILON)


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0,
                             axis: int = -1) -> Tensor:
    """-sum(y_true * log(p), axis) with one-hot (or soft) labels of y_pred's shape.

    Probabilities are renormalized to sum to 1 and clipped to [1e-7, 1 - 1e-7] (Keras).

    >>> from tapeflow.keras import losses
    >>> [round(v, 4) for v in losses.categorical_crossentropy([[0, 1, 0], [0, 0, 1]],
    ...     [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]).numpy().tolist()]
    [0.0513, 2.3026]
    """
    _check_axis(axis)
    y_true, y_pred = _categorical_pair(y_true, y_pred, "categorical_crossentropy", label_smoothing)
    kind_ok = axis in (-1, y_pred._value.ndim - 1)
    x, logits = _resolve_logits(y_pred, from_logits, "softmax", "categorical_crossentropy") if kind_ok \
        else (y_pred, from_logits)
    if logits:
        return N.softmax_cross_entropy_with_logits(y_true, x, axis=axis)
    p = _normalized_clipped(x, axis)
    return M.negative(R.reduce_sum(M.multiply(y_true, M.log(p)), axis=axis))


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma: float = 2.0, from_logits: bool = False,
                                   label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """sum(alpha * (1 - p) ** gamma * -y_true * log(p), axis) (Lin et al. 2018)."""
    _check_axis(axis)
    y_true, y_pred = _categorical_pair(y_true, y_pred, "categorical_focal_crossentropy", label_smoothing)
    x, logits = _resolve_logits(y_pred, from_logits, "softmax", "categorical_focal_crossentropy")
    p = N.softmax(x, axis=axis) if logits else x
    p = _normalized_clipped(p, axis)
    cce = M.negative(M.multiply(y_true, M.log(p)))
    alpha_t = alpha if np.ndim(alpha) == 0 else Tensor._wrap(np.asarray(alpha, dtype=p._value.dtype))
    weight = M.multiply(M.pow(M.subtract(1.0, p), float(gamma)), alpha_t)
    return R.reduce_sum(M.multiply(weight, cce), axis=axis)


def _sparse_labels(y_true, y_pred: Tensor, fn_name: str, ignore_class):
    """Integer labels of shape y_pred.shape[:-1] (validated) and the valid-entry mask."""
    return _checked_labels(np_value(y_true), tuple(y_pred.shape), fn_name, ignore_class)


def _labels_tensor(y_true, lab: np.ndarray, pshape, fn_name: str) -> Tensor:
    """``lab`` (already checked) as a Tensor a traced step recomputes from ``y_true``: the output of the
    ``sparse_labels`` primitive, which converts and checks again, so a replay raises what eager raises."""
    raw = np_value(y_true)
    return bind(_labels_prim, Tensor._wrap(raw), pshape=tuple(pshape), fn_name=fn_name) \
        if isinstance(raw, np.ndarray) and raw.dtype.kind in "iuf" else Tensor._wrap(lab)


def _labels_fwd(y, pshape, fn_name):
    return _checked_labels(y, pshape, fn_name, None)[0]


_labels_prim = primitive("sparse_labels", _labels_fwd)  # integer output: nothing to differentiate


def _checked_labels(lab: np.ndarray, pshape: tuple, fn_name: str, ignore_class):
    if lab.ndim == len(pshape) and lab.ndim > 0 and lab.shape[-1] == 1:
        lab = lab.reshape(lab.shape[:-1])
    elif lab.shape == pshape and pshape[-1] > 1:
        raise ValueError(
            f"{fn_name}: y_true has the shape of y_pred {pshape}, so it looks one-hot encoded; this loss "
            "expects integer class indices of shape y_pred.shape[:-1]. Use CategoricalCrossentropy "
            "(loss='categorical_crossentropy') for one-hot labels, or pass argmax(y_true, axis=-1).")
    if lab.shape != pshape[:-1]:
        raise ValueError(
            f"{fn_name}: y_true must hold one integer class index per prediction, of shape {pshape[:-1]} "
            f"(or {pshape[:-1] + (1,)}); received y_true.shape={lab.shape} for y_pred.shape={pshape}")
    if lab.dtype.kind == "f":
        if lab.size and not np.all(np.floor(lab) == lab):
            raise ValueError(f"{fn_name}: y_true must hold integer class indices; got non-integer values "
                             f"such as {lab[np.floor(lab) != lab].ravel()[0]}")
        lab = lab.astype(np.int64)
    elif lab.dtype.kind not in "iub":
        raise ValueError(f"{fn_name}: y_true must hold integer class indices, got dtype {lab.dtype}")
    valid = None
    if ignore_class is not None:
        valid = lab != ignore_class
        lab = np.where(valid, lab, 0)
    k = pshape[-1]
    if lab.size:
        lo, hi = int(lab.min()), int(lab.max())
        if lo < 0 or hi >= k:
            raise ValueError(
                f"{fn_name}: labels must lie in [0, {k}) for y_pred with {k} classes; received labels in "
                f"[{lo}, {hi}]. Check the label encoding (e.g. labels starting at 1) or the size of the "
                "output layer" + ("" if ignore_class is None else f" (ignore_class={ignore_class})") + ".")
    return lab, valid


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False, ignore_class=None,
                                    axis: int = -1) -> Tensor:
    """-log p[label] with integer labels of shape y_pred.shape[:-1] (or [..., 1]).

    With logits (``from_logits=True`` or a softmax output carrying ``_keras_logits``) this is the
    fused ``sparse_softmax_cross_entropy_with_logits`` primitive. ``ignore_class`` entries give 0
    and are masked out of the mean.

    >>> from tapeflow.keras import losses
    >>> [round(v, 4) for v in losses.sparse_categorical_crossentropy(
    ...     [1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]).numpy().tolist()]
    [0.0513, 2.3026]
    """
    _check_axis(axis)
    y_pred = as_pred(y_pred)
    if axis not in (-1, y_pred._value.ndim - 1):
        y_pred = A.transpose(y_pred, [i for i in range(y_pred._value.ndim) if i != axis % y_pred._value.ndim]
                             + [axis % y_pred._value.ndim])
    lab, valid = _sparse_labels(y_true, y_pred, "sparse_categorical_crossentropy", ignore_class)
    x, logits = _resolve_logits(y_pred, from_logits, "softmax", "sparse_categorical_crossentropy")
    if logits:
        if valid is None:
            lab = _labels_tensor(y_true, lab, y_pred.shape, "sparse_categorical_crossentropy")
        out = N.sparse_softmax_cross_entropy_with_logits(labels=lab, logits=x)
    else:
        onehot = np.zeros(x._value.shape, dtype=x._value.dtype)
        np.put_along_axis(onehot, lab[..., None].astype(np.intp), 1, axis=-1)
        picked = R.reduce_sum(M.multiply(x, Tensor._wrap(onehot)), axis=-1)
        p = _clip(M.divide(picked, R.reduce_sum(x, axis=-1)), EPSILON, 1.0 - EPSILON)
        out = M.negative(M.log(p))
    if valid is not None:
        out = M.multiply(out, Tensor._wrap(valid.astype(out._value.dtype)))
        out._keras_mask = valid
    return out
