"""Muon, as ``keras.optimizers.Muon``: orthogonalized momentum for matrices, Adam for everything else."""
from __future__ import annotations

import math
import re

import numpy as np

from .base import Optimizer


class Muon(Optimizer):
    """Muon (Jordan et al., 2024; Liu et al., 2025), with Keras 3's update rule.

    A 2-D variable whose path contains no ``exclude_layers`` pattern (regular expressions) and, with
    ``exclude_embeddings``, no ``"embedding"``, takes the Muon step: ``m = momentum * m + g``, the direction
    ``d = g + momentum * m`` (``nesterov``) or ``m``, orthogonalized by ``ns_steps`` quintic Newton-Schulz
    iterations ``X = a X + (b A + c A A) X`` with ``A = X X^T`` (on the wide orientation, after
    ``X = d / (||d||_F + 1e-7)``), then ``w -= lr * X * sqrt(max(rows, cols)) * rms_rate`` (no scaling when
    ``rms_rate`` is None). Every other variable takes an Adam step at ``lr * adam_lr_ratio``. Decoupled weight
    decay is ``weight_decay`` for Muon variables and ``adam_weight_decay`` for Adam ones, both times ``lr``.
    Slots per variable: ``momentum``, then ``velocity`` for Adam variables only.

    >>> import tapeflow as tf
    >>> w = tf.Variable([[1.0, 0.0], [0.0, 1.0]])
    >>> opt = tf.keras.optimizers.Muon(learning_rate=0.1, weight_decay=None, adam_weight_decay=None)
    >>> _ = opt.apply_gradients([(tf.constant([[1.0, 0.0], [0.0, 0.0]]), w)])
    >>> [round(x, 4) for x in w.numpy().ravel().tolist()]
    [0.9803, 0.0, 0.0, 1.0]
    """

    def __init__(self, learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999, adam_weight_decay=0.004, epsilon=1e-7,
                 weight_decay=0.004, name="muon", exclude_layers=None, exclude_embeddings=True, muon_a=3.4445,
                 muon_b=-4.7750, muon_c=2.0315, adam_lr_ratio=1, momentum=0.95, ns_steps=5, nesterov=True,
                 rms_rate=0.2, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, **kwargs)
        if isinstance(ns_steps, bool) or not isinstance(ns_steps, (int, np.integer)) or ns_steps < 0:
            raise ValueError(f"Muon: `ns_steps` must be an integer >= 0. Received: ns_steps={ns_steps!r}")
        if not 0 <= momentum < 1:
            raise ValueError(f"Muon: `momentum` must be in [0, 1). Received: momentum={momentum!r}")
        if rms_rate is not None and not rms_rate > 0:
            raise ValueError(f"Muon: `rms_rate` must be > 0 or None. Received: rms_rate={rms_rate!r}")
        if exclude_layers is not None and (isinstance(exclude_layers, str)
                                           or not all(isinstance(k, str) for k in exclude_layers)):
            raise ValueError("Muon: `exclude_layers` must be a list of strings (regular expressions). "
                             f"Received: exclude_layers={exclude_layers!r}")
        self.adam_beta_1 = adam_beta_1
        self.adam_beta_2 = adam_beta_2
        self.epsilon = epsilon
        self.muon_a, self.muon_b, self.muon_c = muon_a, muon_b, muon_c
        self.adam_lr_ratio = adam_lr_ratio
        self.momentum = momentum
        self.ns_steps = int(ns_steps)
        self.nesterov = nesterov
        self.exclude_embeddings = exclude_embeddings
        self.exclude_layers = list(exclude_layers or [])
        self.adam_weight_decay = adam_weight_decay
        self.rms_rate = rms_rate

    def _should_use_adamw(self, variable) -> bool:
        """True for a variable Muon leaves to Adam: not 2-D, an embedding, or matched by ``exclude_layers``."""
        if len(variable.shape) != 2:
            return True
        path = str(getattr(variable, "path", None) or variable.name)
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(keyword, path) for keyword in self.exclude_layers)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        n = len(var_list)
        self.momentums, self.adam_velocities = [None] * n, [None] * n
        self._ns = [None] * n  # Newton-Schulz buffers (X, X', A, A^2 / B, B X), allocated once
        for i, var in enumerate(var_list):
            if getattr(var, "overwrite_with_gradient", False):
                continue
            self.momentums[i] = self.add_variable_from_reference(var, name="momentum")
            if self._should_use_adamw(var):
                self.adam_velocities[i] = self.add_variable_from_reference(var, name="velocity")
            else:
                k, m = sorted(var.shape)
                dt = var.dtype
                self._ns[i] = (np.empty((k, m), dt), np.empty((k, m), dt), np.empty((k, k), dt),
                               np.empty((k, k), dt), np.empty((k, k), dt))

    def _prepare_step(self, learning_rate):
        # float32 powers, as Keras computes them: 1 - 0.999^t loses digits in float32 and Keras keeps that loss
        t, f32 = np.float32(self._step_count() + 1), np.float32
        one = f32(1.0)
        corr = np.sqrt(one - np.power(f32(self.adam_beta_2), t)) / (one - np.power(f32(self.adam_beta_1), t))
        self._adam_alpha = float(f32(learning_rate * self.adam_lr_ratio) * corr)

    def update_step(self, gradient, variable, learning_rate):
        i = self._trainable_variables_indices[id(variable)]
        if self.adam_velocities[i] is not None:
            self._adam_step(gradient, variable._value, self.momentums[i]._value, self.adam_velocities[i]._value,
                            self._tmp[i])
        else:
            self._muon_step(gradient, variable._value, self.momentums[i]._value, self._tmp[i], self._ns[i],
                            learning_rate)

    def _adam_step(self, g, w, m, v, tmp):
        np.subtract(g, m, out=tmp)
        tmp *= 1.0 - self.adam_beta_1
        m += tmp
        np.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1.0 - self.adam_beta_2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= self._adam_alpha
        w -= tmp

    def _muon_step(self, g, w, m, tmp, bufs, lr):
        m *= self.momentum
        m += g
        if self.nesterov:
            np.multiply(m, self.momentum, out=tmp)
            tmp += g
        else:
            np.copyto(tmp, m)
        tall = w.shape[0] > w.shape[1]
        x = self._newton_schulz(tmp.T if tall else tmp, bufs)
        scale = lr * (math.sqrt(max(w.shape)) * self.rms_rate if self.rms_rate is not None else 1.0)
        np.multiply(x.T if tall else x, scale, out=tmp)
        w -= tmp

    def _newton_schulz(self, d, bufs) -> np.ndarray:
        """The quintic Newton-Schulz orthogonalization of a wide (rows <= cols) matrix ``d``, in ``bufs``."""
        x, x2, a_mat, aa, b_mat = bufs
        np.copyto(x, d)
        x /= math.sqrt(float(np.vdot(x, x))) + 1e-7
        for _ in range(self.ns_steps):
            np.matmul(x, x.T, out=a_mat)
            np.matmul(a_mat, a_mat, out=aa)
            np.multiply(a_mat, self.muon_b, out=b_mat)
            aa *= self.muon_c
            b_mat += aa
            np.matmul(b_mat, x, out=x2)
            x *= self.muon_a
            x += x2
        return x

    def _decay_rate(self, variable):
        return self.adam_weight_decay if self._should_use_adamw(variable) else self.weight_decay

    def _apply_weight_decay(self, variables, lr: float) -> None:
        for v in variables:
            rate = self._decay_rate(v) if self._use_weight_decay(v) else None
            if rate is not None:
                np.multiply(v._value, 1.0 - float(rate) * lr, out=v._value)

    def _backend_update_step(self, grads, trainable_variables, learning_rate) -> None:
        if self.weight_decay is None:  # the base class only decays when `weight_decay` is set; Adam's may still be
            self._apply_weight_decay(trainable_variables, learning_rate)
        super()._backend_update_step(grads, trainable_variables, learning_rate)

    def get_config(self):
        config = super().get_config()
        config.update({"adam_beta_1": self.adam_beta_1, "adam_beta_2": self.adam_beta_2, "epsilon": self.epsilon,
                       "exclude_layers": self.exclude_layers, "muon_a": self.muon_a, "muon_b": self.muon_b,
                       "muon_c": self.muon_c, "adam_lr_ratio": self.adam_lr_ratio, "momentum": self.momentum,
                       "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                       "exclude_embeddings": self.exclude_embeddings, "adam_weight_decay": self.adam_weight_decay,
                       "rms_rate": self.rms_rate})
        return config
