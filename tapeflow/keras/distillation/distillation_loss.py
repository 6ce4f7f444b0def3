"""The distillation losses of ``keras.distillation``: ``DistillationLoss`` (the base class),
``LogitsDistillation`` and ``FeatureDistillation``, as in Keras 3.15.1.

A distillation loss compares the frozen teacher's outputs (or an intermediate layer's) with the
student's and returns one scalar; ``Distiller`` weighs it against the student's own loss.

``loss`` may be a name, a ``keras.losses`` object or function, or a nested structure of those
matching the outputs, with ``None`` where an output is not distilled. Names resolve through
``keras.losses.get`` exactly as in Keras, so ``"kl_divergence"`` is the *function* (see
``LogitsDistillation`` for what that changes).
"""
from __future__ import annotations

import numbers

from ...ops import array_ops as A
from ...ops import math_ops as M
from ...ops import reduce_ops as R
from .. import activations, losses
from .. import tree

__all__ = ["DistillationLoss", "LogitsDistillation", "FeatureDistillation"]


# -- loss identifiers -------------------------------------------------------------------------
def convert_loss_to_function(loss_item, argument: str = "loss"):
    """One loss leaf resolved as Keras does: None stays None, a name goes through ``keras.losses.get``
    (``"mse"`` gives the function, ``"MeanSquaredError"`` an instance), anything callable is kept.

    >>> convert_loss_to_function("mse").__name__
    'mean_squared_error'
    >>> convert_loss_to_function(None) is None
    True
    """
    if loss_item is None:
        return None
    if isinstance(loss_item, str):
        try:
            return losses.get(loss_item)
        except ValueError as e:
            raise ValueError(f"{argument}={loss_item!r} is not a known loss name: {e}") from None
    if not callable(loss_item):
        raise ValueError(f"{argument} must be a loss name, a keras.losses object or function, None, or a nested "
                         f"list/dict of those; got {type(loss_item).__name__} {loss_item!r}")
    return loss_item


def convert_losses(loss, argument: str = "loss"):
    """``convert_loss_to_function`` applied to every leaf of a (possibly nested) loss structure.

    >>> [getattr(f, "__name__", f) for f in convert_losses(["mae", None])]
    ['mean_absolute_error', None]
    """
    return tree.map_structure(lambda item: convert_loss_to_function(item, argument), loss)


def serialize_loss(loss):
    """Keras 3's config for a loss structure: a function is ``{"module": "builtins", "class_name": "function",
    "config": name, ...}``, a ``Loss`` object ``{"module": "keras.losses", "class_name", "config", ...}``.

    >>> serialize_loss(losses.mean_squared_error)["config"]
    'mean_squared_error'
    """
    from .._serialization import get_registered_name

    def one(item):
        if item is None:
            return None
        if isinstance(item, losses.Loss):
            registered = get_registered_name(type(item))
            return {"module": "keras.losses", "class_name": type(item).__name__, "config": item.get_config(),
                    "registered_name": registered if registered != type(item).__name__ else None}
        if isinstance(item, str):
            return item
        return {"module": "builtins", "class_name": "function", "config": getattr(item, "__name__", repr(item)),
                "registered_name": "function" if get_registered_name(item) == item.__name__
                else get_registered_name(item)}
    return tree.map_structure(one, loss)


def deserialize_loss(config):
    """Inverse of ``serialize_loss``; classes and functions come only from ``keras.losses`` and the
    registered custom objects (``keras.saving.register_keras_serializable``), never from a module path.

    >>> deserialize_loss({"module": "builtins", "class_name": "function", "config": "mean_squared_error",
    ...                   "registered_name": "function"}).__name__
    'mean_squared_error'
    """
    from .._serialization import get_registered_object

    def one(item):
        if item is None:
            return None
        if isinstance(item, str):
            return get_registered_object(item) or losses.get(item)
        if item.get("class_name") == "function":
            registered = item.get("registered_name")
            if registered and registered != "function":
                found = get_registered_object(registered)
                if found is not None:
                    return found
            return get_registered_object(item["config"]) or losses.get(item["config"])
        name = item.get("registered_name") or item["class_name"]
        cls = get_registered_object(name)
        if cls is not None:
            return cls.from_config(dict(item.get("config") or {}))
        return losses.deserialize({"class_name": item["class_name"], "config": item.get("config") or {}})

    def walk(item):
        if isinstance(item, dict) and "class_name" not in item:
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return type(item)(walk(v) for v in item)
        return one(item)
    return walk(config)


