"""Learning-rate schedules beyond Keras: cyclical rates, OneCycle, step decay and a linear warmup wrapper.

Re-exported from ``tapeflow.keras.optimizers.schedules``. Like Keras's schedules, each maps the
optimizer step to a scalar Tensor (float32 unless the start rate is a float64 NumPy scalar), is
serializable (``get_config`` / ``from_config`` / ``schedules.serialize`` / ``schedules.deserialize``),
and works as ``learning_rate=``. Each also accepts ``schedule(epoch, lr)``, so it can be handed to a
``LearningRateScheduler`` callback (there the "step" is the epoch index).

>>> from tapeflow.keras.optimizers import schedules
>>> lr = schedules.StepDecay(0.1, step_size=10, gamma=0.5)
>>> [round(float(lr(s)), 4) for s in (0, 9, 10, 25)]
[0.1, 0.1, 0.05, 0.025]
"""
from __future__ import annotations

import math

import numpy as np

from .schedules import LearningRateSchedule, _check_positive, _dtype_of, _out, _plain, _scalar

__all__ = ["CyclicalLearningRate", "OneCycle", "StepDecay", "LinearWarmup"]


def _step_value(step) -> float:
    return float(_scalar(step, np.float64))


def _set_optimizer_momentum(optimizer, value: float) -> bool:
    """Set ``beta_1`` (Adam family) or ``momentum`` (when the optimizer uses momentum); False if neither."""
    if hasattr(optimizer, "beta_1"):
        optimizer.beta_1 = float(value)
        return True
    if getattr(optimizer, "momentum", 0) and not isinstance(optimizer.momentum, bool):
        optimizer.momentum = float(value)
        return True
    return False


class CyclicalLearningRate(LearningRateSchedule):
    """Cyclical learning rate (Smith 2017), as ``torch.optim.lr_scheduler.CyclicLR``.

    A cycle rises linearly from ``initial_learning_rate`` to ``maximal_learning_rate`` over ``step_size``
    steps and falls back over ``step_size_down`` (default ``step_size``). The amplitude is scaled per
    cycle by ``mode``: ``"triangular"`` (1), ``"triangular2"`` (halved every cycle) or ``"exp_range"``
    (``gamma ** step``). With ``cycle_momentum=True`` the optimizer's momentum (or ``beta_1``) moves
    opposite to the rate, between ``max_momentum`` (at the base rate) and ``base_momentum``; off by
    default here (torch's default is on).

    >>> from tapeflow.keras.optimizers import schedules
    >>> lr = schedules.CyclicalLearningRate(0.1, 1.0, step_size=2, mode="triangular2")
    >>> [round(float(lr(s)), 4) for s in range(7)]
    [0.1, 0.55, 1.0, 0.55, 0.1, 0.325, 0.55]
    """

    def __init__(self, initial_learning_rate, maximal_learning_rate, step_size=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, cycle_momentum=False, base_momentum=0.8, max_momentum=0.9,
                 name="CyclicalLearningRate"):
        if mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(f"CyclicalLearningRate: `mode` must be 'triangular', 'triangular2' or 'exp_range'. "
                             f"Received: mode={mode!r}")
        _check_positive("step_size", step_size)
        if step_size_down is not None:
            _check_positive("step_size_down", step_size_down)
        self.initial_learning_rate = initial_learning_rate
        self.maximal_learning_rate = maximal_learning_rate
        self.step_size = step_size
        self.step_size_down = step_size_down
        self.mode = mode
        self.gamma = gamma
        self.cycle_momentum = cycle_momentum
        self.base_momentum = base_momentum
        self.max_momentum = max_momentum
        self.name = name

    def _phase(self, step: float) -> tuple:
        up = float(self.step_size)
        total = up + float(self.step_size_down if self.step_size_down is not None else self.step_size)
        ratio = up / total
        cycle = math.floor(1 + step / total)
        x = 1.0 + step / total - cycle
        factor = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        if self.mode == "triangular":
            scale = 1.0
        elif self.mode == "triangular2":
            scale = 1.0 / 2.0 ** (cycle - 1)
        else:
            scale = float(self.gamma) ** step
        return factor, scale

    def __call__(self, step, lr=None):
        dt = _dtype_of(self.initial_learning_rate)
        factor, scale = self._phase(_step_value(step))
        base = _scalar(self.initial_learning_rate, dt)
        top = _scalar(self.maximal_learning_rate, dt)
        return _out(base + (top - base) * dt.type(factor * scale), dt)

    def momentum(self, step) -> float:
        factor, scale = self._phase(_step_value(step))
        return self.max_momentum - (self.max_momentum - self.base_momentum) * factor * scale

    def on_optimizer_step(self, optimizer, step) -> None:
        if self.cycle_momentum:
            _set_optimizer_momentum(optimizer, self.momentum(step))

    def get_config(self) -> dict:
        return {"initial_learning_rate": _plain(self.initial_learning_rate),
                "maximal_learning_rate": _plain(self.maximal_learning_rate), "step_size": self.step_size,
                "step_size_down": self.step_size_down, "mode": self.mode, "gamma": _plain(self.gamma),
                "cycle_momentum": self.cycle_momentum, "base_momentum": self.base_momentum,
                "max_momentum": self.max_momentum, "name": self.name}


