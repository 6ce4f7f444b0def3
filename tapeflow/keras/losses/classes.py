"""Loss classes (Keras 3 names, arguments and defaults) over the functions in ``functions.py``.

Every class takes ``reduction`` (``"sum_over_batch_size"`` default, ``"sum"``, ``"mean"``,
``"mean_with_sample_weight"``, ``None``/``"none"``), ``name`` and ``dtype``, and is called as
``loss(y_true, y_pred, sample_weight=None)``.
"""
from __future__ import annotations

from . import functions as F
from .loss import LossFunctionWrapper

_SOBS = "sum_over_batch_size"


class MeanSquaredError(LossFunctionWrapper):
    """mean(square(y_true - y_pred)).

    >>> from tapeflow.keras import losses
    >>> float(losses.MeanSquaredError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]))
    0.5
    """

    def __init__(self, reduction=_SOBS, name="mean_squared_error", dtype=None):
        super().__init__(F.mean_squared_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(LossFunctionWrapper):
    """mean(abs(y_true - y_pred)).

    >>> from tapeflow.keras import losses
    >>> float(losses.MeanAbsoluteError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]))
    0.5
    """

    def __init__(self, reduction=_SOBS, name="mean_absolute_error", dtype=None):
        super().__init__(F.mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """100 * mean(abs((y_true - y_pred) / y_true)).

    >>> from tapeflow.keras import losses
    >>> round(float(losses.MeanAbsolutePercentageError()([[2.0, 4.0]], [[1.0, 4.0]])), 3)
    25.0
    """

    def __init__(self, reduction=_SOBS, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(F.mean_absolute_percentage_error, reduction=reduction, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """mean(square(log(y_true + 1) - log(y_pred + 1))).

    >>> from tapeflow.keras import losses
    >>> float(losses.MeanSquaredLogarithmicError()([[1.0]], [[1.0]]))
    0.0
    """

    def __init__(self, reduction=_SOBS, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(F.mean_squared_logarithmic_error, reduction=reduction, name=name, dtype=dtype)


class CosineSimilarity(LossFunctionWrapper):
    """-sum(l2_norm(y_true) * l2_norm(y_pred), axis): -1 for aligned vectors.

    >>> from tapeflow.keras import losses
    >>> round(float(losses.CosineSimilarity()([[0.0, 2.0]], [[0.0, 3.0]])), 4)
    -1.0
    """

    def __init__(self, axis=-1, reduction=_SOBS, name="cosine_similarity", dtype=None):
        super().__init__(F.cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)


class Huber(LossFunctionWrapper):
    """Quadratic for |error| <= delta, linear beyond (smooth L1 with ``delta=1``).

    >>> from tapeflow.keras import losses
    >>> round(float(losses.Huber()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])), 3)
    0.155
    """

    def __init__(self, delta=1.0, reduction=_SOBS, name="huber_loss", dtype=None):
        super().__init__(F.huber, reduction=reduction, name=name, dtype=dtype, delta=delta)


class LogCosh(LossFunctionWrapper):
    """mean(log(cosh(y_pred - y_true))).

    >>> from tapeflow.keras import losses
    >>> round(float(losses.LogCosh()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]])), 3)
    0.108
    """

    def __init__(self, reduction=_SOBS, name="log_cosh", dtype=None):
        super().__init__(F.log_cosh, reduction=reduction, name=name, dtype=dtype)


class Hinge(LossFunctionWrapper):
    """mean(max(1 - y_true * y_pred, 0)); labels in {0, 1} are mapped to {-1, 1}.

    >>> from tapeflow.keras import losses
    >>> round(float(losses.Hinge()([[0.0, 1.0], [0.0, 0.0]], [[0.6, 0.4], [0.4, 0.6]])), 3)
    1.3
    """

    def __init__(self, reduction=_SOBS, name="hinge", dtype=None):
        super().__init__(F.hinge, reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(LossFunctionWrapper):
    """mean(square(max(1 - y_true * y_pred, 0))).

    >>> from tapeflow.keras import losses
    >>> round(float(losses.SquaredHinge()([[0.0, 1.0], [0.0, 0.0]], [[0.6, 0.4], [0.4, 0.6]])), 3)
    1.86
    """

    def __init__(self, reduction=_SOBS, name="squared_hinge", dtype=None):
        super().__init__(F.squared_hinge, reduction=reduction, name=name, dtype=dtype)


class CategoricalHinge(LossFunctionWrapper):
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0).

    >>> from tapeflow.keras import losses
    >>> round(float(losses.CategoricalHinge()([[0.0, 1.0], [0.0, 0.0]], [[0.6, 0.4], [0.4, 0.6]])), 3)
    1.4
    """

    def __init__(self, reduction=_SOBS, name="categorical_hinge", dtype=None):
        super().__init__(F.categorical_hinge, reduction=reduction, name=name, dtype=dtype)


class KLDivergence(LossFunctionWrapper):
    """sum(y_true * log(y_true / y_pred)) over the last axis.

    >>> from tapeflow.keras import losses
    >>> float(losses.KLDivergence()([[0.5, 0.5]], [[0.5, 0.5]]))
    0.0
    """

    def __init__(self, reduction=_SOBS, name="kl_divergence", dtype=None):
        super().__init__(F.kl_divergence, reduction=reduction, name=name, dtype=dtype)


class Poisson(LossFunctionWrapper):
    """mean(y_pred - y_true * log(y_pred + epsilon)).

    >>> from tapeflow.keras import losses
    >>> round(float(losses.Poisson()([[1.0]], [[1.0]])), 4)
    1.0
    """

    def __init__(self, reduction=_SOBS, name="poisson", dtype=None):
        super().__init__(F.poisson, reduction=reduction, name=name, dtype=dtype)


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy for 0/1 (or soft) labels; mean over ``axis``.

    ``from_logits=True`` takes raw scores; ``label_smoothing`` moves labels towards 0.5.

    >>> from tapeflow.keras import losses
    >>> round(float(losses.BinaryCrossentropy()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])), 3)
    0.815
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_SOBS,
                 name="binary_crossentropy", dtype=None):
        super().__init__(F.binary_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy down-weighting easy examples by (1 - p_t) ** gamma.

    >>> from tapeflow.keras import losses
    >>> round(float(losses.BinaryFocalCrossentropy(gamma=2.0)([[0, 1], [0, 0]],
    ...                                                       [[0.6, 0.4], [0.4, 0.6]])), 3)
    0.268
    """

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction=_SOBS, name="binary_focal_crossentropy", dtype=None):
        super().__init__(F.binary_focal_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.apply_class_balancing, self.alpha, self.gamma = apply_class_balancing, alpha, gamma
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy for one-hot (or soft) labels of y_pred's shape.

    >>> from tapeflow.keras import losses
    >>> round(float(losses.CategoricalCrossentropy()([[0, 1, 0], [0, 0, 1]],
    ...                                              [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])), 3)
    1.177
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_SOBS,
                 name="categorical_crossentropy", dtype=None):
        super().__init__(F.categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical cross-entropy weighted by alpha * (1 - p) ** gamma.

    >>> from tapeflow.keras import losses
    >>> round(float(losses.CategoricalFocalCrossentropy()([[0., 1., 0.], [0., 0., 1.]],
    ...                                                   [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])), 4)
    0.2332
    """

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction=_SOBS, name="categorical_focal_crossentropy", dtype=None):
        super().__init__(F.categorical_focal_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.alpha, self.gamma = alpha, gamma
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy for integer class labels of shape y_pred.shape[:-1] (or [..., 1]).

    >>> from tapeflow.keras import losses
    >>> round(float(losses.SparseCategoricalCrossentropy()([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])), 3)
    1.177
    """

    def __init__(self, from_logits=False, ignore_class=None, reduction=_SOBS,
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(F.sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class)
        self.from_logits, self.ignore_class = from_logits, ignore_class


ALL_CLASSES = (MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
               CosineSimilarity, Huber, LogCosh, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
               BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
               CategoricalFocalCrossentropy, SparseCategoricalCrossentropy)
