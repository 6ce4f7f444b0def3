"""The ``Metric`` base class and the reduction metrics ``Mean``, ``Sum``, ``MeanMetricWrapper``.

Metrics are stateful and never differentiated: their state lives in non-trainable Variables
whose buffers are updated in place with NumPy, and ``update_state`` does a few vectorized NumPy
passes over the batch (no per-sample Python loops), so it is cheap to call every step.
Accumulators are float64 (exact counts far beyond float32's 2**24); ``result()`` returns a
scalar Tensor of the metric's ``dtype`` (float32 by default), so ``f"{m.result():.4f}"`` works.
"""
from __future__ import annotations

import re

import numpy as np

from ... import backend as B
from ...autodiff.tensor import Tensor, Variable
from ..losses.loss import squeeze_or_expand_to_same_rank


def _snake(name: str) -> str:
    """Keras's to_snake_case: ``AUC`` -> ``auc``, ``MeanSquaredError`` -> ``mean_squared_error``."""
    name = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def to_numpy(x, dtype=None) -> np.ndarray:
    """A NumPy view of a Tensor / array-like (no copy for Tensors)."""
    v = x._value if isinstance(x, Tensor) else np.asarray(x)
    return v if dtype is None or v.dtype == dtype else v.astype(dtype)


def detach(x):
    """A Tensor sharing ``x``'s buffer that no GradientTape watches (keeps ``_keras_logits``)."""
    if not isinstance(x, Tensor):
        return x
    out = Tensor._wrap(x._value)
    out._keras_mask = x._keras_mask
    logits = getattr(x, "_keras_logits", None)
    if logits is not None:
        out._keras_logits = Tensor._wrap(logits._value)
    return out


