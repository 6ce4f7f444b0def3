"""``tf.keras.losses``: Keras 3 loss classes and functions, ``get``, ``serialize``, ``deserialize``.

``get("sparse_categorical_crossentropy")`` returns the function (as Keras); ``get("Huber")`` or a
config dict returns an instance; ``as_loss(identifier)`` always returns a ``Loss`` object (strings
give the matching class, plain functions are wrapped) for code that wants one interface.

>>> from tapeflow.keras import losses
>>> losses.get("mse") is losses.mean_squared_error
True
>>> type(losses.as_loss("mse")).__name__
'MeanSquaredError'
"""
from __future__ import annotations

import difflib
import inspect

from .classes import (ALL_CLASSES, BinaryCrossentropy, BinaryFocalCrossentropy,  # noqa: F401
                      CategoricalCrossentropy, CategoricalFocalCrossentropy, CategoricalHinge,
                      CosineSimilarity, Hinge, Huber, KLDivergence, LogCosh, MeanAbsoluteError,
                      MeanAbsolutePercentageError, MeanSquaredError, MeanSquaredLogarithmicError, Poisson,
                      SparseCategoricalCrossentropy, SquaredHinge)
from .functions import (binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,  # noqa: F401
                        categorical_focal_crossentropy, categorical_hinge, cosine_similarity, hinge, huber,
                        kl_divergence, log_cosh, mean_absolute_error, mean_absolute_percentage_error,
                        mean_squared_error, mean_squared_logarithmic_error, poisson,
                        sparse_categorical_crossentropy, squared_hinge)
from .extra import (CTC, CategoricalGeneralizedCrossEntropy, Circle, Dice, Tversky,  # noqa: F401
                    categorical_generalized_cross_entropy, circle, ctc, dice, tversky)
from .extra import EXTRA_CLASSES as _EXTRA_CLASSES
from .loss import (EPSILON, Loss, LossFunctionWrapper, Reduction, reduce_weighted_values,  # noqa: F401
                   squeeze_or_expand_to_same_rank, standardize_reduction)

# Aliases, as Keras (and tf.keras 2's legacy names).
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
huber_loss = huber

_FUNCTIONS = {f.__name__: f for f in (
    binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy, categorical_focal_crossentropy,
    categorical_hinge, cosine_similarity, hinge, huber, kl_divergence, log_cosh, mean_absolute_error,
    mean_absolute_percentage_error, mean_squared_error, mean_squared_logarithmic_error, poisson,
    sparse_categorical_crossentropy, squared_hinge, dice, tversky, circle, ctc)}
_FUNCTIONS.update({"mse": mse, "MSE": mse, "mae": mae, "MAE": mae, "mape": mape, "MAPE": mape,
                   "msle": msle, "MSLE": msle, "kld": kld, "KLD": kld, "kullback_leibler_divergence": kld,
                   "logcosh": log_cosh, "huber_loss": huber, "bce": binary_crossentropy,
                   "BCE": binary_crossentropy, "cce": categorical_crossentropy, "CCE": categorical_crossentropy,
                   "scce": sparse_categorical_crossentropy, "SCCE": sparse_categorical_crossentropy})
_CLASSES = {c.__name__: c for c in ALL_CLASSES + _EXTRA_CLASSES}
_CLASSES.update({"Loss": Loss, "LossFunctionWrapper": LossFunctionWrapper})
_FN_TO_CLASS = {
    mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError, cosine_similarity: CosineSimilarity,
    huber: Huber, log_cosh: LogCosh, hinge: Hinge, squared_hinge: SquaredHinge,
    categorical_hinge: CategoricalHinge, kl_divergence: KLDivergence, poisson: Poisson,
    binary_crossentropy: BinaryCrossentropy, binary_focal_crossentropy: BinaryFocalCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    categorical_focal_crossentropy: CategoricalFocalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy, dice: Dice, tversky: Tversky, circle: Circle,
    ctc: CTC}


def _unknown(name: str) -> ValueError:
    known = sorted(set(_FUNCTIONS) | set(_CLASSES))
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return ValueError(f"Unknown loss {name!r}.{hint} Known losses: {', '.join(known)}")


def serialize(loss):
    """A JSON-able description: Keras 3's ``{"module", "class_name", "config", "registered_name"}`` for Loss
    objects, the name for functions."""
    if isinstance(loss, Loss):
        from .._serialization import serialize_keras_object
        return serialize_keras_object(loss, module="keras.losses")
    if callable(loss) and getattr(loss, "__name__", None) in _FUNCTIONS:
        return loss.__name__
    raise ValueError(f"Cannot serialize loss {loss!r}: only tapeflow losses and known loss functions are supported")


def deserialize(config, custom_objects=None):
    """Inverse of ``serialize``: classes and functions come only from the known-name registry
    (plus ``custom_objects``), never from an import path found in a file."""
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        if config in custom_objects:
            return custom_objects[config]
        if config in _FUNCTIONS:
            return _FUNCTIONS[config]
        if config in _CLASSES:
            return _CLASSES[config]()
        raise _unknown(config)
    if isinstance(config, dict):
        name = config.get("class_name")
        cls = custom_objects.get(name) or _CLASSES.get(name)
        if cls is None:
            raise _unknown(str(name))
        return cls.from_config(dict(config.get("config", {})))
    raise ValueError(f"Could not deserialize loss from {config!r}")


def get(identifier):
    """Resolve a loss identifier as Keras: None, a Loss, a Loss class, a function, a config dict,
    or a name (snake_case names give the function, class names an instance).

    Unknown names raise ValueError listing close matches.
    """
    if identifier is None:
        return None
    if isinstance(identifier, Loss):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")


def as_loss(identifier, reduction="sum_over_batch_size") -> Loss | None:
    """Like ``get`` but always a ``Loss`` object: known functions and names map to their class
    (``"mse"`` -> ``MeanSquaredError()``), other callables are wrapped in ``LossFunctionWrapper``.

    >>> from tapeflow.keras import losses
    >>> losses.as_loss("sparse_categorical_crossentropy").name
    'sparse_categorical_crossentropy'
    """
    obj = get(identifier)
    if obj is None or isinstance(obj, Loss):
        return obj
    cls = _FN_TO_CLASS.get(obj)
    if cls is not None:
        return cls(reduction=reduction)
    return LossFunctionWrapper(obj, reduction=reduction, name=getattr(obj, "__name__", None))


__all__ = sorted([n for n in globals() if not n.startswith("_") and n not in ("annotations", "difflib", "inspect")])
