"""``tf.keras.metrics``: stateful Keras 3 metrics, ``get``, and the trainer's name resolution.

``get(identifier)`` always returns a ``Metric`` object (names, classes, functions, config dicts).
``resolve(identifier, y_true_shape, y_pred_shape, loss)`` is what ``compile(metrics=[...])``
needs: it also turns ``"accuracy"``/``"acc"`` and ``"crossentropy"``/``"ce"`` into the variant
that fits the label/prediction shapes and the loss, as Keras does.

>>> from tapeflow.keras import metrics
>>> type(metrics.resolve("accuracy", (32,), (32, 10), "sparse_categorical_crossentropy")).__name__
'SparseCategoricalAccuracy'
"""
from __future__ import annotations

import difflib
import inspect

from .. import losses as _losses
from .accuracy import (Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,  # noqa: F401
                       SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy, accuracy, binary_accuracy,
                       categorical_accuracy, sparse_categorical_accuracy, sparse_top_k_categorical_accuracy,
                       top_k_categorical_accuracy)
from .base import Mean, MeanMetricWrapper, Metric, Sum  # noqa: F401
from .confusion import (AUC, FalseNegatives, FalsePositives, Precision, Recall, TrueNegatives,  # noqa: F401
                        TruePositives)
from .extra import (BinaryIoU, ConcordanceCorrelation, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU,  # noqa: F401
                    PearsonCorrelation, PrecisionAtRecall, R2Score, RecallAtPrecision, SensitivityAtSpecificity,
                    SpecificityAtSensitivity, concordance_correlation, pearson_correlation)
from .extra import EXTRA_CLASSES as _EXTRA_CLASSES
from .f_score import F1Score, FBetaScore  # noqa: F401
from .regression import (BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge,  # noqa: F401
                         CosineSimilarity, Hinge, KLDivergence, LogCoshError, MeanAbsoluteError,
                         MeanAbsolutePercentageError, MeanSquaredError, MeanSquaredLogarithmicError, Poisson,
                         RootMeanSquaredError, SparseCategoricalCrossentropy, SquaredHinge)

# Keras exports the loss functions under keras.metrics too.
from ..losses import (binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,  # noqa: F401,E402
                      categorical_focal_crossentropy, categorical_hinge, hinge, huber, kl_divergence, log_cosh,
                      mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
                      mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy, squared_hinge)

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error

_CLASSES = {c.__name__: c for c in (
    Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, TruePositives, FalsePositives, TrueNegatives,
    FalseNegatives, Precision, Recall, AUC, F1Score, FBetaScore, MeanSquaredError, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, RootMeanSquaredError, LogCoshError,
    CosineSimilarity, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge) + _EXTRA_CLASSES}

# name -> class; the metric is created with the name as written (history keys follow it).
_NAMES = {
    "accuracy": Accuracy, "acc": Accuracy, "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy, "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mse": MeanSquaredError, "MSE": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "rmse": RootMeanSquaredError, "root_mean_squared_error": RootMeanSquaredError,
    "logcosh": LogCoshError, "log_cosh": LogCoshError, "log_cosh_error": LogCoshError,
    "cosine_similarity": CosineSimilarity, "cosine_proximity": CosineSimilarity,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy, "cce": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy, "scce": SparseCategoricalCrossentropy,
    "kld": KLDivergence, "KLD": KLDivergence, "kl_divergence": KLDivergence,
    "kullback_leibler_divergence": KLDivergence, "poisson": Poisson, "hinge": Hinge,
    "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge, "auc": AUC, "precision": Precision,
    "recall": Recall, "f1_score": F1Score, "fbeta_score": FBetaScore, "true_positives": TruePositives,
    "false_positives": FalsePositives, "true_negatives": TrueNegatives, "false_negatives": FalseNegatives,
    "r2_score": R2Score, "pearson_correlation": PearsonCorrelation, "concordance_correlation": ConcordanceCorrelation,
}
# metric functions without a dedicated class: wrapped in MeanMetricWrapper
_FUNCTION_METRICS = {"huber": huber, "binary_focal_crossentropy": binary_focal_crossentropy,
                     "categorical_focal_crossentropy": categorical_focal_crossentropy}


def _function_by_name(name: str):
    """Known metric functions by name (used by MeanMetricWrapper.from_config)."""
    table = {f.__name__: f for f in (accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
                                     top_k_categorical_accuracy, sparse_top_k_categorical_accuracy)}
    table.update(_losses._FUNCTIONS)
    if name not in table:
        raise _unknown(name)
    return table[name]


def _unknown(name: str) -> ValueError:
    known = sorted(set(_NAMES) | set(_CLASSES) | set(_FUNCTION_METRICS))
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return ValueError(f"Unknown metric {name!r}.{hint} Known metrics: {', '.join(known)}")


