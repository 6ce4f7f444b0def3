"""``tf.train.ExponentialMovingAverage``: shadow copies of variables that follow them with
``shadow -= (1 - decay) * (shadow - variable)`` at each ``apply`` (Polyak averaging for custom loops).

With ``num_updates`` (a number or a variable such as ``optimizer.iterations``, read at each ``apply``) the
decay is ``min(decay, (1 + n) / (10 + n))``, so early averages move faster. A shadow starts at its
variable's value. ``zero_debias`` only concerns tensors in TF1 graphs; with variables it changes nothing,
as in TF 2.

>>> import tapeflow as tf
>>> w = tf.Variable([1.0, 2.0], name="w")
>>> ema = tf.train.ExponentialMovingAverage(0.5)
>>> ema.apply([w])
>>> _ = w.assign([3.0, 2.0])
>>> ema.apply([w])
>>> ema.average(w).numpy().tolist(), ema.average_name(w)
([2.0, 2.0], 'w/ExponentialMovingAverage')
"""
from __future__ import annotations

import numpy as np

from .autodiff.tensor import Tensor, Variable

_FLOATS = ("float16", "bfloat16", "float32", "float64")


def _value(x) -> float:
    return float(np.asarray(x._value if isinstance(x, Tensor) else x))


class ExponentialMovingAverage:
    """Moving averages of variables, kept in non-trainable shadow variables (``average(var)``)."""

    def __init__(self, decay, num_updates=None, zero_debias=False, name="ExponentialMovingAverage"):
        self._decay, self._num_updates, self._zero_debias, self._name = decay, num_updates, zero_debias, name
        self._averages: dict = {}

    @property
    def name(self) -> str:
        return self._name

    def _current_decay(self) -> np.float32:
        decay = np.float32(_value(self._decay))          # TF casts decay (and num_updates) to float32
        if self._num_updates is not None:
            n = np.float32(_value(self._num_updates))
            decay = min(decay, (np.float32(1.0) + n) / (np.float32(10.0) + n))
        return decay

    def apply(self, var_list=None) -> None:
        """Create the shadows of new variables (at their current values), then move every shadow once."""
        if var_list is None:
            raise ValueError("ExponentialMovingAverage.apply: pass var_list (TF 2 has no global trainable-variable "
                             "collection), e.g. ema.apply(model.trainable_variables)")
        var_list = list(var_list)
        for v in var_list:
            if not isinstance(v, Variable):
                raise TypeError("tf.train.ExponentialMovingAverage does not support non-Variable tensors when eager "
                                "execution is enabled.")
            if str(v.dtype) not in _FLOATS:
                raise TypeError(f"The variables must be half, float, or double: {v.name} is {v.dtype}")
        for v in var_list:
            if id(v) not in self._averages:
                shadow = Variable(v._value.copy(), trainable=False, name=self.average_name(v))
                self._averages[id(v)] = (v, shadow)
        rate = 1.0 - self._current_decay()
        for v in var_list:
            shadow = self._averages[id(v)][1]._value
            shadow -= ((shadow - v._value) * rate).astype(shadow.dtype, copy=False)

    def average(self, var):
        """The shadow variable of ``var``, or None if ``apply`` has not seen it."""
        hit = self._averages.get(id(var))
        return None if hit is None or hit[0] is not var else hit[1]

    def average_name(self, var) -> str:
        """``<variable name>/<this object's name>``, TF's name for the shadow."""
        return f"{str(var.name).split(':')[0]}/{self._name}"