class OneCycle(LearningRateSchedule):
    """The 1cycle policy (Smith & Topin 2018), as ``torch.optim.lr_scheduler.OneCycleLR``.

    The rate warms from ``max_learning_rate / div_factor`` to ``max_learning_rate`` over the first
    ``pct_start * total_steps - 1`` steps, then anneals to ``initial / final_div_factor`` at step
    ``total_steps - 1`` (``three_phase=True``: back to the initial rate first, then down to the minimum),
    with cosine or linear annealing. With ``cycle_momentum=True`` (default) and an optimizer that has a
    momentum (``beta_1`` for the Adam family, ``momentum`` for SGD/RMSprop when nonzero), the momentum
    moves inversely between ``max_momentum`` and ``base_momentum``. Steps past ``total_steps - 1`` keep
    the final rate (torch raises).

    >>> from tapeflow.keras.optimizers import schedules
    >>> lr = schedules.OneCycle(1.0, total_steps=11, pct_start=0.5, anneal_strategy="linear", div_factor=10.0)
    >>> [round(float(lr(s)), 4) for s in (0, 2, 4.5)]
    [0.1, 0.5, 1.0]
    """

    def __init__(self, max_learning_rate, total_steps, pct_start=0.3, anneal_strategy="cos", cycle_momentum=True,
                 base_momentum=0.85, max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 name="OneCycle"):
        if not (isinstance(total_steps, (int, np.integer)) and total_steps > 0):
            raise ValueError(f"OneCycle: `total_steps` must be a positive integer. Received: {total_steps!r}")
        if not 0.0 <= pct_start <= 1.0:
            raise ValueError(f"OneCycle: `pct_start` must be in [0, 1]. Received: pct_start={pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycle: `anneal_strategy` must be 'cos' or 'linear'. Received: {anneal_strategy!r}")
        self.max_learning_rate = max_learning_rate
        self.total_steps = int(total_steps)
        self.pct_start = pct_start
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = cycle_momentum
        self.base_momentum = base_momentum
        self.max_momentum = max_momentum
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.three_phase = three_phase
        self.name = name

    def _phases(self) -> list:
        """``(end_step, start_lr, end_lr, start_momentum, end_momentum)`` per phase (rates as multiples)."""
        peak = 1.0
        init = 1.0 / self.div_factor
        low = init / self.final_div_factor
        hi_m, lo_m = self.max_momentum, self.base_momentum
        p, n = float(self.pct_start), self.total_steps
        if self.three_phase:
            return [(p * n - 1, init, peak, hi_m, lo_m), (2 * p * n - 2, peak, init, lo_m, hi_m),
                    (n - 1, init, low, hi_m, hi_m)]
        return [(p * n - 1, init, peak, hi_m, lo_m), (n - 1, peak, low, lo_m, hi_m)]

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _at(self, step: float) -> tuple:
        step = min(step, self.total_steps - 1)
        phases, begin = self._phases(), 0.0
        for k, (end, lr0, lr1, m0, m1) in enumerate(phases):
            if step <= end or k == len(phases) - 1:
                pct = (step - begin) / (end - begin) if end != begin else 1.0
                return self._anneal(lr0, lr1, pct), self._anneal(m0, m1, pct)
            begin = end
        raise AssertionError("unreachable")  # pragma: no cover

    def __call__(self, step, lr=None):
        dt = _dtype_of(self.max_learning_rate)
        mult, _ = self._at(_step_value(step))
        return _out(_scalar(self.max_learning_rate, dt) * dt.type(mult), dt)

    def momentum(self, step) -> float:
        return self._at(_step_value(step))[1]

    def on_optimizer_step(self, optimizer, step) -> None:
        if self.cycle_momentum:
            _set_optimizer_momentum(optimizer, self.momentum(step))

    def get_config(self) -> dict:
        return {"max_learning_rate": _plain(self.max_learning_rate), "total_steps": self.total_steps,
                "pct_start": self.pct_start, "anneal_strategy": self.anneal_strategy,
                "cycle_momentum": self.cycle_momentum, "base_momentum": self.base_momentum,
                "max_momentum": self.max_momentum, "div_factor": self.div_factor,
                "final_div_factor": self.final_div_factor, "three_phase": self.three_phase, "name": self.name}


