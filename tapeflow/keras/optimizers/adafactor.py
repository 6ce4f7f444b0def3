"""Adafactor, as ``keras.optimizers.Adafactor``."""
from __future__ import annotations

import math

import numpy as np

from .base import Optimizer


def _rms(x: np.ndarray) -> float:
    flat = x.reshape(-1)
    return math.sqrt(float(np.dot(flat, flat)) / max(flat.size, 1))


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern, 2018), with Keras 3's update rule.

    For step ``t``: ``rho = min(lr, 1/sqrt(t))``, ``alpha = max(epsilon_2, rms(w)) * rho``,
    ``beta_2t = 1 - t^beta_2_decay`` and ``g2 = g^2 + epsilon_1``. A variable of rank >= 2 keeps factored
    second moments: row means ``r`` (last axis dropped) and column means ``c`` (second-to-last axis dropped),
    each an EMA with ``beta_2t``, and ``v = (r / mean(r))[..., None] * c[..., None, :]``; a lower-rank variable
    keeps a full EMA ``v`` of ``g2``. Then ``u = g / sqrt(v)``, ``w -= alpha * u / max(1, rms(u) /
    clip_threshold)``. As in Keras 3.15, ``relative_step`` is stored but the ``min(lr, 1/sqrt(t))`` cap
    applies either way. Slots per variable, in Keras's order: ``r``, ``c`` (0-d placeholders below rank 2),
    ``velocity``.

    >>> import tapeflow as tf
    >>> w = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
    >>> opt = tf.keras.optimizers.Adafactor(learning_rate=0.1)
    >>> _ = opt.apply_gradients([(tf.constant([[1.0, 1.0], [1.0, 1.0]]), w)])
    >>> [round(x, 4) for x in w.numpy().ravel().tolist()]
    [0.7261, 1.7261, 2.7261, 3.7261]
    """

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0,
                 relative_step=True, name="adafactor", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)  # shared options: see Optimizer
        for arg, value in (("epsilon_1", epsilon_1), ("epsilon_2", epsilon_2), ("clip_threshold", clip_threshold)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"Adafactor: `{arg}` must be a number > 0. Received: {arg}={value!r}")
        if isinstance(beta_2_decay, bool) or not isinstance(beta_2_decay, (int, float)) or not beta_2_decay < 0:
            raise ValueError(f"Adafactor: `beta_2_decay` must be a number < 0 (the second-moment decay "
                             f"1 - t^beta_2_decay must grow to 1). Received: beta_2_decay={beta_2_decay!r}")
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._r, self._c, self._v = [], [], []
        self._rbuf, self._cbuf, self._rmean = [], [], []   # scratch for the factored means (not state)
        for var in var_list:
            shape, name = tuple(var.shape), str(var.name)
            if len(shape) < 2:
                self._r.append(self.add_variable((), dtype=var.dtype, name=name))
                self._c.append(self.add_variable((), dtype=var.dtype, name=name))
                self._rbuf.append(None)
                self._cbuf.append(None)
                self._rmean.append(None)
            else:
                self._r.append(self.add_variable(shape[:-1], dtype=var.dtype, name=name))
                self._c.append(self.add_variable(shape[:-2] + shape[-1:], dtype=var.dtype, name=name))
                self._rbuf.append(np.empty(shape[:-1], var.dtype))
                self._cbuf.append(np.empty(shape[:-2] + shape[-1:], var.dtype))
                self._rmean.append(np.empty(shape[:-2] + (1,), var.dtype))
            self._v.append(self.add_variable_from_reference(var, name="velocity"))

    def _prepare_step(self, learning_rate):
        t = float(self._step_count() + 1)
        self._rho = min(float(np.float32(learning_rate)), 1.0 / math.sqrt(t))
        self._beta_2t = 1.0 - t ** self.beta_2_decay

    def update_step(self, gradient, variable, learning_rate):
        i = self._trainable_variables_indices[id(variable)]
        w, v, tmp = variable._value, self._v[i]._value, self._tmp[i]
        b2 = self._beta_2t
        alpha = max(self.epsilon_2, _rms(w)) * self._rho
        np.multiply(gradient, gradient, out=tmp)
        tmp += self.epsilon_1                                  # g2 = g^2 + epsilon_1
        if w.ndim >= 2:
            r, c = self._r[i]._value, self._c[i]._value
            rbuf, cbuf, rmean = self._rbuf[i], self._cbuf[i], self._rmean[i]
            np.mean(tmp, axis=-1, out=rbuf)
            r *= b2
            rbuf *= 1.0 - b2
            r += rbuf
            np.mean(tmp, axis=-2, out=cbuf)
            c *= b2
            cbuf *= 1.0 - b2
            c += cbuf
            np.mean(r, axis=-1, keepdims=True, out=rmean)
            np.divide(r, rmean, out=rbuf)
            np.multiply(rbuf[..., :, None], c[..., None, :], out=v)
        else:
            v *= b2
            tmp *= 1.0 - b2
            v += tmp
        np.sqrt(v, out=tmp)
        np.divide(gradient, tmp, out=tmp)                      # u = g / sqrt(v)
        tmp *= alpha / max(1.0, _rms(tmp) / self.clip_threshold)
        w -= tmp

    def get_config(self):
        config = super().get_config()
        config.update({"beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                       "clip_threshold": self.clip_threshold, "relative_step": self.relative_step})
        return config
