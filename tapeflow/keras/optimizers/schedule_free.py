"""Schedule-Free AdamW, as ``keras.optimizers.ScheduleFreeAdamW``."""
from __future__ import annotations

import numpy as np

from .base import Optimizer


class ScheduleFreeAdamW(Optimizer):
    """Schedule-Free AdamW (Defazio et al., 2024): no learning-rate schedule, an averaged iterate instead.

    The model variable holds ``y``, the point where gradients are taken; the ``momentum`` slot holds ``z``
    (initialized to the variable), the sequence the Adam-scaled steps move:
    ``v = beta_2 v + (1 - beta_2) g^2``, ``z -= lr_t g / (sqrt(v / (1 - beta_2^t)) + epsilon)`` with
    ``lr_t = lr * min(t / warmup_steps, 1)``. The average ``x`` is not stored: it is recovered from ``y`` and
    the previous ``z`` as ``x = (y - (1 - beta_1) z_old) / beta_1``, moved to ``x + (z - x) / t``, and
    ``y = (1 - beta_1) z + beta_1 x``. Slots per variable: ``momentum`` (``z``), ``velocity``.

    Keras's TensorFlow backend reads ``z_old`` after ``z`` has been updated (it keeps a live view of the
    variable), which cancels ``beta_1``; tapeflow keeps the previous ``z``, as Keras's code intends and its
    JAX backend computes.

    >>> import tapeflow as tf
    >>> w = tf.Variable([1.0, 2.0])
    >>> opt = tf.keras.optimizers.ScheduleFreeAdamW(learning_rate=0.1)
    >>> for _ in range(2):
    ...     _ = opt.apply_gradients([(tf.constant([0.5, -1.0]), w)])
    >>> [round(x, 4) for x in w.numpy().tolist()]
    [0.845, 2.155]
    """

    def __init__(self, learning_rate=0.0025, beta_1=0.9, beta_2=0.999, epsilon=1e-8, warmup_steps=0,
                 name="schedule_free_adam_w", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)  # shared options: see Optimizer
        if not 0 < beta_1 <= 1:
            raise ValueError(f"ScheduleFreeAdamW: `beta_1` must be in (0, 1] (the average x is recovered by "
                             f"dividing by it). Received: beta_1={beta_1!r}")
        if not 0 <= beta_2 < 1:
            raise ValueError(f"ScheduleFreeAdamW: `beta_2` must be in [0, 1). Received: beta_2={beta_2!r}")
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, (int, np.integer)) or warmup_steps < 0:
            raise ValueError(f"ScheduleFreeAdamW: `warmup_steps` must be an integer >= 0. "
                             f"Received: warmup_steps={warmup_steps!r}")
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.warmup_steps = int(warmup_steps)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        for z, var in zip(self._momentums, var_list):
            np.copyto(z._value, var._value)
        self._tmp2 = self._scratch()

    def _prepare_step(self, learning_rate):
        t = self._step_count() + 1
        if self.warmup_steps > 0:
            learning_rate = learning_rate * min(t / self.warmup_steps, 1.0)
        self._lr_t = learning_rate
        self._bias_correction_2 = 1.0 - self.beta_2 ** t
        self._weight = 1.0 / t

    _slot_attrs = ("_momentums", "_velocities")
    _scratch_attrs = ("_tmp", "_tmp2")

    def _update_arrays(self, gradient, w, slots, scratch, learning_rate):
        (z, v), (tmp, z_old) = slots, scratch
        b1, b2, wt = self.beta_1, self.beta_2, self._weight
        np.copyto(z_old, z)
        np.multiply(gradient, gradient, out=tmp)
        tmp -= v
        tmp *= 1.0 - b2
        v += tmp                                          # v = b2 v + (1 - b2) g^2
        np.divide(v, self._bias_correction_2, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp += self.epsilon
        np.divide(gradient, tmp, out=tmp)
        tmp *= self._lr_t
        z -= tmp                                          # z -= lr_t g / denom
        z_old *= -(1.0 - b1)
        z_old += w
        z_old /= b1                                       # x_old = (y - (1 - b1) z_old) / b1
        z_old *= 1.0 - wt
        np.multiply(z, wt, out=tmp)
        z_old += tmp                                      # x_new = (1 - 1/t) x_old + z / t
        np.multiply(z, 1.0 - b1, out=w)
        z_old *= b1
        w += z_old                                        # y = (1 - b1) z + b1 x_new

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "warmup_steps": self.warmup_steps})
        return config
