"""AdaBelief (Zhuang et al. 2020, "AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed
Gradients")."""
from __future__ import annotations

import math

import numpy as np

from .base import Optimizer


class AdaBelief(Optimizer):
    """AdaBelief: Adam whose second moment tracks the gradient's deviation from its running mean.

    The paper's Algorithm 2, with ``t`` the 1-based step::

        m_t = beta_1 m + (1 - beta_1) g
        s_t = beta_2 s + (1 - beta_2) (g - m_t)^2 + epsilon
        w  -= lr * (m_t / (1 - beta_1^t)) / (sqrt(s_t / (1 - beta_2^t)) + epsilon)

    ``amsgrad=True`` divides by the running maximum of ``s_t``. ``epsilon`` defaults to 1e-16 as in the
    authors' code (it enters twice: inside ``s_t`` and in the denominator). ``weight_decay`` is the base
    class's decoupled decay (the authors' ``weight_decouple=True``).

    >>> import tapeflow as tf
    >>> w = tf.Variable([1.0, 2.0])
    >>> opt = tf.keras.optimizers.AdaBelief(learning_rate=0.1)
    >>> _ = opt.apply_gradients([(tf.constant([1.0, -2.0]), w)])   # first step: lr * sign(g) / (1 - beta_1)
    >>> [round(x, 4) for x in w.numpy().tolist()]
    [0.8889, 2.1111]
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-16, amsgrad=False,
                 name="adabelief", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)  # shared options: see Optimizer
        for arg, val in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0.0 <= val < 1.0:
                raise ValueError(f"AdaBelief: `{arg}` must be in [0, 1). Received: {arg}={val}")
        if not epsilon >= 0:
            raise ValueError(f"AdaBelief: `epsilon` must be >= 0. Received: epsilon={epsilon}")
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._beliefs = self.add_optimizer_variables(var_list, "belief")
        if self.amsgrad:
            self._belief_hats = self.add_optimizer_variables(var_list, "belief_hat")

    def _prepare_step(self, learning_rate):
        t = self._step_count() + 1
        self._step_size = learning_rate / (1.0 - self.beta_1 ** t)
        self._inv_sqrt_bc2 = 1.0 / math.sqrt(1.0 - self.beta_2 ** t)

    @property
    def _slot_attrs(self):
        return ("_momentums", "_beliefs") + (("_belief_hats",) if self.amsgrad else ())

    def _update_arrays(self, gradient, w, slots, scratch, learning_rate):
        m, s, tmp = slots[0], slots[1], scratch[0]
        np.subtract(gradient, m, out=tmp)
        tmp *= 1.0 - self.beta_1
        m += tmp                                   # m_t
        np.subtract(gradient, m, out=tmp)          # g - m_t
        np.multiply(tmp, tmp, out=tmp)
        tmp *= 1.0 - self.beta_2
        s *= self.beta_2
        s += tmp
        s += self.epsilon                          # s_t
        if self.amsgrad:
            s_hat = slots[2]
            np.maximum(s_hat, s, out=s_hat)
            s = s_hat
        np.sqrt(s, out=tmp)
        tmp *= self._inv_sqrt_bc2
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= self._step_size
        w -= tmp

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config
