"""``keras.distillation.Distiller``: a Model that trains a student against a frozen teacher (Keras 3.15.1).

It plugs into the ordinary training loop through ``compute_loss`` only: ``Model.train_step`` runs
``y_pred = self(x)`` (the student), then this class's ``compute_loss``

    total = student_loss_weight * student_loss + (1 - student_loss_weight) * sum_i(w_i * distillation_loss_i)

under the tape, and the optimizer updates the student's variables (the teacher's are frozen, so they are
not trainable variables of the Distiller). ``student_loss`` is the loss given to ``compile`` on ``(y,
y_pred)``; each ``distillation_loss_i`` compares teacher and student outputs, or intermediate layers that
feature-extractor models pull out of the teacher and the student by layer name.

Metrics: ``loss`` (weighted by batch size, as every model's), the compiled metrics, then ``student_loss``,
``distillation_loss`` and ``total_loss`` (plain means over batches, as Keras).
"""
from __future__ import annotations

import numbers
import warnings

from ...ops import math_ops as M
from ...ops import reduce_ops as R
from .. import tree
from ..metrics import Mean
from ..models import Model, Sequential
from .distillation_loss import FeatureDistillation, LogitsDistillation, DistillationLoss, convert_losses

__all__ = ["Distiller"]


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _shape_list(shape):
    return [None if d is None else int(d) for d in (shape.as_list() if hasattr(shape, "as_list") else shape)]


