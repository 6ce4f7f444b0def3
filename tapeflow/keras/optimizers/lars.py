"""LARS (You, Gitman & Ginsburg 2017, "Large Batch Training of Convolutional Networks")."""
from __future__ import annotations

import math
import re

import numpy as np

from .base import Optimizer


class LARS(Optimizer):
    """Layer-wise Adaptive Rate Scaling: SGD with momentum where each variable's step is scaled by a
    trust ratio computed from its own weight and gradient norms.

    The paper's Algorithm 1, per variable ``w`` with gradient ``g``::

        local_lr = trust_coefficient * ||w|| / (||g|| + weight_decay_rate * ||w|| + epsilon)
        v = momentum * v + lr * local_lr * (g + weight_decay_rate * w)
        w -= v

    ``local_lr`` is 1 when ``||w||`` or ``||g||`` is 0. ``weight_decay_rate`` is the paper's coupled L2
    term (the base class's decoupled ``weight_decay`` also remains available). Variables whose name
    matches one of ``exclude_from_layer_adaptation`` (e.g. ``["bias", "gamma", "beta"]``) get
    ``local_lr = 1`` and no ``weight_decay_rate``, as is usual for biases and normalization
    parameters. ``nesterov=True`` uses ``w -= momentum * v + lr * local_lr * (g + wd w)``.

    >>> import tapeflow as tf
    >>> w = tf.Variable([3.0, 4.0])                       # ||w|| = 5
    >>> opt = tf.keras.optimizers.LARS(learning_rate=1.0, trust_coefficient=0.1)
    >>> _ = opt.apply_gradients([(tf.constant([0.0, 10.0]), w)])   # local_lr = 0.1 * 5 / 10
    >>> [round(x, 4) for x in w.numpy().tolist()]
    [3.0, 3.5]
    """

    def __init__(self, learning_rate=1.0, momentum=0.9, weight_decay_rate=0.0, trust_coefficient=0.001,
                 epsilon=0.0, nesterov=False, exclude_from_layer_adaptation=None, name="lars", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)  # shared options: see Optimizer
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"LARS: `momentum` must be in [0, 1). Received: momentum={momentum}")
        if not trust_coefficient > 0:
            raise ValueError(f"LARS: `trust_coefficient` must be > 0. Received: {trust_coefficient}")
        if not weight_decay_rate >= 0 or not epsilon >= 0:
            raise ValueError(f"LARS: `weight_decay_rate` and `epsilon` must be >= 0. Received: "
                             f"weight_decay_rate={weight_decay_rate}, epsilon={epsilon}")
        self.momentum = float(momentum)
        self.weight_decay_rate = float(weight_decay_rate)
        self.trust_coefficient = float(trust_coefficient)
        self.epsilon = float(epsilon)
        self.nesterov = bool(nesterov)
        self.exclude_from_layer_adaptation = list(exclude_from_layer_adaptation or [])
        self._exclude_re = (re.compile("|".join(map(re.escape, self.exclude_from_layer_adaptation)))
                            if self.exclude_from_layer_adaptation else None)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._adapt = [self._exclude_re is None or self._exclude_re.search(str(getattr(v, "path", None) or v.name))
                       is None for v in var_list]

    def trust_ratio(self, weight: np.ndarray, gradient: np.ndarray) -> float:
        """The paper's local learning rate for one variable (1 when either norm is 0)."""
        w_norm = math.sqrt(float(np.vdot(weight, weight)))
        g_norm = math.sqrt(float(np.vdot(gradient, gradient)))
        if w_norm == 0.0 or g_norm == 0.0:
            return 1.0
        return self.trust_coefficient * w_norm / (g_norm + self.weight_decay_rate * w_norm + self.epsilon)

    def update_step(self, gradient, variable, learning_rate):
        i = self._trainable_variables_indices[id(variable)]
        w, v, tmp = variable._value, self._momentums[i]._value, self._tmp[i]
        if self._adapt[i]:
            scale = learning_rate * self.trust_ratio(w, gradient)
            np.multiply(w, self.weight_decay_rate, out=tmp)
            tmp += gradient
            tmp *= scale                          # lr * local_lr * (g + wd w)
        else:
            np.multiply(gradient, learning_rate, out=tmp)
        v *= self.momentum
        v += tmp
        if self.nesterov:
            w -= tmp
            np.multiply(v, self.momentum, out=tmp)
            w -= tmp
        else:
            w -= v

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "weight_decay_rate": self.weight_decay_rate,
                       "trust_coefficient": self.trust_coefficient, "epsilon": self.epsilon,
                       "nesterov": self.nesterov,
                       "exclude_from_layer_adaptation": self.exclude_from_layer_adaptation})
        return config
