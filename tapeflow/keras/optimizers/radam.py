"""RAdam (Rectified Adam, Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and Beyond")."""
from __future__ import annotations

import math

import numpy as np

from .base import Optimizer


class RAdam(Optimizer):
    """Rectified Adam.

    With ``m``, ``v`` Adam's moments, ``rho_inf = 2 / (1 - beta_2) - 1`` and
    ``rho_t = rho_inf - 2 t beta_2^t / (1 - beta_2^t)``:

    - while ``rho_t > 5`` the step is Adam's, scaled by the rectifier
      ``r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))``:
      ``w -= lr * r_t * m_hat * sqrt(1 - beta_2^t) / (sqrt(v) + epsilon)``;
    - while ``rho_t <= 5`` (the first few steps, when the variance of the adaptive rate is not yet
      tractable) it takes a plain momentum step ``w -= lr * m_hat``.

    Choice: the ``rho_t <= 5`` branch follows ``torch.optim.RAdam`` (an un-adapted momentum step), not the
    paper's reference code, which can skip the update then; the threshold 5 is torch's (the paper's
    Algorithm 2 uses 4). ``epsilon`` is added to ``sqrt(v)`` as torch does, so the two match step for step.
    ``weight_decay`` is the base class's decoupled decay (torch's ``decoupled_weight_decay=True``).

    >>> import tapeflow as tf
    >>> w = tf.Variable([1.0, 2.0])
    >>> opt = tf.keras.optimizers.RAdam(learning_rate=0.5)
    >>> _ = opt.apply_gradients([(tf.constant([1.0, -2.0]), w)])   # rho_1 = 1 <= 5: momentum step
    >>> [round(x, 4) for x in w.numpy().tolist()]
    [0.5, 3.0]
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, name="radam", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)  # shared options: see Optimizer
        for arg, val in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0.0 <= val < 1.0:
                raise ValueError(f"RAdam: `{arg}` must be in [0, 1). Received: {arg}={val}")
        if not epsilon >= 0:
            raise ValueError(f"RAdam: `epsilon` must be >= 0. Received: epsilon={epsilon}")
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._velocities = self.add_optimizer_variables(var_list, "velocity")

    def _prepare_step(self, learning_rate):
        t = self._step_count() + 1
        b1, b2 = self.beta_1, self.beta_2
        bc1, bc2 = 1.0 - b1 ** t, 1.0 - b2 ** t
        rho_inf = 2.0 / (1.0 - b2) - 1.0
        rho_t = rho_inf - 2.0 * t * b2 ** t / bc2
        self._rectified = rho_t > 5.0
        if self._rectified:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            self._alpha = learning_rate * rect * math.sqrt(bc2) / bc1
        else:
            self._alpha = learning_rate / bc1

    _slot_attrs = ("_momentums", "_velocities")

    def _update_arrays(self, gradient, w, slots, scratch, learning_rate):
        (m, v), tmp = slots, scratch[0]
        np.subtract(gradient, m, out=tmp)
        tmp *= 1.0 - self.beta_1
        m += tmp
        np.multiply(gradient, gradient, out=tmp)
        tmp -= v
        tmp *= 1.0 - self.beta_2
        v += tmp
        if self._rectified:
            np.sqrt(v, out=tmp)
            tmp += self.epsilon
            np.divide(m, tmp, out=tmp)
            tmp *= self._alpha
        else:
            np.multiply(m, self._alpha, out=tmp)
        w -= tmp

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