def samplewise(values: np.ndarray, sample_weight, reduce_fn, who: str):
    """Keras's reduce_to_samplewise_values in NumPy: (per-sample values, per-sample weights)."""
    values = np.asarray(values, dtype=np.float64)
    weights = None
    if sample_weight is not None:
        weights = to_numpy(sample_weight, np.float64)
        values, weights = squeeze_or_expand_to_same_rank(values, weights)
        if values.ndim > weights.ndim:
            values = reduce_fn(values, axis=tuple(range(weights.ndim, values.ndim)))
        try:
            weights = np.broadcast_to(weights, values.shape)
        except ValueError:
            raise ValueError(f"{who}: sample_weight of shape {weights.shape} cannot be broadcast to the "
                             f"per-sample values of shape {values.shape}") from None
        values = values * weights
        if weights.ndim > 1:
            weights = reduce_fn(weights, axis=tuple(range(1, weights.ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, weights


def divide_no_nan(a, b):
    """a / b with 0 where b == 0 (NumPy, elementwise)."""
    if getattr(a, "ndim", 0) == 0 and getattr(b, "ndim", 0) == 0:  # the per-step case: plain floats are ten times cheaper
        b = float(b)
        return np.float64(float(a) / b if b else 0.0)
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    safe = np.where(b == 0, 1.0, b)
    return np.where(b == 0, 0.0, a / safe)


class Metric:
    """Base class of stateful metrics: ``update_state``, ``result``, ``reset_state``.

    Subclasses create their state with ``add_variable`` in ``__init__``.

    >>> import numpy as np
    >>> from tapeflow.keras.metrics import Metric
    >>> class Count(Metric):
    ...     def __init__(self, name="count", dtype=None):
    ...         super().__init__(name=name, dtype=dtype)
    ...         self.n = self.add_variable((), name="n")
    ...     def update_state(self, values, sample_weight=None):
    ...         self.n.assign_add(np.size(values))
    ...     def result(self):
    ...         return self._scalar(self.n.numpy())
    >>> m = Count()
    >>> m.update_state([1, 2, 3]); f"{m.result():.1f}"
    '3.0'
    """

    _direction = None  # "up" if larger is better, "down" if smaller is better

    def __init__(self, name=None, dtype=None):
        self.name = name or _snake(type(self).__name__)
        self._dtype = B.as_dtype(dtype).name
        self._variables: list[Variable] = []
        self._initial: list[np.ndarray] = []

    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def variables(self) -> list:
        return list(self._variables)

    @property
    def trainable_variables(self) -> list:
        return []

    non_trainable_variables = variables
    weights = variables

    def add_variable(self, shape, initializer="zeros", dtype=None, name=None) -> Variable:
        """A non-trainable state Variable (float64 unless ``dtype`` says otherwise)."""
        shape = tuple(int(s) for s in (shape if isinstance(shape, (tuple, list)) else (shape,)))
        dt = np.float64 if dtype is None else B.as_dtype(dtype)
        if isinstance(initializer, str):
            if initializer not in ("zeros", "ones"):
                raise ValueError(f"{self.name}: add_variable supports 'zeros' or 'ones', got {initializer!r}")
            init = np.zeros(shape, dt) if initializer == "zeros" else np.ones(shape, dt)
        else:
            init = np.broadcast_to(np.asarray(initializer, dtype=dt), shape).copy()
        v = Variable(init, trainable=False, name=name or f"variable_{len(self._variables)}", dtype=dt)
        v.path = f"{self.name}/{v.name}"
        self._variables.append(v)
        self._initial.append(init.copy())
        return v

    add_weight = add_variable

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state")

    def result(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement result")

    def reset_state(self) -> None:
        """Return every state variable to its initial value."""
        for v, init in zip(self._variables, self._initial):
            np.copyto(v._value, init)

    def reset_states(self) -> None:
        """tf.keras 2 spelling of ``reset_state``."""
        self.reset_state()

    def __call__(self, *args, **kwargs) -> Tensor:
        """Update the state with this batch and return the running result."""
        self.update_state(*args, **kwargs)
        return self.result()

    def _scalar(self, value) -> Tensor:
        return Tensor._wrap(np.asarray(value, dtype=self._dtype))

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


class Sum(Metric):
    """Running (weighted) sum of the values.

    >>> from tapeflow.keras import metrics
    >>> m = metrics.Sum()
    >>> m.update_state([1, 3, 5, 7]); float(m.result())
    16.0
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")

    def update_state(self, values, sample_weight=None) -> None:
        v, _ = samplewise(to_numpy(values), sample_weight, np.sum, self.name)
        self.total._value[...] += v.sum()

    def result(self) -> Tensor:
        return self._scalar(self.total._value)


class Mean(Metric):
    """Running (weighted) mean: total / count; multi-dimensional values are averaged per sample.

    >>> from tapeflow.keras import metrics
    >>> m = metrics.Mean()
    >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0]); float(m.result())
    2.0
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")
        self.count = self.add_variable((), name="count")

    def update_state(self, values, sample_weight=None) -> None:
        if isinstance(sample_weight, (int, float)) and getattr(values, "ndim", 1) == 0:
            # fit's loss tracker: a scalar loss weighted by the batch size, once per step
            self.total._value[...] += float(values) * sample_weight
            self.count._value[...] += sample_weight
            return
        v, w = samplewise(to_numpy(values), sample_weight, np.mean, self.name)
        self.total._value[...] += v.sum()
        self.count._value[...] += w.sum() if w is not None else (v.shape[0] if v.ndim else 1)

    def result(self) -> Tensor:
        return self._scalar(divide_no_nan(self.total._value, self.count._value))


class MeanMetricWrapper(Mean):
    """Average of ``fn(y_true, y_pred, **kwargs)`` (per-sample values) over all samples seen.

    ``fn`` may be a NumPy function or a tapeflow loss function; it receives inputs that no
    GradientTape watches, so calling a metric inside a tape records nothing.

    >>> from tapeflow.keras import metrics, losses
    >>> m = metrics.MeanMetricWrapper(losses.mean_absolute_error, name="mae")
    >>> m.update_state([[0.0, 2.0]], [[1.0, 1.0]]); float(m.result())
    1.0
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric_wrapper"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        mask = getattr(y_pred, "_keras_mask", None)
        values = self._fn(detach(y_true), detach(y_pred), **self._fn_kwargs)
        values = to_numpy(values)
        if mask is not None:
            m = to_numpy(mask, np.float64)
            values, m = squeeze_or_expand_to_same_rank(values, m)
            if sample_weight is not None:
                w = to_numpy(sample_weight, np.float64)
                m, w = squeeze_or_expand_to_same_rank(m, w)
                m = m * w
            sample_weight = m
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self) -> dict:
        config = super().get_config()
        if type(self) is MeanMetricWrapper:
            config["fn"] = getattr(self._fn, "__name__", str(self._fn))
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        if cls is MeanMetricWrapper:
            from . import _function_by_name  # known names only, never an import path
            config["fn"] = _function_by_name(config.pop("fn"))
        return cls(**config)
