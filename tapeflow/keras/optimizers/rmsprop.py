"""RMSprop, as ``keras.optimizers.RMSprop``."""
from __future__ import annotations

import numpy as np

from ...backend import blas
from .base import Optimizer


class RMSprop(Optimizer):
    """RMSprop: ``v = rho v + (1 - rho) g^2``; ``w -= lr g / sqrt(v + epsilon)``.

    ``centered=True`` also tracks ``a = rho a + (1 - rho) g`` and divides by ``sqrt(v - a^2 + epsilon)``;
    ``momentum > 0`` accumulates ``mom = momentum * mom + increment`` and subtracts ``mom``. Note that
    Keras puts ``epsilon`` inside the square root (torch adds it outside).

    >>> import tapeflow as tf
    >>> w = tf.Variable(10.0)
    >>> opt = tf.keras.optimizers.RMSprop(learning_rate=0.1)
    >>> _ = opt.minimize(lambda: (w ** 2) / 2.0, [w])
    >>> round(float(w), 6)
    9.683772
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)  # shared options: see Optimizer
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"`rho` must be in the range [0, 1]. Received: rho={rho}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"`momentum` must be in the range [0, 1]. Received: momentum={momentum}")
        if not epsilon > 0:
            raise ValueError(f"`epsilon` must be positive. Received: epsilon={epsilon}")
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._momentums = self.add_optimizer_variables(var_list, "momentum") if self.momentum > 0 else []
        self._average_gradients = (self.add_optimizer_variables(var_list, "average_gradient")
                                   if self.centered else [])

    @property
    def _slot_attrs(self):
        return ("_velocities", "_average_gradients" if self.centered else None,
                "_momentums" if self._momentums else None)

    def _update_arrays(self, gradient, w, slots, scratch, learning_rate):
        (v, a, mom), tmp, rho = slots, scratch[0], self.rho
        np.multiply(gradient, gradient, out=tmp)
        blas.axpby_into(1.0 - rho, tmp, rho, v, tmp)         # v = rho v + (1 - rho) g^2: one pass in BLAS
        if a is not None:
            blas.axpby_into(1.0 - rho, gradient, rho, a, tmp)
            np.multiply(a, a, out=tmp)
            np.subtract(v, tmp, out=tmp)
            tmp += self.epsilon
        else:
            np.add(v, self.epsilon, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.divide(gradient, tmp, out=tmp)         # the increment is lr * tmp
        if mom is not None:
            blas.axpby_into(learning_rate, tmp, self.momentum, mom, tmp)
            w -= mom
        else:
            blas.axpby_into(-learning_rate, tmp, 1.0, w, tmp)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config