class StepDecay(LearningRateSchedule):
    """``initial_learning_rate * gamma ** floor(step / step_size)`` (torch's ``StepLR``), never below
    ``min_learning_rate``.

    >>> from tapeflow.keras.optimizers import schedules
    >>> [round(float(schedules.StepDecay(1.0, 2)(s)), 4) for s in (1, 2, 5)]
    [1.0, 0.1, 0.01]
    """

    def __init__(self, initial_learning_rate, step_size, gamma=0.1, min_learning_rate=0.0, name="StepDecay"):
        _check_positive("step_size", step_size)
        self.initial_learning_rate = initial_learning_rate
        self.step_size = step_size
        self.gamma = gamma
        self.min_learning_rate = min_learning_rate
        self.name = name

    def __call__(self, step, lr=None):
        dt = _dtype_of(self.initial_learning_rate)
        k = math.floor(_step_value(step) / float(self.step_size))
        val = _scalar(self.initial_learning_rate, dt) * _scalar(self.gamma, dt) ** dt.type(k)
        return _out(max(val, _scalar(self.min_learning_rate, dt)), dt)

    def get_config(self) -> dict:
        return {"initial_learning_rate": _plain(self.initial_learning_rate), "step_size": self.step_size,
                "gamma": _plain(self.gamma), "min_learning_rate": _plain(self.min_learning_rate), "name": self.name}


class LinearWarmup(LearningRateSchedule):
    """Linear warmup in front of any schedule (or constant rate), with an optional batch-size scale.

    For ``step < warmup_steps`` the rate rises linearly from ``initial_learning_rate`` to the target
    ``scale * after(warmup_steps)`` (``after(0)`` with ``offset=True``); afterwards it is
    ``scale * after(step)`` (``after(step - warmup_steps)`` with ``offset=True``). ``after`` is a
    schedule or a float. The large-batch recipe of Goyal et al. 2017 ("scale the rate with the batch
    size, warm up over a few epochs") is ``LinearWarmup.for_batch_size(...)``. An inner schedule with an
    ``on_optimizer_step`` hook (momentum cycling) is forwarded to.

    >>> from tapeflow.keras.optimizers import schedules
    >>> lr = schedules.LinearWarmup(schedules.StepDecay(1.0, 10, 0.5), warmup_steps=4)
    >>> [round(float(lr(s)), 4) for s in (0, 2, 4, 10)]
    [0.0, 0.5, 1.0, 0.5]
    """

    def __init__(self, after, warmup_steps, initial_learning_rate=0.0, scale=1.0, offset=False,
                 name="LinearWarmup"):
        if not (isinstance(warmup_steps, (int, np.integer)) and warmup_steps >= 0):
            raise ValueError(f"LinearWarmup: `warmup_steps` must be an integer >= 0. Received: {warmup_steps!r}")
        if isinstance(after, dict):
            from .schedules import deserialize
            after = deserialize(after)
        if not (isinstance(after, LearningRateSchedule) or isinstance(after, (int, float, np.floating))):
            raise ValueError("LinearWarmup: `after` must be a LearningRateSchedule or a float. "
                             f"Received: {after!r}")
        self.after = after
        self.warmup_steps = int(warmup_steps)
        self.initial_learning_rate = initial_learning_rate
        self.scale = scale
        self.offset = offset
        self.name = name

    @classmethod
    def for_batch_size(cls, base_learning_rate, batch_size, base_batch_size=256, warmup_steps=0, after=None,
                       **kwargs):
        """Goyal et al.'s recipe: target rate ``base_learning_rate * batch_size / base_batch_size``, reached
        linearly from ``base_learning_rate`` over ``warmup_steps``. ``after`` (default: constant
        ``base_learning_rate``) is the schedule at the base batch size; it is scaled by the same factor.

        >>> from tapeflow.keras.optimizers import schedules
        >>> lr = schedules.LinearWarmup.for_batch_size(0.1, 8192, 256, warmup_steps=100)
        >>> round(float(lr(0)), 4), round(float(lr(100)), 4)
        (0.1, 3.2)
        """
        return cls(base_learning_rate if after is None else after, warmup_steps,
                   initial_learning_rate=base_learning_rate, scale=batch_size / base_batch_size, **kwargs)

    def _after(self, step: float, dt):
        a = self.after
        if isinstance(a, LearningRateSchedule):
            return _scalar(a(step), dt)
        return _scalar(a, dt)

    def __call__(self, step, lr=None):
        a = self.after
        dt = _dtype_of(a.initial_learning_rate if hasattr(a, "initial_learning_rate") else
                       getattr(a, "max_learning_rate", a) if isinstance(a, LearningRateSchedule) else a)
        s, w = _step_value(step), self.warmup_steps
        scale = _scalar(self.scale, dt)
        if s < w:
            target = scale * self._after(0.0 if self.offset else float(w), dt)
            init = _scalar(self.initial_learning_rate, dt)
            return _out(init + (target - init) * dt.type(s / w), dt)
        return _out(scale * self._after(s - w if self.offset else s, dt), dt)

    def on_optimizer_step(self, optimizer, step) -> None:
        hook = getattr(self.after, "on_optimizer_step", None)
        if hook is not None:
            s = _step_value(step)
            hook(optimizer, max(s - self.warmup_steps, 0.0) if self.offset else s)

    def get_config(self) -> dict:
        from .schedules import serialize
        after = serialize(self.after) if isinstance(self.after, LearningRateSchedule) else _plain(self.after)
        return {"after": after, "warmup_steps": self.warmup_steps,
                "initial_learning_rate": _plain(self.initial_learning_rate), "scale": _plain(self.scale),
                "offset": self.offset, "name": self.name}
