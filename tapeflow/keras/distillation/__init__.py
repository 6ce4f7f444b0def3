"""``keras.distillation`` (Keras 3.15.1): knowledge distillation from a frozen teacher to a student.

``Distiller(teacher, student, distillation_losses, ...)`` is a Model whose ``fit`` trains the student on
``student_loss_weight * student_loss + (1 - student_loss_weight) * weighted distillation losses``;
``LogitsDistillation`` compares temperature-scaled logits, ``FeatureDistillation`` final outputs or
intermediate layers picked by name; subclass ``DistillationLoss`` for your own.

>>> from tapeflow.keras import distillation
>>> distillation.LogitsDistillation(temperature=4.0).get_config()["temperature"]
4.0
"""
from .distillation_loss import DistillationLoss, FeatureDistillation, LogitsDistillation
from .distiller import Distiller

__all__ = ["DistillationLoss", "LogitsDistillation", "FeatureDistillation", "Distiller"]
