"""Whole-model gradient check: ``check_gradients(model, x, y)``.

The model's weights (and its layers' compute dtypes) are switched to float64 for the check and
restored afterwards. For every trainable weight, the tape's gradient of the loss is compared with
central differences ``(L(w + h e_i) - L(w - h e_i)) / 2h`` on all entries of a small weight, or on
``max_entries`` entries drawn at random from a large one. The random state is reset before every
forward pass, so a model that draws random numbers (dropout with ``training=True``) sees the same
draws each time.

This is the check the spec teaches for a custom layer: build a tiny model around the layer and
run ``tf.debug.check_gradients(model, x, y)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..autodiff.tape import GradientTape
from ..autodiff.tensor import Tensor
from ..backend import rng as _rng
from .gradcheck import GradientCheckError


@dataclass
class WeightCheck:
    """The check of one weight: how many entries were compared and the worst errors."""
    name: str
    shape: tuple
    checked: int
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple
    analytic: float
    numeric: float
    ok: bool
    connected: bool = True


@dataclass
class GradientCheckReport:
    """Per-weight results of a model gradient check; ``str(report)`` is a table, ``report.ok`` the verdict."""
    results: list = field(default_factory=list)
    loss: float = float("nan")
    eps: float = 1e-6
    rtol: float = 1e-4

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> list:
        return [r for r in self.results if not r.ok]

    def __getitem__(self, name) -> WeightCheck:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def __str__(self) -> str:
        w = max([len("weight")] + [len(r.name) for r in self.results])
        head = f"{'weight':<{w}}  {'shape':<14} {'checked':>7}  {'max rel err':>11}  {'max abs err':>11}  status"
        lines = [f"gradient check (float64, eps={self.eps:g}, rtol={self.rtol:g}), loss={self.loss:.6g}",
                 head, "-" * len(head)]
        for r in self.results:
            status = "ok" if r.ok else (f"FAIL at {r.worst_index}: analytic {r.analytic:.6g} vs numeric "
                                        f"{r.numeric:.6g}")
            if not r.connected:
                status += " (no gradient from the tape)"
            lines.append(f"{r.name:<{w}}  {str(r.shape):<14} {r.checked:>7}  {r.max_rel_error:>11.3e}  "
                         f"{r.max_abs_error:>11.3e}  {status}")
        return "\n".join(lines)

    __repr__ = __str__


class _Float64:
    """Switch a model's float weights and layer dtypes to float64; restore on exit."""

    def __init__(self, model):
        self.model = model

    def __enter__(self):
        self.saved_vars = []
        for v in self.model.weights:
            if v._value.dtype.kind == "f" or v._value.dtype.name == "bfloat16":
                self.saved_vars.append((v, v._value))
                v._value = np.array(v._value, dtype=np.float64)
        self.saved_layers = []
        f64 = np.dtype(np.float64)
        for layer in self.model._flatten_layers():
            if hasattr(layer, "_compute_dtype"):
                self.saved_layers.append((layer, layer._compute_dtype, layer._variable_dtype))
                layer._compute_dtype = f64
                layer._variable_dtype = f64
        self.saved_losses = []  # compiled Loss objects compute in their own dtype (floatx): float64 too
        compiled = getattr(self.model, "compiled_loss", None)
        for fn in getattr(compiled, "fns", None) or []:
            if fn is not None and isinstance(getattr(fn, "_dtype", None), str):
                self.saved_losses.append((fn, fn._dtype))
                fn._dtype = "float64"
        return self

    def __exit__(self, *exc):
        for v, old in self.saved_vars:
            v._value = old
        for layer, c, d in self.saved_layers:
            layer._compute_dtype, layer._variable_dtype = c, d
        for fn, d in self.saved_losses:
            fn._dtype = d
        return False


def _to64(x):
    if isinstance(x, (list, tuple)):
        return type(x)(_to64(v) for v in x)
    if isinstance(x, dict):
        return {k: _to64(v) for k, v in x.items()}
    if x is None:
        return None
    a = np.asarray(x._value if isinstance(x, Tensor) else x)
    return a.astype(np.float64) if a.dtype.kind == "f" else a


