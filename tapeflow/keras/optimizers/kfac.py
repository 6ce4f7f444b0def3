"""K-FAC for Dense layers (Martens & Grosse 2015, "Optimizing Neural Networks with Kronecker-factored
Approximate Curvature") and Conv2D layers (KFC: Grosse & Martens 2016, "A Kronecker-factored approximate
Fisher matrix for convolution layers"; the factors and their derivation are in ``kfac_blocks.py``).

For a Dense layer ``z = a @ kernel + bias`` (Keras layout: kernel ``(in, out)``), write
``a_bar = [a, 1]`` (the ones column only when the layer has a bias) and ``W_bar = [kernel; bias]``
of shape ``(in [+1], out)``. K-FAC approximates the layer's Fisher block by ``A (x) G`` with
``A = E[a_bar a_bar^T]`` and ``G = E[g g^T]``, ``g = dloss_example / dz``, and preconditions the
gradient as ``(A + dA I)^-1 grad_W_bar (G + dG I)^-1`` (the transpose of the paper's
``(G + dG I)^-1 grad (A + dA I)^-1`` for torch's ``(out, in)`` layout). A Conv2D layer is the same
with ``a_bar`` its im2col patches (one per example and output location) and ``W_bar`` its kernel
reshaped to ``(kh * kw * in [+1], out)``.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ...autodiff.tape import GradientTape
from ...autodiff.tensor import Tensor
from ...ops import math_ops as M
from .base import Optimizer
from .kfac_blocks import make_block


def _all_layers(model) -> list:
    if hasattr(model, "_flatten_layers"):
        return list(model._flatten_layers(include_self=True, recursive=True))
    return list(getattr(model, "layers", []))


def _damped_inverse(mat: np.ndarray, damping: float) -> np.ndarray:
    """``(mat + damping I)^-1`` for a symmetric PSD ``mat`` (via Cholesky, symmetrized)."""
    m = mat + damping * np.eye(mat.shape[0], dtype=mat.dtype)
    try:
        c = np.linalg.cholesky(m)
        ci = np.linalg.inv(c)
        inv = ci.T @ ci
    except np.linalg.LinAlgError:
        inv = np.linalg.inv(m)
    return (inv + inv.T) / 2


class KFAC(Optimizer):
    """K-FAC for the Dense and Conv2D layers of a tapeflow Keras model (other variables get momentum SGD).

    Use ``train_step(x, y, loss_fn)``: it runs the forward pass with each layer's pre-activations
    watched, computes the loss (``loss_fn(y, y_pred)`` plus ``model.losses``; the loss must be a batch
    *mean*, Keras's default reduction), takes the gradients of the loss w.r.t. the variables and the
    pre-activations, updates the Kronecker factors every ``cov_update_interval`` steps as running
    averages ``F <- cov_ema_decay F + (1 - cov_ema_decay) F_batch`` (the first batch initializes them),
    recomputes the damped inverses every ``inv_update_interval`` steps, and applies

    ``v = momentum v - lr * nu * P``;  ``w += v``,  with ``P`` the preconditioned gradient.

    With per-example gradients ``g_i = N dloss/dz_i`` (N rows in the batch), ``A_batch = a_bar^T a_bar / N``
    and ``G_batch = g^T g / N``: the empirical Fisher (true labels). For a Conv2D layer (KFC) ``A_batch``
    is the mean of ``a_bar a_bar^T`` over the N examples and the ``|T|`` output locations (``a_bar``: the
    im2col patch, plus 1 with a bias) and ``G_batch = (1/N) sum_{i,t} g_it g_it^T`` with ``g_it = N dloss/dz_it``
    (see ``kfac_blocks.py`` for the derivation). Conv2D layers with ``groups > 1``, and Dense/Conv2D
    subclasses that override ``call``, are left to momentum SGD with a warning. Damping (Tikhonov):

    - ``damping_mode="factored"`` (the paper's section 6.3): ``pi = sqrt((tr A / dim A) / (tr G / dim G))``,
      ``dA = pi sqrt(damping)``, ``dG = sqrt(damping) / pi``;
    - ``damping_mode="simple"``: ``dA = dG = damping``.

    ``kl_clip`` (Ba et al. 2017) scales every update by ``nu = min(1, sqrt(kl_clip / (lr^2 sum P.grad)))``;
    without it ``nu = 1``. The base-class options (clipping, ``weight_decay``, gradient noise, schedules)
    apply to the raw gradients before preconditioning. ``apply_gradients`` can also be called directly
    (after ``update_factors``), e.g. with gradients from another tape.

    >>> import numpy as np, tapeflow as tf
    >>> model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(4, activation="tanh"),
    ...                              tf.keras.layers.Dense(1)])
    >>> opt = tf.keras.optimizers.KFAC(model, learning_rate=0.1, damping=0.01)
    >>> x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    >>> y = x.sum(axis=1, keepdims=True)
    >>> losses = [float(opt.train_step(x, y, tf.keras.losses.MeanSquaredError())) for _ in range(10)]
    >>> losses[-1] < 0.5 * losses[0]
    True
    """

    def __init__(self, model, learning_rate=0.01, damping=1e-3, damping_mode="factored", momentum=0.9,
                 cov_ema_decay=0.95, cov_update_interval=1, inv_update_interval=10, kl_clip=None,
                 name="kfac", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if damping_mode not in ("factored", "simple"):
            raise ValueError(f"KFAC: `damping_mode` must be 'factored' or 'simple'. Received: {damping_mode!r}")
        if not damping > 0:
            raise ValueError(f"KFAC: `damping` must be > 0. Received: damping={damping}")
        if not 0.0 <= momentum < 1.0 or not 0.0 <= cov_ema_decay < 1.0:
            raise ValueError(f"KFAC: `momentum` and `cov_ema_decay` must be in [0, 1). Received: "
                             f"momentum={momentum}, cov_ema_decay={cov_ema_decay}")
        for arg, val in (("cov_update_interval", cov_update_interval), ("inv_update_interval", inv_update_interval)):
            if not (isinstance(val, int) and val >= 1):
                raise ValueError(f"KFAC: `{arg}` must be an integer >= 1. Received: {arg}={val!r}")
        self.model = model
        self.damping = float(damping)
        self.damping_mode = damping_mode
        self.momentum = float(momentum)
        self.cov_ema_decay = float(cov_ema_decay)
        self.cov_update_interval = cov_update_interval
        self.inv_update_interval = inv_update_interval
        self.kl_clip = kl_clip
        self.factors: dict = {}      # id(layer) -> {"layer", "block", "A", "G", "A_inv", "G_inv"}
        self._kfac_steps = 0
        self._blocks: dict = {}      # id(layer) -> LayerBlock
        self._warned: set = set()

    # -- capturing activations and pre-activation gradients ----------------------------------------
    def _block(self, layer):
        """The layer's block, or ``None`` (warning once) when K-FAC leaves it to momentum SGD."""
        block = self._blocks.get(id(layer))
        if block is None or block.layer is not layer:
            block, why = make_block(layer)
            if why is not None and id(layer) not in self._warned:
                self._warned.add(id(layer))
                warnings.warn(f"KFAC: {why}", stacklevel=4)
            if block is not None:
                self._blocks[id(layer)] = block
        return block

    def forward_and_gradients(self, x, y, loss_fn, sample_weight=None, training=True):
        """Run the model on ``x`` recording each Dense/Conv2D layer's inputs and pre-activations; return
        ``(loss, grads, records)`` where ``grads`` matches ``model.trainable_variables`` and ``records``
        is a list of ``(layer, inputs, dloss/dz)`` arrays (a Dense layer's 2-D inputs, a Conv2D layer's
        NHWC inputs)."""
        blocks = [self._block(l) for l in _all_layers(self.model) if getattr(l, "trainable", True)]
        blocks = [b for b in blocks if b is not None]
        if not blocks:
            raise ValueError("KFAC: the model has no trainable Dense or Conv2D layer that K-FAC can precondition "
                             "(build the model first)")
        layers = [b.layer for b in blocks]
        records: list = []
        for block in blocks:
            block.layer.call = block.capture_call(records)
        try:
            with GradientTape() as tape:
                y_pred = self.model(x, training=training)
                loss = loss_fn(y, y_pred) if sample_weight is None else loss_fn(y, y_pred, sample_weight)
                extra = list(getattr(self.model, "losses", []) or [])
                if extra:
                    loss = M.add(loss, M.add_n(extra) if hasattr(M, "add_n") else sum(extra[1:], extra[0]))
        finally:
            for layer in layers:
                layer.__dict__.pop("call", None)
        variables = list(self.model.trainable_variables)
        grads = tape.gradient(loss, variables + [z for _, _, z in records])
        n_var = len(variables)
        recs = [(layer, a, None if dz is None else dz._value) for (layer, a, _), dz in zip(records, grads[n_var:])]
        return loss, grads[:n_var], recs

    def update_factors(self, records) -> None:
        """Fold a batch's ``(layer, inputs, dloss/dz)`` records into the running Kronecker factors."""
        by_layer: dict = {}
        for layer, a, dz in records:
            if dz is None:
                continue
            by_layer.setdefault(id(layer), [layer, []])[1].append((a, dz))
        for key, (layer, pairs) in by_layer.items():
            block = self._block(layer)
            if block is None:
                raise ValueError(f"KFAC.update_factors: layer '{layer.name}' ({type(layer).__name__}) is not one "
                                 f"K-FAC preconditions; pass records from forward_and_gradients")
            a_batch, g_batch = block.batch_factors(pairs)
            f = self.factors.get(key)
            if f is None:
                self.factors[key] = {"layer": layer, "block": block, "A": a_batch, "G": g_batch,
                                     "A_inv": None, "G_inv": None}
            else:
                d = self.cov_ema_decay
                f["A"] = d * f["A"] + (1 - d) * a_batch
                f["G"] = d * f["G"] + (1 - d) * g_batch

    def damping_terms(self, a_factor: np.ndarray, g_factor: np.ndarray) -> tuple:
        """``(dA, dG)``: the Tikhonov terms added to A and G under ``damping_mode``."""
        if self.damping_mode == "simple":
            return self.damping, self.damping
        ta = np.trace(a_factor) / a_factor.shape[0]
        tg = np.trace(g_factor) / g_factor.shape[0]
        pi = math.sqrt(ta / tg) if ta > 0 and tg > 0 else 1.0
        root = math.sqrt(self.damping)
        return pi * root, root / pi

    def update_inverses(self) -> None:
        """Recompute ``(A + dA I)^-1`` and ``(G + dG I)^-1`` for every layer."""
        for f in self.factors.values():
            da, dg = self.damping_terms(f["A"], f["G"])
            f["A_inv"] = _damped_inverse(f["A"], da)
            f["G_inv"] = _damped_inverse(f["G"], dg)

    def precondition(self, layer, grad_kernel, grad_bias=None) -> tuple:
        """``(A + dA I)^-1 grad_W_bar (G + dG I)^-1`` with ``grad_W_bar = [grad_kernel (as fan_in x out);
        grad_bias]``, split back into Keras's (kernel, bias) shapes."""
        f = self.factors[id(layer)]
        block = f["block"]
        p = f["A_inv"] @ block.grad_matrix(grad_kernel, grad_bias).astype(np.float64) @ f["G_inv"]
        return block.split(p, grad_kernel, grad_bias)

    # -- the training step -------------------------------------------------------------------------------
    def train_step(self, x, y, loss_fn, sample_weight=None) -> float:
        """One K-FAC step on a batch; returns the loss before the update (a float)."""
        loss, grads, records = self.forward_and_gradients(x, y, loss_fn, sample_weight)
        k = self._kfac_steps
        if k % self.cov_update_interval == 0 or not self.factors:
            self.update_factors(records)
        if k % self.inv_update_interval == 0 or any(f["A_inv"] is None for f in self.factors.values()):
            self.update_inverses()
        self._kfac_steps += 1
        self.apply_gradients([(g, v) for g, v in zip(grads, self.model.trainable_variables) if g is not None])
        return float(loss._value if isinstance(loss, Tensor) else loss)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._velocities = self.add_optimizer_variables(variables, "velocity") if self.momentum else []

    def _backend_update_step(self, grads, trainable_variables, learning_rate) -> None:
        by_id = {id(v): g for g, v in zip(grads, trainable_variables)}
        pre: dict = {}
        for f in self.factors.values():
            layer = f["layer"]
            if f["A_inv"] is None or id(layer.kernel) not in by_id:
                continue
            gb = by_id.get(id(layer.bias)) if layer.bias is not None else None
            if layer.bias is not None and gb is None:
                continue
            pk, pb = self.precondition(layer, by_id[id(layer.kernel)], gb)
            pre[id(layer.kernel)] = pk
            if pb is not None:
                pre[id(layer.bias)] = pb
        nu = 1.0
        if self.kl_clip:
            vg = sum(float(np.vdot(pre.get(id(v), g), g)) for g, v in zip(grads, trainable_variables))
            if vg > 0:
                nu = min(1.0, math.sqrt(self.kl_clip / (learning_rate ** 2 * vg)))
        self.last_kl_scale = nu
        for g, v in zip(grads, trainable_variables):
            i = self._trainable_variables_indices[id(v)]
            step, tmp = pre.get(id(v), g), self._tmp[i]
            np.multiply(step, learning_rate * nu, out=tmp)
            if self._velocities:
                vel = self._velocities[i]._value
                vel *= self.momentum
                vel -= tmp
                v._value += vel
            else:
                v._value -= tmp

    def get_config(self):
        config = super().get_config()
        config.update({"damping": self.damping, "damping_mode": self.damping_mode, "momentum": self.momentum,
                       "cov_ema_decay": self.cov_ema_decay, "cov_update_interval": self.cov_update_interval,
                       "inv_update_interval": self.inv_update_interval, "kl_clip": self.kl_clip})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, model=None):
        if model is None:
            raise ValueError("KFAC.from_config: pass `model=` (K-FAC preconditions a given model's layers)")
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            from .schedules import deserialize
            config["learning_rate"] = deserialize(config["learning_rate"], custom_objects=custom_objects)
        return cls(model, **config)
