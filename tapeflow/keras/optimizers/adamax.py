"""Adamax, as ``keras.optimizers.Adamax``."""
from __future__ import annotations

import numpy as np

from .base import Optimizer


class Adamax(Optimizer):
    """Adamax (Adam with the infinity norm): ``m += (g - m)(1 - beta_1)``; ``u = max(beta_2 u, |g|)``;
    ``w -= lr m / ((1 - beta_1^t)(u + epsilon))``.

    >>> import tapeflow as tf
    >>> w = tf.Variable([1.0, 2.0])
    >>> opt = tf.keras.optimizers.Adamax(learning_rate=0.5)
    >>> _ = opt.apply_gradients([(tf.constant([1.0, 6.0]), w)])
    >>> [round(x, 4) for x in w.numpy().tolist()]
    [0.5, 1.5]
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)  # shared options: see Optimizer
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._m, self._u = self.add_optimizer_variables(var_list, ["momentum", "norm"])

    def _prepare_step(self, learning_rate):
        self._bias = 1.0 - self.beta_1 ** (self._step_count() + 1)

    _slot_attrs = ("_m", "_u")

    def _update_arrays(self, gradient, w, slots, scratch, learning_rate):
        (m, u), tmp = slots, scratch[0]
        np.subtract(gradient, m, out=tmp)
        tmp *= 1.0 - self.beta_1
        m += tmp
        u *= self.beta_2
        np.abs(gradient, out=tmp)
        np.maximum(u, tmp, out=u)
        np.add(u, self.epsilon, out=tmp)
        tmp *= self._bias
        np.divide(m, tmp, out=tmp)
        tmp *= learning_rate
        w -= tmp

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
