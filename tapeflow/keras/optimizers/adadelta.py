"""Adadelta, as ``keras.optimizers.Adadelta``."""
from __future__ import annotations

import numpy as np

from .base import Optimizer


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012) with a learning rate:
    ``E[g^2] = rho E[g^2] + (1 - rho) g^2``; ``d = sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) * g``;
    ``E[dx^2] = rho E[dx^2] + (1 - rho) d^2``; ``w -= lr d``.

    >>> import tapeflow as tf
    >>> w = tf.Variable([1.0, 2.0])
    >>> opt = tf.keras.optimizers.Adadelta(learning_rate=0.5)
    >>> _ = opt.apply_gradients([(tf.constant([1.0, 6.0]), w)])
    >>> [round(x, 4) for x in w.numpy().tolist()]
    [0.9993, 1.9993]
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)  # shared options: see Optimizer
        self.rho = rho
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulated_grads = self.add_optimizer_variables(var_list, "accumulated_grad")
        self._accumulated_delta_vars = self.add_optimizer_variables(var_list, "accumulated_delta_var")
        self._tmp2 = self._scratch()

    _slot_attrs = ("_accumulated_grads", "_accumulated_delta_vars")
    _scratch_attrs = ("_tmp", "_tmp2")

    def _update_arrays(self, grad, w, slots, scratch, learning_rate):
        (acc_g, acc_d), (tmp, tmp2), rho, eps = slots, scratch, self.rho, self.epsilon
        acc_g *= rho
        np.multiply(grad, grad, out=tmp)
        tmp *= 1.0 - rho
        acc_g += tmp
        np.add(acc_d, eps, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp *= grad
        np.add(acc_g, eps, out=tmp2)
        np.sqrt(tmp2, out=tmp2)
        tmp /= tmp2                               # -delta
        acc_d *= rho
        np.multiply(tmp, tmp, out=tmp2)
        tmp2 *= 1.0 - rho
        acc_d += tmp2
        tmp *= learning_rate
        w -= tmp

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config