def _require_some_loss(loss, who: str) -> None:
    if all(item is None for item in tree.flatten(loss)):
        raise ValueError(f"{who}: the `loss` argument must contain at least one non-None loss; got loss={loss!r}. "
                         "Pass a loss name such as 'mse' (None only skips some outputs of a multi-output model).")


def _sum_scalars(values):
    """Sum of a flat list of scalars (Tensors or 0.0 for skipped outputs), as ``ops.sum(ops.stack(...))``."""
    return R.reduce_sum(A.stack([M.add(v, 0.0) if not hasattr(v, "_value") else v for v in values]))


# -- the base class -----------------------------------------------------------------------------
class DistillationLoss:
    """Base class of the distillation losses: subclass it and override ``compute_loss``.

    >>> import tapeflow as tf
    >>> class MeanGap(DistillationLoss):
    ...     def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
    ...         return tf.reduce_mean(tf.abs(teacher_outputs - student_outputs))
    >>> float(MeanGap().compute_loss(tf.constant([1.0, 2.0]), tf.constant([1.5, 2.5])))
    0.5
    """

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        """The scalar distillation loss between the teacher's and the student's outputs."""
        raise NotImplementedError(f"{type(self).__name__} must implement compute_loss(teacher_outputs, "
                                  "student_outputs, **kwargs) returning a scalar tensor")

    def validate_outputs(self, teacher_outputs, student_outputs) -> None:
        """Raise ``ValueError`` unless the teacher's and the student's outputs have the same nesting."""
        try:
            tree.assert_same_structure(teacher_outputs, student_outputs, check_types=False)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{type(self).__name__}: the teacher's and the student's outputs must have the same "
                             f"structure; {e}") from None

    def validate_model_compatibility(self, teacher, student) -> None:
        """Raise ``ValueError`` if this loss cannot work with these models (the base class accepts any)."""

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check_temperature(temperature):
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise ValueError(f"LogitsDistillation: temperature must be a number (int or float), got "
                         f"{type(temperature).__name__} {temperature!r}")
    if temperature <= 0.0:
        raise ValueError(f"LogitsDistillation: temperature must be positive, got {temperature}; "
                         "typical values are 2 to 5")


