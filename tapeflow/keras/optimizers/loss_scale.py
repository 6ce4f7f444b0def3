"""LossScaleOptimizer, as ``keras.optimizers.LossScaleOptimizer`` (one class with
``keras.mixed_precision.LossScaleOptimizer``, as in Keras 3).

Dynamic loss scaling: ``scale_loss`` multiplies the loss by the current ``dynamic_scale`` (``initial_scale``
at first); ``apply`` skips a step whose gradients hold a NaN or Inf and halves the scale, otherwise divides
the gradients by the scale, applies the inner optimizer and, after ``dynamic_growth_steps`` finite steps in a
row (``step_counter``), doubles the scale. The implementation lives in ``keras/mixed_precision`` (compile's
automatic wrapping for ``mixed_float16`` uses it); this module gives it its Keras 3 place.

>>> import tapeflow as tf
>>> opt = tf.keras.optimizers.LossScaleOptimizer(tf.keras.optimizers.SGD(0.5), initial_scale=4.0,
...                                              dynamic_growth_steps=1)
>>> w = tf.Variable([1.0])
>>> _ = opt.apply_gradients([(tf.constant([4.0]), w)])   # 4 / scale 4 = 1: w = 1 - 0.5
>>> w.numpy().tolist(), float(opt.dynamic_scale)          # one finite step: the scale doubles
([0.5], 8.0)
"""
from __future__ import annotations

from ..mixed_precision.loss_scale_optimizer import LossScaleOptimizer

__all__ = ["LossScaleOptimizer"]
