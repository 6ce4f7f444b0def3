"""FTRL-Proximal, as ``keras.optimizers.Ftrl``."""
from __future__ import annotations

import numpy as np

from .base import Optimizer


class Ftrl(Optimizer):
    """Follow The Regularized Leader (McMahan et al., 2013), with online L1/L2 and L2 shrinkage.

    With ``p = -learning_rate_power``: ``n' = n + g^2``; ``z += g + 2 s w - (n'^p - n^p) / lr * w``;
    ``w = (clip(z, -l1, l1) - z) / (n'^p / lr + 2 (l2 + beta / (2 lr)))``; ``n = n'``.

    >>> import tapeflow as tf
    >>> w = tf.Variable([1.0, 2.0, 3.0, 4.0])
    >>> opt = tf.keras.optimizers.Ftrl(learning_rate=0.5)
    >>> _ = opt.apply_gradients([(tf.constant([1.0, 6.0, 7.0, 2.0]), w)])
    >>> [round(x, 4) for x in w.numpy().tolist()]
    [0.2218, 1.3954, 2.3651, 2.8814]
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, name="ftrl", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)  # shared options: see Optimizer
        for arg, value in (("initial_accumulator_value", initial_accumulator_value),
                           ("l1_regularization_strength", l1_regularization_strength),
                           ("l2_regularization_strength", l2_regularization_strength),
                           ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)):
            if value < 0.0:
                raise ValueError(f"`{arg}` needs to be positive or zero. Received: {arg}={value}.")
        if learning_rate_power > 0.0:
            raise ValueError("`learning_rate_power` needs to be negative or zero. "
                             f"Received: learning_rate_power={learning_rate_power}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators, self._linears = [], []
        for v in var_list:
            self._accumulators.append(self.add_variable(v.shape, dtype=v.dtype, name="accumulator",
                                                        initializer=self.initial_accumulator_value))
            self._linears.append(self.add_variable_from_reference(v, name="linear"))
        self._tmp2 = self._scratch()

    _slot_attrs = ("_accumulators", "_linears")
    _scratch_attrs = ("_tmp", "_tmp2")

    def _update_arrays(self, gradient, w, slots, scratch, learning_rate):
        (n, z), (new_n, new_n_pow) = slots, scratch
        p, l1 = -self.learning_rate_power, self.l1_regularization_strength
        l2 = self.l2_regularization_strength + self.beta / (2.0 * learning_rate)
        np.multiply(gradient, gradient, out=new_n)
        new_n += n
        np.power(new_n, p, out=new_n_pow)
        np.power(n, p, out=n)                     # n is free until it takes new_n at the end
        np.subtract(new_n_pow, n, out=n)
        n *= w
        n /= learning_rate                        # sigma * w
        z += gradient
        z -= n
        if self.l2_shrinkage_regularization_strength:
            np.multiply(w, 2.0 * self.l2_shrinkage_regularization_strength, out=n)
            z += n
        new_n_pow /= learning_rate
        new_n_pow += 2.0 * l2                     # the quadratic term
        np.clip(z, -l1, l1, out=w)
        w -= z
        w /= new_n_pow
        np.copyto(n, new_n)

    def get_config(self):
        config = super().get_config()
        config.update({"learning_rate_power": self.learning_rate_power,
                       "initial_accumulator_value": self.initial_accumulator_value,
                       "l1_regularization_strength": self.l1_regularization_strength,
                       "l2_regularization_strength": self.l2_regularization_strength,
                       "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                       "beta": self.beta})
        return config
