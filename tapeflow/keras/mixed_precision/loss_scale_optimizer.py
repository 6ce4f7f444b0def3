"""``keras.mixed_precision.LossScaleOptimizer``: the class of ``keras.optimizers.LossScaleOptimizer``
(``keras/optimizers/loss_scale.py``), one class under both names as in Keras 3."""
from __future__ import annotations

from ..optimizers.loss_scale import LossScaleOptimizer

__all__ = ["LossScaleOptimizer"]
