"""Adam (and AMSGrad), as ``keras.optimizers.Adam``."""
from __future__ import annotations

import math

import numpy as np

from ...backend import blas
from .base import Optimizer


class Adam(Optimizer):
    """Adam: ``m += (g - m)(1 - beta_1)``, ``v += (g^2 - v)(1 - beta_2)``,
    ``w -= lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)``.

    Keras puts the bias correction on the learning rate, so ``epsilon`` (default 1e-7) is the
    "epsilon hat" of the paper. ``amsgrad=True`` divides by the running maximum of ``v``.

    >>> import tapeflow as tf
    >>> w = tf.Variable([1.0, 2.0])
    >>> opt = tf.keras.optimizers.Adam(learning_rate=0.5)
    >>> _ = opt.apply_gradients([(tf.constant([1.0, 6.0]), w)])
    >>> [round(x, 4) for x in w.numpy().tolist()]
    [0.5, 1.5]
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)  # shared options: see Optimizer
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")

    def _prepare_step(self, learning_rate):
        t = self._step_count() + 1
        self._alpha = learning_rate * math.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t)

    @property
    def _slot_attrs(self):
        return ("_momentums", "_velocities") + (("_velocity_hats",) if self.amsgrad else ())

    def _update_arrays(self, gradient, w, slots, scratch, learning_rate):
        m, v, tmp = slots[0], slots[1], scratch[0]
        b1, b2 = self.beta_1, self.beta_2
        blas.axpby_into(1.0 - b1, gradient, b1, m, tmp)      # m = b1 m + (1 - b1) g: one pass in BLAS
        np.multiply(gradient, gradient, out=tmp)
        blas.axpby_into(1.0 - b2, tmp, b2, v, tmp)           # v = b2 v + (1 - b2) g^2
        if self.amsgrad:
            v_hat = slots[2]
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        blas.axpby_into(-self._alpha, tmp, 1.0, w, tmp)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config
