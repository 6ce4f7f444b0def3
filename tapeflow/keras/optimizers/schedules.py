"""Learning-rate schedules, as ``keras.optimizers.schedules``.

A schedule maps the optimizer step (an int, a NumPy scalar, or an integer Tensor/Variable such as
``optimizer.iterations``) to a learning rate. Values are computed in the dtype of
``initial_learning_rate``: a Python float gives float32, as in Keras; a ``np.float64`` gives float64.
The result is a scalar ``tf.Tensor``.

>>> from tapeflow.keras.optimizers import schedules
>>> lr = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
>>> round(float(lr(10)), 6)
0.05
"""
from __future__ import annotations

import math

import numpy as np

from ...autodiff.tensor import Tensor
from .. import _serialization

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
           "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts", "serialize", "deserialize"]


def _dtype_of(value) -> np.dtype:
    """Keras's rule: Python numbers become float32; NumPy scalars and tensors keep their float dtype."""
    if isinstance(value, Tensor):
        value = value._value
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind == "f":
        return value.dtype
    return np.dtype(np.float32)


def _scalar(value, dtype) -> np.generic:
    """``value`` (number, array or Tensor) as a NumPy scalar of ``dtype``."""
    if isinstance(value, Tensor):
        value = value._value
    return np.asarray(value).astype(dtype).reshape(())[()]


def _plain(value):
    """A JSON-friendly Python number for get_config (Tensors and NumPy scalars become floats/ints)."""
    if isinstance(value, Tensor):
        value = value._value
    if isinstance(value, (np.ndarray, np.generic)):
        return value.item()
    return value


def _out(value, dtype) -> Tensor:
    return Tensor._wrap(np.asarray(value, dtype=dtype))