def serialize(metric: Metric) -> dict:
    """Keras 3's ``{"module", "class_name", "config", "registered_name"}`` of a metric."""
    if not isinstance(metric, Metric):
        raise ValueError(f"Cannot serialize {metric!r}: not a tapeflow Metric")
    from .._serialization import serialize_keras_object
    return serialize_keras_object(metric, module="keras.metrics")


def deserialize(config, custom_objects=None) -> Metric:
    """Inverse of ``serialize``; classes come only from the known-name registry (or ``custom_objects``)."""
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        return get(custom_objects[config]) if config in custom_objects else get(config)
    if isinstance(config, dict):
        name = config.get("class_name")
        cls = custom_objects.get(name) or _CLASSES.get(name)
        if cls is None:
            raise _unknown(str(name))
        return cls.from_config(dict(config.get("config", {})))
    raise ValueError(f"Could not deserialize metric from {config!r}")


def get(identifier) -> Metric | None:
    """A Metric from a name, class, instance, function or config dict.

    Names create the metric under the name as written (``get("mse").name == "mse"``).
    ``"accuracy"`` gives the exact-match ``Accuracy``; a trainer should call ``resolve`` instead.

    >>> from tapeflow.keras import metrics
    >>> metrics.get("mae").name
    'mae'
    """
    if identifier is None:
        return None
    if isinstance(identifier, Metric):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in _NAMES:
            return _NAMES[identifier](name=identifier)
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        if identifier in _FUNCTION_METRICS:
            return MeanMetricWrapper(_FUNCTION_METRICS[identifier], name=identifier)
        raise _unknown(identifier)
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


_BINARY_LOSS_NAMES = {"binary_crossentropy", "bce", "BCE", "BinaryCrossentropy", "binary_focal_crossentropy",
                      "BinaryFocalCrossentropy"}


def _is_binary_loss(loss) -> bool:
    if isinstance(loss, str):
        return loss in _BINARY_LOSS_NAMES
    if isinstance(loss, (_losses.BinaryCrossentropy, _losses.BinaryFocalCrossentropy)):
        return True
    fn = getattr(loss, "fn", loss)
    return fn in (_losses.binary_crossentropy, _losses.binary_focal_crossentropy)


def _kind(y_true_shape, y_pred_shape, loss) -> str:
    t, p = tuple(y_true_shape), tuple(y_pred_shape)
    if len(p) <= 1 or p[-1] == 1 or _is_binary_loss(loss):
        return "binary"
    if len(t) < len(p) or (len(t) and t[-1] == 1 and p[-1] != 1):
        return "sparse"
    return "categorical"


def resolve_accuracy(y_true_shape, y_pred_shape, loss=None, name: str = "accuracy") -> Metric:
    """Keras's rule for ``metrics=["accuracy"]``: BinaryAccuracy when y_pred has one unit per
    sample or the loss is a binary cross-entropy, SparseCategoricalAccuracy when y_true has one
    fewer axis than y_pred or a last axis of 1 (integer labels), CategoricalAccuracy otherwise.

    >>> from tapeflow.keras import metrics
    >>> type(metrics.resolve_accuracy((8, 1), (8, 1))).__name__
    'BinaryAccuracy'
    >>> type(metrics.resolve_accuracy((8, 3), (8, 3))).__name__
    'CategoricalAccuracy'
    """
    kind = _kind(y_true_shape, y_pred_shape, loss)
    cls = {"binary": BinaryAccuracy, "sparse": SparseCategoricalAccuracy, "categorical": CategoricalAccuracy}[kind]
    return cls(name=name)


def resolve_crossentropy(y_true_shape, y_pred_shape, loss=None, name: str = "crossentropy") -> Metric:
    """``metrics=["crossentropy"]``: the binary / sparse / categorical cross-entropy metric chosen
    by the same rule as ``resolve_accuracy``; ``from_logits`` follows the loss when it has one."""
    kind = _kind(y_true_shape, y_pred_shape, loss)
    cls = {"binary": BinaryCrossentropy, "sparse": SparseCategoricalCrossentropy,
           "categorical": CategoricalCrossentropy}[kind]
    from_logits = bool(getattr(loss, "from_logits", False))
    return cls(name=name, from_logits=from_logits)


def resolve(identifier, y_true_shape=None, y_pred_shape=None, loss=None) -> Metric | None:
    """What ``compile(metrics=[identifier])`` means for an output with these shapes and loss."""
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc", "crossentropy", "ce"):
        if y_true_shape is None or y_pred_shape is None:
            raise ValueError(f"metrics.resolve: {identifier!r} depends on the shapes of y_true and y_pred; "
                             "pass y_true_shape and y_pred_shape")
        fn = resolve_accuracy if identifier.lower() in ("accuracy", "acc") else resolve_crossentropy
        return fn(y_true_shape, y_pred_shape, loss, name=identifier)
    return get(identifier)


__all__ = sorted(n for n in globals() if not n.startswith("_") and n not in ("annotations", "difflib", "inspect"))
