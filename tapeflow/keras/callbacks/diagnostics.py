"""GradientNorms and ActivationStats: the spec's "inspect gradient norms per layer" and "dead neurons"
checks as callbacks.

Both put their numbers in the epoch logs (``grad_norm/<layer>``, ``act_mean/<layer>``,
``act_var/<layer>``, ``dead_frac/<layer>``), so History records them and a TensorBoard callback
listed *after* them writes them as scalars.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ...debug import diagnostics as D
from .base import Callback


class GradientNorms(Callback):
    """Log per-layer gradient norms every ``freq`` training steps; warn on vanishing/exploding ones.

    The norms come from the gradients ``train_step`` already computed (the trainer keeps the last
    step's gradients only while a callback asks for them). Epoch logs get the mean over the epoch's
    sampled steps as ``grad_norm/<layer>``; ``self.steps`` keeps ``(global step, {layer: norm})``.
    A warning names a layer whose norm falls below ``vanishing`` (1e-7) or rises above ``exploding``
    (1e3) or is not finite.

    >>> import numpy as np, tapeflow as tf
    >>> m = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,), name="out")])
    >>> m.compile("sgd", "mse")
    >>> h = m.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=1, verbose=0, callbacks=[GradientNorms(freq=1)])
    >>> "grad_norm/out" in h.history
    True
    """

    def __init__(self, freq: int = 1, vanishing: float = D.VANISHING, exploding: float = D.EXPLODING,
                 warn: bool = True):
        super().__init__()
        if int(freq) < 1:
            raise ValueError(f"GradientNorms: freq must be a positive integer, got {freq!r}")
        self.freq = int(freq)
        self.vanishing = float(vanishing)
        self.exploding = float(exploding)
        self.warn = warn
        self.steps: list = []
        self._epoch: dict = {}
        self._global_step = 0
        self._warned: set = set()
        self._missing_warned = False

    def on_train_begin(self, logs=None):
        self.model._trainer_record_grads = True
        self._global_step = 0

    def on_train_end(self, logs=None):
        self.model._trainer_record_grads = False
        self.model._trainer_last_grads = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = {}

    def on_train_batch_end(self, batch, logs=None):
        step = self._global_step
        self._global_step += 1
        if step % self.freq:
            return
        rec = getattr(self.model, "_trainer_last_grads", None)
        if rec is None:
            if not self._missing_warned:
                self._missing_warned = True
                warnings.warn("GradientNorms: no gradients were recorded this step (a custom train_step does not "
                              "store them); call tf.debug.gradient_norms(model, x, y) yourself instead",
                              RuntimeWarning, stacklevel=2)
            return
        grads, variables, scale = rec
        norms = D.gradient_norms(self.model, grads=grads, variables=variables, loss_scale=scale)
        self.model._trainer_last_grads = None
        self.steps.append((step, norms))
        for name, n in norms.items():
            self._epoch.setdefault(name, []).append(n)
            if logs is not None:
                logs[f"grad_norm/{name}"] = n
            self._check(name, n, step)

    def _check(self, name, n, step):
        if not self.warn:
            return
        if not math.isfinite(n):
            kind, msg = "nonfinite", (f"the gradient of layer '{name}' is not finite ({n}) at step {step}: "
                                      "lower the learning rate, clip gradients (clipnorm=) or check the inputs")
        elif n > self.exploding:
            kind, msg = "exploding", (f"exploding gradient in layer '{name}': norm {n:.3g} > {self.exploding:g} at "
                                      f"step {step}; lower the learning rate or clip gradients (clipnorm=)")
        elif n < self.vanishing:
            kind, msg = "vanishing", (f"vanishing gradient in layer '{name}': norm {n:.3g} < {self.vanishing:g} at "
                                      f"step {step}; try ReLU/LeakyReLU instead of sigmoid/tanh, He "
                                      "initialization, BatchNormalization or residual connections")
        else:
            return
        if (name, kind) not in self._warned:
            self._warned.add((name, kind))
            warnings.warn(f"GradientNorms: {msg}", RuntimeWarning, stacklevel=3)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for name, vals in self._epoch.items():
            logs[f"grad_norm/{name}"] = float(np.mean(vals))


class ActivationStats(Callback):
    """At each epoch end, measure every layer's output on a fixed ``sample`` batch.

    Logs ``act_mean/<layer>``, ``act_var/<layer>`` and ``dead_frac/<layer>`` (the fraction of units
    that output zero for the whole batch) and warns, naming the layer, when a ReLU layer has at
    least ``dead_threshold`` of its units dead (the spec's advice: LeakyReLU or PReLU).
    ``self.history`` keeps ``{epoch: stats}``.

    >>> import numpy as np, tapeflow as tf
    >>> m = tf.keras.Sequential([tf.keras.layers.Dense(4, activation="relu", input_shape=(2,), name="h")])
    >>> m.compile("sgd", "mse")
    >>> h = m.fit(np.ones((8, 2)), np.ones((8, 4)), verbose=0, callbacks=[ActivationStats(np.ones((8, 2)))])
    >>> "dead_frac/h" in h.history
    True
    """

    def __init__(self, sample, freq: int = 1, dead_threshold: float = 0.5, warn: bool = True):
        super().__init__()
        self.sample = sample
        self.freq = max(1, int(freq))
        self.dead_threshold = float(dead_threshold)
        self.warn = warn
        self.history: dict = {}
        self._warned: set = set()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.freq:
            return
        stats = D.activation_stats(self.model, self.sample, training=False)
        self.history[epoch] = stats
        for name, s in stats.items():
            if logs is not None:
                logs[f"act_mean/{name}"] = s["mean"]
                logs[f"act_var/{name}"] = s["variance"]
                logs[f"dead_frac/{name}"] = s["dead_fraction"]
            if self.warn and s["relu"] and s["dead_fraction"] >= self.dead_threshold and name not in self._warned:
                self._warned.add(name)
                warnings.warn(
                    f"ActivationStats: {s['dead_fraction']:.0%} of the units of ReLU layer '{name}' are dead (zero "
                    f"for every example of the sample batch) at epoch {epoch}. Dead ReLUs get no gradient; switch "
                    "to LeakyReLU or PReLU for a small negative slope, or lower the learning rate.",
                    RuntimeWarning, stacklevel=2)