class LogitsDistillation(DistillationLoss):
    """Match the student's final logits to the teacher's, both divided by ``temperature``.

    With a ``keras.losses.KLDivergence`` *object*, both scaled logits go through a softmax and the
    KL divergence is multiplied by ``temperature**2`` (Hinton et al.). Any other loss, including the
    default name ``"kl_divergence"`` (which Keras resolves to the plain function), gets the scaled
    logits themselves as ``(y_true, y_pred)``: no softmax and no ``temperature**2``. That is Keras
    3.15.1's behaviour and is kept here so that numbers agree; pass ``keras.losses.KLDivergence()``
    for the textbook loss.

    >>> import tapeflow as tf
    >>> kd = LogitsDistillation(temperature=2.0, loss=tf.keras.losses.KLDivergence())
    >>> t, s = tf.constant([[2.0, 0.0, -2.0]]), tf.constant([[0.0, 0.0, 0.0]])
    >>> round(float(kd.compute_loss(t, s)), 4)
    1.0649
    """

    def __init__(self, temperature=3.0, loss="kl_divergence"):
        self.temperature = temperature
        self.loss = convert_losses(loss)
        _require_some_loss(self.loss, "LogitsDistillation")
        _check_temperature(temperature)

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        """Sum over outputs of the configured loss on ``logits / temperature`` (see the class docstring)."""
        temperature = self.temperature
        teacher_scaled = tree.map_structure(lambda t: M.divide(t, temperature), teacher_outputs)
        student_scaled = tree.map_structure(lambda s: M.divide(s, temperature), student_outputs)

        def apply(loss_fn, teacher_logits, student_logits):
            if loss_fn is None:
                return 0.0
            if isinstance(loss_fn, losses.KLDivergence):
                teacher_probs = activations.softmax(teacher_logits, axis=-1)
                student_probs = activations.softmax(student_logits, axis=-1)
                value = R.reduce_mean(loss_fn(teacher_probs, student_probs))
                return M.multiply(value, float(temperature) ** 2)
            return R.reduce_mean(loss_fn(teacher_logits, student_logits))

        per_output = tree.map_structure(apply, self.loss, teacher_scaled, student_scaled)
        return _sum_scalars(tree.flatten(per_output))

    def get_config(self) -> dict:
        return {"temperature": self.temperature, "loss": serialize_loss(self.loss)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["loss"] = deserialize_loss(config["loss"])
        return cls(**config)


class FeatureDistillation(DistillationLoss):
    """Match an intermediate layer's output (or the final outputs) of the student to the teacher's.

    ``teacher_layer_name`` / ``student_layer_name`` name layers of Functional or Sequential models;
    ``Distiller`` builds feature-extractor models that return those layers' outputs. With no names
    the final outputs are compared. The loss (default ``"mse"``) is applied as ``loss(teacher,
    student)`` and averaged to a scalar.

    >>> import tapeflow as tf
    >>> fd = FeatureDistillation(loss="mse")
    >>> float(fd.compute_loss(tf.constant([[1.0, 2.0]]), tf.constant([[1.0, 4.0]])))
    2.0
    """

    def __init__(self, loss="mse", teacher_layer_name=None, student_layer_name=None):
        self.teacher_layer_name = teacher_layer_name
        self.student_layer_name = student_layer_name
        for argument, value in (("teacher_layer_name", teacher_layer_name),
                                ("student_layer_name", student_layer_name)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"FeatureDistillation: {argument} must be a layer name (str) or None, got "
                                 f"{type(value).__name__} {value!r}")
        self.loss = convert_losses(loss)
        _require_some_loss(self.loss, "FeatureDistillation")

    def validate_model_compatibility(self, teacher, student) -> None:
        """Layer names need models with symbolic inputs (Functional/Sequential) holding those layers."""
        if self.teacher_layer_name is None and self.student_layer_name is None:
            return
        subclassed = [role for role, model in (("teacher", teacher), ("student", student))
                      if getattr(model, "inputs", None) is None]
        if subclassed:
            raise ValueError(
                f"FeatureDistillation with teacher_layer_name/student_layer_name needs Functional or Sequential "
                f"models (built, with symbolic inputs); the {' and '.join(subclassed)} model(s) have none (a "
                "subclassed or unbuilt model). Build them with keras.Input, drop the layer names to distill the "
                "final outputs, or use LogitsDistillation.")
        for role, model, name in (("teacher", teacher, self.teacher_layer_name),
                                  ("student", student, self.student_layer_name)):
            if name is None:
                continue
            try:
                model.get_layer(name=name)
            except ValueError as e:
                raise ValueError(f"FeatureDistillation: {role}_layer_name={name!r} is not a layer of the {role} "
                                 f"model {model.name!r}: {e}") from None

    def validate_outputs(self, teacher_outputs, student_outputs) -> None:
        """Same structure for both outputs, and a loss structure that matches them."""
        super().validate_outputs(teacher_outputs, student_outputs)
        try:
            tree.assert_same_structure(self.loss, teacher_outputs, check_types=False)
        except (ValueError, TypeError) as e:
            raise ValueError(f"FeatureDistillation: the loss structure {self.loss!r} does not match the structure "
                             f"of the features ({type(teacher_outputs).__name__}); give one loss per feature "
                             f"output. {e}") from None

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        """Sum over feature outputs of ``mean(loss(teacher, student))``."""
        def apply(loss_fn, teacher_features, student_features):
            if loss_fn is None:
                return 0.0
            return R.reduce_mean(loss_fn(teacher_features, student_features))

        per_output = tree.map_structure(apply, self.loss, teacher_outputs, student_outputs)
        return _sum_scalars(tree.flatten(per_output))

    def get_config(self) -> dict:
        return {"loss": serialize_loss(self.loss), "teacher_layer_name": self.teacher_layer_name,
                "student_layer_name": self.student_layer_name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["loss"] = deserialize_loss(config["loss"])
        return cls(**config)
