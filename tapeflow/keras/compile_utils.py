"""What ``compile(loss=..., metrics=...)`` builds: one loss container, one metrics container.

Both map user specs (strings, objects, lists, dicts) onto the model's outputs. Strings such as
``"accuracy"`` are resolved on the first batch from the shapes of y_true / y_pred and the loss,
as Keras does.
"""
from __future__ import annotations

import numpy as np

from ..autodiff.tensor import Tensor
from ..ops import math_ops as M
from .utils import tree


def _losses():
    from . import losses
    return losses


def _metrics():
    from . import metrics
    return metrics


def _per_output(spec, names, what):
    """Expand a compile spec to one entry per output (None where an output has none)."""
    n = len(names)
    if isinstance(spec, dict):
        unknown = set(spec) - set(names)
        if unknown:
            raise ValueError(f"compile: {what} has keys {sorted(unknown)} that are not output names {names}")
        return [spec.get(k) for k in names]
    if isinstance(spec, (list, tuple)) and n > 1:
        if what == "metrics" and not any(isinstance(s, (list, tuple, dict)) for s in spec):
            return [list(spec) for _ in names]
        if len(spec) != n:
            raise ValueError(f"compile: {what} has {len(spec)} entries but the model has {n} outputs {names}")
        return list(spec)
    return [spec] * n if what == "metrics" else ([spec] + [spec] * (n - 1))


class CompileLoss:
    """Sum of per-output losses (times ``loss_weights``) plus, when given, regularization losses."""

    def __init__(self, loss, loss_weights=None, output_names=None):
        self.spec = loss
        self.output_names = list(output_names or ["output"])
        L = _losses()
        per = _per_output(loss, self.output_names, "loss")
        self.fns = [None if s is None else L.as_loss(s) for s in per]
        if all(f is None for f in self.fns):
            raise ValueError("compile: loss is None for every output")
        if loss_weights is None:
            self.weights = [1.0] * len(self.fns)
        elif isinstance(loss_weights, dict):
            self.weights = [float(loss_weights.get(k, 1.0)) for k in self.output_names]
        else:
            self.weights = [float(w) for w in np.atleast_1d(loss_weights)]
            if len(self.weights) != len(self.fns):
                raise ValueError(f"compile: loss_weights has {len(self.weights)} entries for {len(self.fns)} outputs")
        self.last_per_output = None
        self._tracker = None  # the model's loss tracker, set by compile()

    def __call__(self, y_true, y_pred, sample_weight=None, regularization_losses=None):
        """tf.keras 2's ``model.compiled_loss(y, y_pred, sample_weight, regularization_losses=...)``: the
        total loss, also recorded in the model's ``loss`` tracker (as tf.keras 2's container does)."""
        total = self.compute(y_true, y_pred, sample_weight, regularization_losses)
        if self._tracker is not None:
            first = tree.first(y_pred)
            shape = getattr(first, "shape", None)
            self._tracker.update_state(total, sample_weight=int(shape[0]) if shape else 1)
        return total

    def compute(self, y_true, y_pred, sample_weight=None, regularization_losses=None):
        """The total loss: weighted per-output losses plus ``regularization_losses`` (nothing recorded)."""
        ys = _as_list(y_true, self.output_names)
        ps = _as_list(y_pred, self.output_names)
        if len(ys) != len(ps):
            raise ValueError(f"loss: the model has {len(ps)} outputs but y has {len(ys)} entries")
        sws = _as_list(sample_weight, self.output_names) if sample_weight is not None else [None] * len(ps)
        if len(sws) == 1 and len(ps) > 1:
            sws = sws * len(ps)
        total = None
        per = []
        for fn, w, yt, yp, sw in zip(self.fns, self.weights, ys, ps, sws):
            if fn is None:
                continue
            v = fn(yt, yp, sample_weight=sw)
            per.append(v)
            v = v if w == 1.0 else M.multiply(v, w)
            total = v if total is None else M.add(total, v)
        self.last_per_output = per if len(self.fns) > 1 else None
        if regularization_losses:
            for r in regularization_losses:
                total = M.add(total, r)
        return total


def _as_list(v, names):
    if isinstance(v, dict):
        return [v[k] for k in names if k in v]
    if isinstance(v, (list, tuple)) and len(names) > 1:
        return list(v)
    return [v]


class CompileMetrics:
    """The compiled metrics, resolved on the first batch; ``update_state`` then ``result``."""

    name = "compile_metrics"

    def __init__(self, metrics, weighted_metrics=None, output_names=None, loss=None):
        self.output_names = list(output_names or ["output"])
        self.spec = metrics
        self.weighted_spec = weighted_metrics
        self.loss = loss
        self.metrics = []
        self._plan = None  # list of (output index, metric, weighted)

    @property
    def built(self):
        return self._plan is not None

    def build(self, y_true, y_pred):
        Mx = _metrics()
        names = self.output_names
        ys, ps = _as_list(y_true, names), _as_list(y_pred, names)
        losses = _per_output(self.loss, names, "loss") if self.loss is not None else [None] * len(names)
        plan = []
        for weighted, spec in ((False, self.spec), (True, self.weighted_spec)):
            if spec is None:
                continue
            for i, s in enumerate(_per_output(spec, names, "metrics")):
                for item in ([] if s is None else (s if isinstance(s, (list, tuple)) else [s])):
                    m = self._resolve(Mx, item, ys[i], ps[i], losses[i] if i < len(losses) else None)
                    m.__dict__.setdefault("_user_name", m.name)  # what compile_config saves (as Keras: "auc")
                    if len(names) > 1:
                        m.name = f"{names[i]}_{m.name}"
                    if weighted:
                        m.name = f"weighted_{m.name}" if not m.name.startswith("weighted_") else m.name
                    plan.append((i, m, weighted))
        seen = set()
        for _, m, _ in plan:
            if m.name in seen:
                raise ValueError(f"compile: two metrics are named {m.name!r}; give one a different name")
            seen.add(m.name)
        self._plan = plan
        self.metrics = [m for _, m, _ in plan]

    @staticmethod
    def _resolve(Mx, item, y, p, loss):
        if isinstance(item, str) and item in ("accuracy", "acc"):
            m = Mx.resolve_accuracy(np.shape(y), np.shape(p), loss)
            m.name = item
            return m
        if isinstance(item, str) and item in ("crossentropy", "ce"):
            m = Mx.resolve_crossentropy(np.shape(y), np.shape(p), loss)
            m.name = item
            return m
        return Mx.get(item)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self._plan is None:
            self.build(y_true, y_pred)
        if not self._plan:
            return
        ys, ps = _as_list(y_true, self.output_names), _as_list(y_pred, self.output_names)
        for i, m, weighted in self._plan:
            m.update_state(ys[i], ps[i], sample_weight=sample_weight if weighted else None)

    def reset_state(self):
        for m in self.metrics:
            m.reset_state()

    def result(self) -> dict:
        return {m.name: m.result() for m in self.metrics}


def to_numpy_logs(logs: dict) -> dict:
    out = {}
    for k, v in logs.items():
        if isinstance(v, Tensor):
            v = v._value
        if isinstance(v, dict):
            out.update(to_numpy_logs(v))
            continue
        arr = np.asarray(v)
        out[k] = float(arr) if arr.size == 1 else arr
    return out


def flat_names(y) -> list:
    return [f"output_{i}" for i in range(len(tree.flatten(y)))]
