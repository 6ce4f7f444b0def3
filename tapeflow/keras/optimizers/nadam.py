"""Nadam: Adam with Nesterov momentum, as ``keras.optimizers.Nadam``."""
from __future__ import annotations

import numpy as np

from .base import Optimizer


class Nadam(Optimizer):
    """Nadam (Dozat, 2015) with Keras's momentum schedule ``mu_t = beta_1 * (1 - 0.5 * 0.96**t)``.

    ``m_hat = mu_{t+1} m / (1 - prod mu_{1..t+1}) + (1 - mu_t) g / (1 - prod mu_{1..t})``,
    ``w -= lr * m_hat / (sqrt(v / (1 - beta_2^t)) + epsilon)``. torch's ``NAdam`` matches with
    ``momentum_decay=1.0``.

    >>> import tapeflow as tf
    >>> w = tf.Variable([1.0, 2.0])
    >>> opt = tf.keras.optimizers.Nadam(learning_rate=0.5)
    >>> _ = opt.apply_gradients([(tf.constant([1.0, 6.0]), w)])
    >>> [round(x, 4) for x in w.numpy().tolist()]
    [0.4686, 1.4686]
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
        self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        dtype = var_list[0].dtype if var_list else "float32"
        self._u_product = self.add_variable((), initializer="ones", dtype=dtype, name="u_product")
        self._tmp2 = self._scratch()

    def _prepare_step(self, learning_rate):
        t = self._step_count() + 1
        b1 = self.beta_1
        u_t = b1 * (1.0 - 0.5 * 0.96 ** t)
        u_t1 = b1 * (1.0 - 0.5 * 0.96 ** (t + 1))
        u = self._u_product._value
        u[()] = u[()] * u_t
        u_prod = float(u)
        self._c_m = learning_rate * u_t1 / (1.0 - u_prod * u_t1)
        self._c_g = learning_rate * (1.0 - u_t) / (1.0 - u_prod)
        self._v_corr = 1.0 / (1.0 - self.beta_2 ** t)

    _slot_attrs = ("_momentums", "_velocities")
    _scratch_attrs = ("_tmp", "_tmp2")

    def _update_arrays(self, gradient, w, slots, scratch, learning_rate):
        (m, v), (tmp, tmp2) = slots, scratch
        np.subtract(gradient, m, out=tmp)
        tmp *= 1.0 - self.beta_1
        m += tmp
        np.multiply(gradient, gradient, out=tmp)
        tmp -= v
        tmp *= 1.0 - self.beta_2
        v += tmp
        np.multiply(v, self._v_corr, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp += self.epsilon                       # denominator
        np.multiply(m, self._c_m, out=tmp2)
        np.divide(tmp2, tmp, out=tmp2)
        w -= tmp2
        np.multiply(gradient, self._c_g, out=tmp2)
        np.divide(tmp2, tmp, out=tmp2)
        w -= tmp2

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