def _check_positive(name: str, value) -> None:
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``.

    >>> import tapeflow as tf
    >>> from tapeflow.keras.optimizers import schedules
    >>> class Halving(schedules.LearningRateSchedule):
    ...     def __call__(self, step):
    ...         return 0.1 / (int(step) + 1)
    ...     def get_config(self):
    ...         return {}
    >>> opt = tf.keras.optimizers.SGD(learning_rate=Halving())
    >>> round(float(opt.learning_rate), 6)
    0.1
    """

    def __call__(self, step):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`.")

    def get_config(self) -> dict:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` to be serializable.")

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


class _RateDecay(LearningRateSchedule):
    """Shared by ExponentialDecay and InverseTimeDecay: the arguments, the (floored) progress
    ``step / decay_steps`` and the config; subclasses give the formula."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name or type(self).__name__
        _check_positive("decay_steps", decay_steps)

    def _progress(self, step):
        dt = _dtype_of(self.initial_learning_rate)
        p = _scalar(step, dt) / _scalar(self.decay_steps, dt)
        return dt, (np.floor(p) if self.staircase else p)

    def get_config(self) -> dict:
        return {"initial_learning_rate": _plain(self.initial_learning_rate), "decay_steps": self.decay_steps,
                "decay_rate": _plain(self.decay_rate), "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``; ``staircase`` floors the exponent.

    >>> from tapeflow.keras.optimizers import schedules
    >>> lr = schedules.ExponentialDecay(0.1, 3, 0.5, staircase=True)
    >>> [round(float(lr(s)), 4) for s in (0, 2, 3, 7)]
    [0.1, 0.1, 0.05, 0.025]
    """

    def __call__(self, step) -> Tensor:
        dt, p = self._progress(step)
        return _out(_scalar(self.initial_learning_rate, dt) * _scalar(self.decay_rate, dt) ** p, dt)


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` for ``boundaries[i-1] < step <= boundaries[i]``,
    ``values[-1]`` after the last boundary.

    >>> from tapeflow.keras.optimizers import schedules
    >>> lr = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    >>> [float(lr(s)) for s in (10, 11, 21)]
    [1.0, 0.5, 0.10000000149011612]
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and values={values} "
                f"of length {len(values)}.")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step) -> Tensor:
        first = self.values[0]
        if isinstance(first, (bool, int, np.integer)):
            dt = np.dtype(np.int32) if isinstance(first, (bool, int)) else np.asarray(first).dtype
        else:
            dt = _dtype_of(first)
        s = step._value if isinstance(step, Tensor) else np.asarray(step)
        s = s.reshape(())[()]
        for b, v in zip(self.boundaries, self.values):
            if s <= _plain(b):
                return _out(_plain(v), dt)
        return _out(_plain(self.values[-1]), dt)

    def get_config(self) -> dict:
        return {"boundaries": [_plain(b) for b in self.boundaries], "values": [_plain(v) for v in self.values],
                "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """Decay from ``initial_learning_rate`` to ``end_learning_rate`` over ``decay_steps`` as
    ``(1 - step/decay_steps) ** power``; with ``cycle`` the horizon grows to the next multiple of ``decay_steps``.

    >>> from tapeflow.keras.optimizers import schedules
    >>> lr = schedules.PolynomialDecay(0.1, 10, end_learning_rate=0.0)
    >>> round(float(lr(5)), 6), round(float(lr(50)), 6)
    (0.05, 0.0)
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name
        _check_positive("decay_steps", decay_steps)

    def __call__(self, step) -> Tensor:
        dt = _dtype_of(self.initial_learning_rate)
        init = _scalar(self.initial_learning_rate, dt)
        end = _scalar(self.end_learning_rate, dt)
        s = _scalar(step, dt)
        steps = _scalar(self.decay_steps, dt)
        if self.cycle:
            mult = dt.type(1.0) if s == 0 else np.ceil(s / steps)
            steps = steps * mult
        else:
            s = min(s, steps)
        p = s / steps
        return _out((init - end) * (dt.type(1.0) - p) ** _scalar(self.power, dt) + end, dt)

    def get_config(self) -> dict:
        return {"initial_learning_rate": _plain(self.initial_learning_rate), "decay_steps": self.decay_steps,
                "end_learning_rate": _plain(self.end_learning_rate), "power": _plain(self.power),
                "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(_RateDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (``staircase`` floors the ratio).

    >>> from tapeflow.keras.optimizers import schedules
    >>> lr = schedules.InverseTimeDecay(0.1, decay_steps=1.0, decay_rate=0.5)
    >>> round(float(lr(2)), 6)
    0.05
    """

    def __call__(self, step) -> Tensor:
        dt, p = self._progress(step)
        return _out(_scalar(self.initial_learning_rate, dt) / (dt.type(1.0) + _scalar(self.decay_rate, dt) * p), dt)


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the start rate to ``alpha`` times it over ``decay_steps``, after an optional linear
    warmup from ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``.

    >>> from tapeflow.keras.optimizers import schedules
    >>> lr = schedules.CosineDecay(0.0, 10, warmup_target=1.0, warmup_steps=10)
    >>> [round(float(lr(s)), 4) for s in (5, 10, 15, 20)]
    [0.5, 1.0, 0.5, 0.0]
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target
        _check_positive("decay_steps", decay_steps)

    def _decay(self, step, decay_steps, start, dt):
        cosine = dt.type(0.5) * (dt.type(1.0) + np.cos(dt.type(math.pi) * (step / decay_steps)))
        alpha = _scalar(self.alpha, dt)
        return start * ((dt.type(1.0) - alpha) * cosine + alpha)

    def __call__(self, step) -> Tensor:
        dt = _dtype_of(self.initial_learning_rate)
        init = _scalar(self.initial_learning_rate, dt)
        decay_steps = _scalar(self.decay_steps, dt)
        s = _scalar(step, dt)
        if self.warmup_target is None:
            return _out(self._decay(min(s, decay_steps), decay_steps, init, dt), dt)
        target = _scalar(self.warmup_target, dt)
        warmup = _scalar(self.warmup_steps, dt)
        s = min(s, decay_steps + warmup)
        if s < warmup:
            return _out((target - init) * (s / warmup) + init, dt)
        return _out(self._decay(s - warmup, decay_steps, target, dt), dt)

    def get_config(self) -> dict:
        return {"initial_learning_rate": _plain(self.initial_learning_rate), "decay_steps": self.decay_steps,
                "alpha": _plain(self.alpha), "name": self.name, "warmup_target": _plain(self.warmup_target),
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): period ``i`` lasts ``first_decay_steps * t_mul**i`` steps and
    starts at ``m_mul**i`` times the initial rate; the floor is ``alpha`` times the initial rate.

    >>> from tapeflow.keras.optimizers import schedules
    >>> lr = schedules.CosineDecayRestarts(1.0, 10, t_mul=1.0)
    >>> [round(float(lr(s)), 4) for s in (0, 5, 10)]
    [1.0, 0.5, 1.0]
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name
        _check_positive("first_decay_steps", first_decay_steps)

    def __call__(self, step) -> Tensor:
        dt = _dtype_of(self.initial_learning_rate)
        one = dt.type(1.0)
        t_mul = _scalar(self._t_mul, dt)
        m_mul = _scalar(self._m_mul, dt)
        alpha = _scalar(self.alpha, dt)
        frac = _scalar(step, dt) / _scalar(self.first_decay_steps, dt)
        if t_mul == one:
            i_restart = np.floor(frac)
            frac = frac - i_restart
        else:
            i_restart = np.floor(np.log(one - frac * (one - t_mul)) / np.log(t_mul))
            sum_r = (one - t_mul ** i_restart) / (one - t_mul)
            frac = (frac - sum_r) / t_mul ** i_restart
        cosine = dt.type(0.5) * m_mul ** i_restart * (one + np.cos(dt.type(math.pi) * frac))
        return _out(_scalar(self.initial_learning_rate, dt) * ((one - alpha) * cosine + alpha), dt)

    def get_config(self) -> dict:
        return {"initial_learning_rate": _plain(self.initial_learning_rate),
                "first_decay_steps": self.first_decay_steps, "t_mul": _plain(self._t_mul),
                "m_mul": _plain(self._m_mul), "alpha": _plain(self.alpha), "name": self.name}


_SCHEDULES = {cls.__name__: cls for cls in (LearningRateSchedule, ExponentialDecay, PiecewiseConstantDecay,
                                             PolynomialDecay, InverseTimeDecay, CosineDecay, CosineDecayRestarts)}


def serialize(learning_rate_schedule) -> dict:
    """A JSON-friendly ``{"module", "class_name", "config", "registered_name"}`` dict for a schedule.

    >>> from tapeflow.keras.optimizers import schedules
    >>> schedules.serialize(schedules.InverseTimeDecay(0.1, 1, 0.5))["class_name"]
    'InverseTimeDecay'
    """
    return _serialization.serialize_keras_object(learning_rate_schedule, module="keras.optimizers.schedules")


def deserialize(config, custom_objects=None) -> LearningRateSchedule:
    """Rebuild a schedule from ``serialize``'s dict (or a legacy ``{"class_name", "config"}`` dict).

    >>> from tapeflow.keras.optimizers import schedules
    >>> s = schedules.deserialize({"class_name": "PolynomialDecay",
    ...                            "config": {"initial_learning_rate": 0.1, "decay_steps": 10}})
    >>> type(s).__name__
    'PolynomialDecay'
    """
    return _serialization.deserialize_keras_object(config, module_objects=_SCHEDULES,
                                                   custom_objects=custom_objects, kind="learning rate schedule")


# Schedules beyond Keras (cyclical, OneCycle, step decay, linear warmup) live in schedules_extra.py.
from .schedules_extra import CyclicalLearningRate, LinearWarmup, OneCycle, StepDecay  # noqa: E402

__all__ += ["CyclicalLearningRate", "OneCycle", "StepDecay", "LinearWarmup"]
_SCHEDULES.update({cls.__name__: cls for cls in (CyclicalLearningRate, OneCycle, StepDecay, LinearWarmup)})
