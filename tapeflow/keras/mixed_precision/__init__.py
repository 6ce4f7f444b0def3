"""``tf.keras.mixed_precision``: dtype policies and loss scaling.

>>> import tapeflow as tf
>>> tf.keras.mixed_precision.set_global_policy("mixed_float16")
>>> layer = tf.keras.layers.Dense(2)
>>> layer.compute_dtype, layer.variable_dtype
('float16', 'float32')
>>> tf.keras.mixed_precision.set_global_policy("float32")

On this NumPy/CPU engine float16 saves memory for activations but is *slower* than float32
(NumPy has no float16 BLAS; see docs in tests/keras/test_mixed_precision.py and the issue note
for measured numbers). It exists so that GPU-minded Keras code runs unchanged and so that a
model's numerics under reduced precision can be tested.
"""
from __future__ import annotations

from .loss_scale_optimizer import LossScaleOptimizer
from .policy import DTypePolicy, FloatDTypePolicy, Policy, dtype_policy, global_policy, set_dtype_policy, set_global_policy


def maybe_wrap_optimizer(model, optimizer):
    """``compile``'s hook: wrap ``optimizer`` in a LossScaleOptimizer when some layer of ``model`` computes
    in ``mixed_float16`` (bfloat16 has float32's exponent range and needs no loss scaling)."""
    if optimizer is None or isinstance(optimizer, LossScaleOptimizer):
        return optimizer
    from ..optimizers.base import Optimizer
    if not isinstance(optimizer, Optimizer):
        return optimizer
    layers = model._flatten_layers() if hasattr(model, "_flatten_layers") else [model]
    if any(getattr(layer, "_dtype_policy_name", None) == "mixed_float16" for layer in layers):
        return LossScaleOptimizer(optimizer)
    return optimizer


__all__ = ["Policy", "DTypePolicy", "FloatDTypePolicy", "global_policy", "set_global_policy", "dtype_policy",
           "set_dtype_policy", "LossScaleOptimizer", "maybe_wrap_optimizer"]