def _make_loss(model, loss, y, r_seed):
    """A function (y_pred, x) -> scalar Tensor."""
    from ..ops import math_ops, reduce_ops
    if y is None:  # no targets: project the output on a fixed random direction
        cache = {}

        def project(y_pred, x):
            if "r" not in cache:
                cache["r"] = Tensor._wrap(np.random.default_rng(r_seed).standard_normal(y_pred._value.shape))
            total = reduce_ops.reduce_sum(math_ops.multiply(y_pred, cache["r"]))
            for extra in model.losses:
                total = total + extra
            return total
        return project
    if loss is None:
        if getattr(model, "compiled_loss", None) is None:
            raise ValueError("check_gradients(model, x, y): the model is not compiled with a loss; pass loss=... "
                             "(a name such as 'mse' or a callable (y_true, y_pred) -> scalar)")
        return lambda y_pred, x: model.compute_loss(x=x, y=y, y_pred=y_pred)
    from ..keras import losses as losses_mod
    fn = losses_mod.get(loss)

    def with_reg(y_pred, x):
        total = fn(y, y_pred)
        if total._value.ndim:  # a per-example loss function: average it, as compile does
            total = reduce_ops.reduce_mean(total)
        for extra in model.losses:
            total = total + extra
        return total
    return with_reg


def check_model_gradients(model, x, y=None, loss=None, training=False, eps=1e-6, rtol=1e-4, atol=1e-8,
                          max_entries=32, seed=0, raise_on_failure=True, verbose=False) -> GradientCheckReport:
    """Check every trainable weight's gradient of ``loss(y, model(x))`` against central differences.

    ``loss`` defaults to the compiled loss; with ``y=None`` the output is projected on a fixed random
    direction. Weights with at most ``max_entries`` entries are checked entirely, others on
    ``max_entries`` random entries. Returns a ``GradientCheckReport``; raises ``GradientCheckError``
    (carrying ``.report``) when some weight fails, unless ``raise_on_failure=False``.

    >>> import numpy as np, tapeflow as tf
    >>> model = tf.keras.Sequential([tf.keras.layers.Dense(3, activation="tanh", input_shape=(4,)),
    ...                              tf.keras.layers.Dense(1)])
    >>> report = tf.debug.check_gradients(model, np.ones((2, 4)), np.zeros((2, 1)), loss="mse")
    >>> report.ok
    True
    """
    if not model.built:
        model(x)
    variables = [v for v in model.trainable_weights]
    if not variables:
        raise ValueError(f"check_gradients: model '{model.name}' has no trainable weights")
    gen = _rng._state.get("gen")
    rng_snapshot = (None if gen is None else gen.bit_generator.state, dict(_rng._state["op_counts"]))

    def reset_rng():
        g = _rng._state.get("gen")
        if rng_snapshot[0] is not None and g is not None:
            g.bit_generator.state = rng_snapshot[0]
        _rng._state["op_counts"] = dict(rng_snapshot[1])

    sampler = np.random.default_rng(seed)
    report = GradientCheckReport(eps=eps, rtol=rtol)
    with _Float64(model):
        x64, y64 = _to64(x), _to64(y)
        loss_fn = _make_loss(model, loss, y64, seed)

        def evaluate() -> float:
            reset_rng()
            return float(np.asarray(loss_fn(model(x64, training=training), x64)._value))

        reset_rng()
        with GradientTape() as tape:
            total = loss_fn(model(x64, training=training), x64)
        report.loss = float(np.asarray(total._value))
        grads = tape.gradient(total, variables)
        for v, g in zip(variables, grads):
            a_full = np.zeros(v._value.shape) if g is None else np.asarray(g._value, dtype=np.float64)
            size = v._value.size
            idx = np.arange(size) if size <= max_entries else np.sort(sampler.choice(size, max_entries, replace=False))
            flat = v._value.reshape(-1)
            a = a_full.reshape(-1)[idx]
            n = np.empty(len(idx))
            for k, i in enumerate(idx):
                old = flat[i]
                flat[i] = old + eps
                plus = evaluate()
                flat[i] = old - eps
                minus = evaluate()
                flat[i] = old
                n[k] = (plus - minus) / (2 * eps)
            diff = np.abs(a - n)
            scale = np.maximum(np.abs(a), np.abs(n))
            rel = np.where(scale > 0, diff / np.maximum(scale, 1e-300), 0.0)
            bad = diff > atol + rtol * scale
            worst = int(np.argmax(diff - rtol * scale)) if len(idx) else 0
            res = WeightCheck(
                name=str(getattr(v, "path", v.name)), shape=tuple(v._value.shape), checked=len(idx),
                max_abs_error=float(diff.max(initial=0.0)), max_rel_error=float(rel.max(initial=0.0)),
                worst_index=tuple(int(t) for t in np.unravel_index(int(idx[worst]), v._value.shape)) if len(idx)
                else (), analytic=float(a[worst]) if len(idx) else 0.0, numeric=float(n[worst]) if len(idx) else 0.0,
                ok=not bool(np.any(bad)), connected=g is not None)
            report.results.append(res)
    if verbose:
        print(report)
    if raise_on_failure and not report.ok:
        names = ", ".join(r.name for r in report.failures)
        err = GradientCheckError(f"gradient check failed for {names}:\n{report}")
        err.report = report
        raise err
    return report
