"""Lamb, as ``keras.optimizers.Lamb``."""
from __future__ import annotations

import math

import numpy as np

from .base import Optimizer


def _norm(x: np.ndarray) -> float:
    flat = x.reshape(-1)
    return math.sqrt(float(np.dot(flat, flat)))


class Lamb(Optimizer):
    """Lamb (You et al., 2019): the Adam direction ``r = m_hat / (sqrt(v_hat) + epsilon)`` rescaled per
    variable by the trust ratio ``||w|| / ||r||`` (1 when either norm is 0): ``w -= ratio * lr * r``.

    >>> import tapeflow as tf
    >>> w = tf.Variable([1.0, 2.0, 3.0, 4.0])
    >>> opt = tf.keras.optimizers.Lamb(learning_rate=0.5)
    >>> _ = opt.apply_gradients([(tf.constant([1.0, 6.0, 7.0, 2.0]), w)])
    >>> [round(x, 4) for x in w.numpy().tolist()]
    [-0.3693, 0.6307, 1.6307, 2.6307]
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
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        self._tmp2 = self._scratch()

    def _prepare_step(self, learning_rate):
        t = self._step_count() + 1
        self._m_corr = 1.0 / (1.0 - self.beta_1 ** t)
        self._v_corr = 1.0 / (1.0 - self.beta_2 ** t)

    def update_step(self, gradient, variable, learning_rate):
        i = self._trainable_variables_indices[id(variable)]
        m, v = self._momentums[i]._value, self._velocities[i]._value
        tmp, tmp2, w = self._tmp[i], self._tmp2[i], variable._value
        np.subtract(gradient, m, out=tmp)
        tmp *= 1.0 - self.beta_1
        m += tmp
        np.multiply(gradient, gradient, out=tmp)
        tmp -= v
        tmp *= 1.0 - self.beta_2
        v += tmp
        np.multiply(v, self._v_corr, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp += self.epsilon
        np.multiply(m, self._m_corr, out=tmp2)
        np.divide(tmp2, tmp, out=tmp2)            # the update direction r
        w_norm, r_norm = _norm(w), _norm(tmp2)
        ratio = w_norm / r_norm if w_norm > 0 and r_norm > 0 else 1.0
        tmp2 *= ratio * learning_rate
        w -= tmp2

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
