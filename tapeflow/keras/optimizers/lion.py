"""Lion, as ``keras.optimizers.Lion``."""
from __future__ import annotations

import numpy as np

from .base import Optimizer


class Lion(Optimizer):
    """Lion (Chen et al., 2023): ``w -= lr * sign(beta_1 m + (1 - beta_1) g)``; then
    ``m = beta_2 m + (1 - beta_2) g``.

    >>> import tapeflow as tf
    >>> w = tf.Variable([1.0, 2.0])
    >>> opt = tf.keras.optimizers.Lion(learning_rate=0.5)
    >>> _ = opt.apply_gradients([(tf.constant([1.0, -6.0]), w)])
    >>> w.numpy().tolist()
    [0.5, 2.5]
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)  # shared options: see Optimizer
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer "
                             f"degenerates to SignSGD. Received: beta_1={beta_1}.")

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._tmp2 = self._scratch()

    _slot_attrs = ("_momentums",)
    _scratch_attrs = ("_tmp", "_tmp2")

    def _update_arrays(self, gradient, w, slots, scratch, learning_rate):
        m, (tmp, tmp2) = slots[0], scratch
        np.multiply(m, self.beta_1, out=tmp)
        np.multiply(gradient, 1.0 - self.beta_1, out=tmp2)
        tmp += tmp2
        np.sign(tmp, out=tmp)
        tmp *= learning_rate
        w -= tmp
        m *= self.beta_2
        np.multiply(gradient, 1.0 - self.beta_2, out=tmp2)
        m += tmp2

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2})
        return config