class Distiller(Model):
    """Knowledge distillation: train ``student`` on its labels and on a frozen ``teacher``'s outputs.

    ``distillation_losses`` is one ``DistillationLoss`` or a list of them (weighted by
    ``distillation_loss_weights``, all 1.0 by default); ``student_loss_weight`` in [0, 1] balances the
    student's supervised loss (given to ``compile``) against the distillation losses. Calling the Distiller
    (and ``predict``) returns the student's output; ``distiller.student`` is the trained model.

    >>> import numpy as np, tapeflow as tf
    >>> def mlp(units):
    ...     x = tf.keras.Input((4,))
    ...     h = tf.keras.layers.Dense(units, activation="relu", name="hidden")(x)
    ...     return tf.keras.Model(x, tf.keras.layers.Dense(3, name="logits")(h))
    >>> teacher, student = mlp(16), mlp(4)
    >>> distiller = Distiller(teacher, student, LogitsDistillation(temperature=3.0), student_loss_weight=0.5)
    >>> distiller.compile(optimizer="sgd",
    ...                   loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> h = distiller.fit(np.random.rand(16, 4), np.arange(16) % 3, epochs=1, verbose=0)
    >>> sorted(h.history)
    ['distillation_loss', 'loss', 'student_loss', 'total_loss']
    >>> teacher.trainable, distiller.predict(np.zeros((2, 4)), verbose=0).shape
    (False, (2, 3))
    """

    def __init__(self, teacher, student, distillation_losses, distillation_loss_weights=None,
                 student_loss_weight=0.5, name="distiller", **kwargs):
        super().__init__(name=name, **kwargs)
        self._validate_models(teacher, student)
        self.teacher = teacher
        self.student = student

        if not _is_number(student_loss_weight):
            raise ValueError(f"Distiller: student_loss_weight must be a number in [0, 1], got "
                             f"{type(student_loss_weight).__name__} {student_loss_weight!r}")
        if not 0.0 <= student_loss_weight <= 1.0:
            raise ValueError(f"Distiller: student_loss_weight must be between 0.0 and 1.0, got {student_loss_weight}; "
                             "it weighs the student's own loss against (1 - student_loss_weight) for distillation")
        self.student_loss_weight = student_loss_weight

        losses_list, weights = self._standardize_losses(distillation_losses, distillation_loss_weights)
        self.distillation_losses = losses_list
        self.distillation_loss_weights = weights
        for distillation_loss in self.distillation_losses:
            self._validate_distillation_loss_compatibility(teacher, student, distillation_loss)
        self._create_multi_feature_extractors()

        self.teacher.trainable = False  # frozen: its variables leave the Distiller's trainable_variables

        self.student_loss_tracker = Mean(name="student_loss")
        self.distillation_loss_tracker = Mean(name="distillation_loss")
        self.total_loss_tracker = Mean(name="total_loss")

    # -- validation ---------------------------------------------------------------------------
    @staticmethod
    def _standardize_losses(distillation_losses, distillation_loss_weights):
        if distillation_losses is None:
            raise ValueError("Distiller: distillation_losses cannot be None; pass a distillation loss (e.g. "
                             "keras.distillation.LogitsDistillation() or FeatureDistillation()) or a list of them")
        if not isinstance(distillation_losses, (list, tuple)):
            if distillation_loss_weights is not None:
                warnings.warn("Distiller: distillation_loss_weights is ignored when distillation_losses is a single "
                              "loss (its weight is 1.0, as in Keras); pass distillation_losses as a list to weigh it",
                              stacklevel=3)
            losses_list, weights = [distillation_losses], [1.0]
        else:
            losses_list = list(distillation_losses)
            if not losses_list:
                raise ValueError("Distiller: distillation_losses is an empty list; give at least one distillation loss")
            if distillation_loss_weights is None:
                weights = [1.0] * len(losses_list)
            else:
                weights = list(distillation_loss_weights)
                if len(weights) != len(losses_list):
                    raise ValueError(
                        f"Distiller: distillation_loss_weights has {len(weights)} entries but distillation_losses "
                        f"has {len(losses_list)}; give one weight per distillation loss (or None for 1.0 each)")
                bad = [w for w in weights if not _is_number(w)]
                if bad:
                    raise ValueError(f"Distiller: distillation_loss_weights must be numbers, got {bad!r} in "
                                     f"{weights!r}")
        for i, item in enumerate(losses_list):
            if not callable(getattr(item, "compute_loss", None)):
                raise ValueError(
                    f"Distiller: distillation_losses[{i}] must be a keras.distillation.DistillationLoss (such as "
                    f"LogitsDistillation or FeatureDistillation), got {type(item).__name__} {item!r}; wrap a plain "
                    "loss as LogitsDistillation(loss=...) or FeatureDistillation(loss=...)")
        return losses_list, weights

    def _validate_models(self, teacher, student) -> None:
        """Both must be keras Models with compatible input/output shapes and dtypes (when symbolic)."""
        for role, model in (("teacher", teacher), ("student", student)):
            if not isinstance(model, Model):
                raise ValueError(f"Distiller: {role} must be a keras.Model, got {type(model).__name__} {model!r}")
        self._validate_input_compatibility(teacher, student)
        self._validate_output_compatibility(teacher, student)
        self._validate_dtype_compatibility(teacher, student)

    @staticmethod
    def _pairs(teacher, student, attribute, context):
        t, s = getattr(teacher, attribute, None), getattr(student, attribute, None)
        if t is None or s is None:
            return []
        if len(t) != len(s):
            raise ValueError(f"Distiller: the teacher has {len(t)} {context}s and the student {len(s)}; "
                             f"teacher and student must take the same inputs and give the same outputs")
        return list(zip(t, s))

    def _assert_shapes_are_compatible(self, shape1, shape2, context) -> None:
        a, b = _shape_list(shape1), _shape_list(shape2)
        if len(a) != len(b):
            raise ValueError(f"Distiller: teacher and student {context} shapes have different ranks: teacher "
                             f"{tuple(a)}, student {tuple(b)}")
        if any(x is not None and y is not None and x != y for x, y in zip(a, b)):
            raise ValueError(f"Distiller: teacher and student {context} shapes are incompatible: teacher {tuple(a)}, "
                             f"student {tuple(b)}; every known dimension must match")

    def _assert_same_dtype(self, teacher_dtype, student_dtype, context) -> None:
        if str(teacher_dtype) != str(student_dtype):
            raise ValueError(f"Distiller: teacher and student {context} dtypes must match: teacher {teacher_dtype}, "
                             f"student {student_dtype}")

    def _validate_input_compatibility(self, teacher, student) -> None:
        for t, s in self._pairs(teacher, student, "inputs", "input"):
            self._assert_shapes_are_compatible(t.shape, s.shape, "input")

    def _validate_output_compatibility(self, teacher, student) -> None:
        for t, s in self._pairs(teacher, student, "outputs", "output"):
            self._assert_shapes_are_compatible(t.shape, s.shape, "output")

    def _validate_dtype_compatibility(self, teacher, student) -> None:
        for attribute, context in (("inputs", "input"), ("outputs", "output")):
            for t, s in self._pairs(teacher, student, attribute, context):
                self._assert_same_dtype(t.dtype, s.dtype, context)

    def _validate_distillation_loss_compatibility(self, teacher, student, distillation_loss) -> None:
        validate = getattr(distillation_loss, "validate_model_compatibility", None)
        if validate is not None:
            validate(teacher, student)

    # -- feature extraction ---------------------------------------------------------------------
    def _create_multi_feature_extractors(self) -> None:
        """One extractor model per side returning ``{"final_output": ..., layer_name: ...}`` for every layer
        named by a distillation loss (None when no loss names a layer on that side)."""
        teacher_names, student_names = [], []
        for distillation_loss in self.distillation_losses:
            for names, attribute in ((teacher_names, "teacher_layer_name"), (student_names, "student_layer_name")):
                name = getattr(distillation_loss, attribute, None)
                if name and name not in names:
                    names.append(name)
        self._teacher_feature_extractor = self._create_feature_extractor(self.teacher, teacher_names)
        self._student_feature_extractor = self._create_feature_extractor(self.student, student_names)

    def _create_feature_extractor(self, model, layer_names):
        if not layer_names:
            return None
        if getattr(model, "inputs", None) is None:
            raise ValueError(f"Distiller: cannot extract layers {layer_names} from model {model.name!r}: it has no "
                             "symbolic inputs (build it with keras.Input, as a Functional or Sequential model)")
        final_output = model.layers[-1].output if isinstance(model, Sequential) else model.output
        outputs = {"final_output": final_output}
        for layer_name in layer_names:
            outputs[layer_name] = model.get_layer(name=layer_name).output
        return Model(inputs=model.inputs, outputs=outputs, name=f"{model.name}_multi_feature_extractor")

    def _extract_all_teacher_features(self, x):
        if self._teacher_feature_extractor is not None:
            return self._teacher_feature_extractor(x, training=False)
        return {"final_output": self.teacher(x, training=False)}

    def _extract_all_student_features(self, x, y_pred):
        if self._student_feature_extractor is not None:
            return self._student_feature_extractor(x, training=True)  # training=True also in evaluate, as Keras
        return {"final_output": y_pred}

    def _get_distillation_loss_features(self, distillation_loss, all_features, is_teacher):
        attribute = "teacher_layer_name" if is_teacher else "student_layer_name"
        layer_name = getattr(distillation_loss, attribute, None) or "final_output"
        if layer_name not in all_features:
            raise ValueError(f"Distiller: layer {layer_name!r} is not among the extracted features "
                             f"{sorted(all_features)}")
        return all_features[layer_name]

    # -- training -------------------------------------------------------------------------------
    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """``loss`` is the student's supervised loss (required); metrics must be a list or tuple.

        >>> import tapeflow as tf
        >>> m = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(2)])
        >>> d = Distiller(m, tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(2)]),
        ...               FeatureDistillation())
        >>> d.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        """
        if loss is None:
            raise ValueError("Distiller.compile: loss cannot be None; pass the student's supervised loss, e.g. "
                             "loss='sparse_categorical_crossentropy' (the distillation losses go to the constructor)")
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ValueError(f"Distiller.compile: metrics must be a list or tuple, got {type(metrics).__name__} "
                             f"{metrics!r}; wrap it as [{metrics!r}]")
        student_loss = convert_losses(loss, argument="loss")
        super().compile(optimizer=optimizer, loss=None, metrics=metrics, **kwargs)
        self._student_loss = student_loss
        self._student_loss_for_serialization = loss
        # a saved .keras file records the student's loss, so load_model can compile the Distiller again (Keras
        # records loss=None there and skips compile on loading, since this compile is overridden)
        self._compile_config["loss"] = loss

    def call(self, inputs, training=None, **kwargs):
        """The student's output."""
        return self.student(inputs, training=training, **kwargs)

    def _student_loss_value(self, y, y_pred):
        loss_fns = self.__dict__.get("_student_loss")
        if loss_fns is None:
            raise RuntimeError(f"Distiller {self.name!r}: call compile(optimizer, loss=...) before computing the loss; "
                               "loss is the student's supervised loss")
        values = tree.flatten(tree.map_structure(lambda fn, target, pred: fn(target, pred),
                                                 loss_fns, y, y_pred, check_types=False))
        loss = values[0]
        for value in values[1:]:
            loss = M.add(loss, value)
        if len(loss.shape) > 0:
            loss = R.reduce_mean(loss)
        return loss

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """``student_loss_weight * student_loss + (1 - student_loss_weight) * sum(w_i * distillation_loss_i)``.

        ``sample_weight`` is not used (as in Keras), nor are the models' regularization losses. The three
        parts update the ``student_loss``, ``distillation_loss`` and ``total_loss`` metrics.
        """
        if y_pred is None:
            y_pred = self(x, training=training)
        student_loss = 0.0
        if self.student_loss_weight > 0.0 and y is not None:
            student_loss = self._student_loss_value(y, y_pred)

        distillation_loss = 0.0
        if self.student_loss_weight < 1.0:
            teacher_features = self._extract_all_teacher_features(x)
            student_features = self._extract_all_student_features(x, y_pred)
            for loss_fn, weight in zip(self.distillation_losses, self.distillation_loss_weights):
                teacher_out, student_out = self._features_for(loss_fn, teacher_features, student_features, y_pred)
                loss_fn.validate_outputs(teacher_out, student_out)
                value = loss_fn.compute_loss(teacher_out, student_out)
                if len(getattr(value, "shape", ())) > 0:
                    raise ValueError(f"Distiller: {type(loss_fn).__name__}.compute_loss returned a tensor of shape "
                                     f"{tuple(value.shape)}; it must return a scalar (reduce it, e.g. with a mean)")
                distillation_loss = M.add(distillation_loss, M.multiply(weight, value))

        weight = self.student_loss_weight
        total_loss = M.add(M.multiply(weight, student_loss),
                           M.multiply(M.subtract(1.0, weight), distillation_loss))
        self.student_loss_tracker.update_state(student_loss)
        self.distillation_loss_tracker.update_state(distillation_loss)
        self.total_loss_tracker.update_state(total_loss)
        return total_loss

    def _features_for(self, loss_fn, teacher_features, student_features, y_pred):
        """(teacher, student) tensors a distillation loss compares: named layers when it names any, else the
        final outputs. Deviation from Keras 3.15.1, which looks only at ``teacher_layer_name`` and so silently
        ignores a ``student_layer_name`` given alone."""
        named = (getattr(loss_fn, "teacher_layer_name", None) is not None
                 or getattr(loss_fn, "student_layer_name", None) is not None)
        if not named:
            return teacher_features["final_output"], y_pred
        try:
            return (self._get_distillation_loss_features(loss_fn, teacher_features, is_teacher=True),
                    self._get_distillation_loss_features(loss_fn, student_features, is_teacher=False))
        except ValueError as e:
            raise RuntimeError(f"Distiller: failed to extract features for {type(loss_fn).__name__} (teacher layer "
                               f"{loss_fn.teacher_layer_name!r}, student layer {loss_fn.student_layer_name!r}): {e}"
                               ) from e

    def reset_metrics(self) -> None:
        super().reset_metrics()
        for tracker in (self.student_loss_tracker, self.distillation_loss_tracker, self.total_loss_tracker):
            tracker.reset_state()

    # -- config ---------------------------------------------------------------------------------
    def get_config(self) -> dict:
        from .._serialization import serialize_keras_object
        from ..layers import serialize
        config = Model.get_config(self)
        config.update({
            "teacher": serialize(self.teacher),
            "student": serialize(self.student),
            "distillation_losses": [serialize_keras_object(d, module="keras.distillation")
                                    for d in self.distillation_losses],
            "distillation_loss_weights": list(self.distillation_loss_weights),
            "student_loss_weight": self.student_loss_weight,
        })
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .._serialization import deserialize_keras_object
        from ..layers import deserialize
        config = dict(config)
        config["teacher"] = deserialize(config["teacher"], custom_objects=custom_objects)
        config["student"] = deserialize(config["student"], custom_objects=custom_objects)
        known = {"DistillationLoss": DistillationLoss, "LogitsDistillation": LogitsDistillation,
                 "FeatureDistillation": FeatureDistillation}
        config["distillation_losses"] = [
            deserialize_keras_object(d, known, custom_objects, kind="distillation loss")
            for d in config["distillation_losses"]]
        return cls(**config)
