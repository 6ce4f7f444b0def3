"""SGD with optional (Nesterov) momentum, as ``keras.optimizers.SGD``."""
from __future__ import annotations

import numpy as np

from .base import Optimizer


class SGD(Optimizer):
    """Gradient descent, optionally with momentum.

    ``velocity = momentum * velocity - lr * g``; ``w += velocity`` (or, with ``nesterov=True``,
    ``w += momentum * velocity - lr * g``). Without momentum, ``w -= lr * g``.

    >>> import tapeflow as tf
    >>> w = tf.Variable([1.0])
    >>> opt = tf.keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     _ = opt.apply_gradients([(tf.constant([1.0]), w)])
    >>> round(float(w[0]), 4)
    0.71
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)  # shared options: see Optimizer
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = nesterov

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = []
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(variables, "momentum")

    @property
    def _slot_attrs(self):
        return ("momentums",) if self.momentums else ()

    def _update_arrays(self, gradient, w, slots, scratch, learning_rate):
        tmp = scratch[0]
        np.multiply(gradient, learning_rate, out=tmp)
        if not slots:
            w -= tmp
            return
        m, mu = slots[0], self.momentum
        m *= mu
        m -= tmp
        if self.nesterov:
            w -= tmp
            np.multiply(m, mu, out=tmp)
            w += tmp
        else:
            w += m

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
