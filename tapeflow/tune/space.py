"""Search spaces: what each hyperparameter may be, mapped onto Optuna's ``trial.suggest_*``.

A space is a dict from a name to a distribution (``Categorical``, ``Uniform``, ``LogUniform``,
``IntRange``) or to a fixed value. ``SearchSpace.sample(trial)`` asks the trial for every
distribution and returns the resolved config, a plain dict that a ``build_fn`` reads.

Names the Keras world knows are checked when the space is made, so a typo fails before any trial
runs: ``activation`` (and ``*_activation``) must name a Keras activation, ``optimizer`` a Keras
optimizer, ``learning_rate`` must be > 0, ``l1``/``l2``/``weight_decay`` >= 0, ``dropout`` in
[0, 1), ``units``/``filters``/``batch_size``/``epochs`` whole numbers >= 1.
"""
from __future__ import annotations

import json
import math
import numbers

_CHOICE_TYPES = (type(None), bool, int, float, str)
# PReLU has weights, so Keras offers it only as a layer; a build_fn can still place one after a Dense.
_LAYER_ONLY_ACTIVATIONS = ("prelu",)


class Distribution:
    """Base class of the search-space distributions: ``suggest(trial, name)`` returns one value."""

    def suggest(self, trial, name: str):
        raise NotImplementedError

    def describe(self) -> dict:
        """A JSON-able description (``{"type": ..., ...}``), stored with the study to spot a changed space."""
        raise NotImplementedError

    def values_to_check(self) -> list:
        """The values that must satisfy a name's rule (the choices, or the two ends of a range)."""
        raise NotImplementedError

    def param_names(self, name: str) -> list:
        """The Optuna parameter names this distribution creates under ``name``."""
        return [name]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.describe().items() if k != "type")
        return f"{type(self).__name__}({args})"

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.describe() == self.describe()

    __hash__ = None


def _number(where: str, what: str, v, integer: bool = False):
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(v, bool) or not isinstance(v, kind) or not math.isfinite(float(v)):
        raise ValueError(f"{where}: {what} must be a finite {'integer' if integer else 'number'}, got {v!r}")
    return int(v) if integer else float(v)


def _ordered(where: str, low, high) -> None:
    if low > high:
        raise ValueError(f"{where}: low must be <= high, got low={low!r} > high={high!r}; swap them")


class Categorical(Distribution):
    """One of ``choices`` (``trial.suggest_categorical``); choices are None, bool, int, float or str.

    >>> Categorical(["relu", "elu", "swish"]).choices
    ('relu', 'elu', 'swish')
    """

    def __init__(self, choices):
        if isinstance(choices, (str, bytes)) or not hasattr(choices, "__iter__"):
            raise TypeError(f"Categorical: choices must be a list, got {type(choices).__name__} {choices!r}")
        self.choices = tuple(choices)
        if not self.choices:
            raise ValueError("Categorical: choices is empty; give at least one value")
        for c in self.choices:
            if not isinstance(c, _CHOICE_TYPES):
                raise TypeError(f"Categorical: choice {c!r} is a {type(c).__name__}; Optuna stores only None, bool, "
                                f"int, float and str choices (use a name and map it to the object in build_fn)")
        if len(set(map(repr, self.choices))) != len(self.choices):
            raise ValueError(f"Categorical: choices {list(self.choices)!r} repeat a value; list each once")

    def suggest(self, trial, name):
        return trial.suggest_categorical(name, self.choices)

    def describe(self):
        return {"type": "categorical", "choices": list(self.choices)}

    def values_to_check(self):
        return list(self.choices)


class Uniform(Distribution):
    """A float in ``[low, high]`` (``trial.suggest_float``), on a grid of ``step`` when given.

    >>> Uniform(0.0, 0.5).high
    0.5
    """

    def __init__(self, low: float, high: float, step: float | None = None):
        self.low, self.high = _number("Uniform", "low", low), _number("Uniform", "high", high)
        _ordered("Uniform", self.low, self.high)
        self.step = None if step is None else _number("Uniform", "step", step)
        if self.step is not None and self.step <= 0:
            raise ValueError(f"Uniform: step must be > 0, got {step!r}")

    def suggest(self, trial, name):
        return trial.suggest_float(name, self.low, self.high, step=self.step)

    def describe(self):
        return {"type": "uniform", "low": self.low, "high": self.high, "step": self.step}

    def values_to_check(self):
        return [self.low, self.high]


class LogUniform(Distribution):
    """A float in ``[low, high]`` drawn uniformly in log space (``suggest_float(..., log=True)``).

    ``include_zero=True`` adds a yes/no parameter ``use_<name>``: when the trial says no, the value is
    0.0 (an L2 penalty switched off), otherwise it is drawn from the log range.

    >>> LogUniform(1e-6, 1e-2, include_zero=True).param_names("l2")
    ['use_l2', 'l2']
    """

    def __init__(self, low: float, high: float, include_zero: bool = False):
        self.low, self.high = _number("LogUniform", "low", low), _number("LogUniform", "high", high)
        if self.low <= 0:
            raise ValueError(f"LogUniform: low must be > 0 (a log range cannot reach 0), got {low!r}; "
                             f"pass include_zero=True to also try 0")
        _ordered("LogUniform", self.low, self.high)
        self.include_zero = bool(include_zero)

    def suggest(self, trial, name):
        if self.include_zero and not trial.suggest_categorical(f"use_{name}", (True, False)):
            return 0.0
        return trial.suggest_float(name, self.low, self.high, log=True)

    def describe(self):
        return {"type": "log_uniform", "low": self.low, "high": self.high, "include_zero": self.include_zero}

    def values_to_check(self):
        return ([0.0] if self.include_zero else []) + [self.low, self.high]

    def param_names(self, name):
        return ([f"use_{name}"] if self.include_zero else []) + [name]


class IntRange(Distribution):
    """An integer in ``[low, high]`` (``trial.suggest_int``), every ``step``, or log-spaced with ``log=True``.

    >>> IntRange(32, 512, log=True).describe()["log"]
    True
    """

    def __init__(self, low: int, high: int, step: int = 1, log: bool = False):
        self.low = _number("IntRange", "low", low, integer=True)
        self.high = _number("IntRange", "high", high, integer=True)
        _ordered("IntRange", self.low, self.high)
        self.step = _number("IntRange", "step", step, integer=True)
        if self.step < 1:
            raise ValueError(f"IntRange: step must be >= 1, got {step!r}")
        self.log = bool(log)
        if self.log and (self.low < 1 or self.step != 1):
            raise ValueError(f"IntRange: log=True needs low >= 1 and step == 1, got low={low!r}, step={step!r}")

    def suggest(self, trial, name):
        return trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log)

    def describe(self):
        return {"type": "int", "low": self.low, "high": self.high, "step": self.step, "log": self.log}

    def values_to_check(self):
        return [self.low, self.high]


# -- the rules for names Keras knows ------------------------------------------------------------
def _known_activation(v) -> str | None:
    from ..keras import activations
    if v is None or v in _LAYER_ONLY_ACTIVATIONS:
        return None
    if not isinstance(v, str):
        return f"must be an activation name (a str), got {type(v).__name__} {v!r}"
    try:
        activations.get(v)
    except ValueError:
        known = ", ".join(sorted(set(activations._NAMES) | set(_LAYER_ONLY_ACTIVATIONS)))
        return f"{v!r} is not a known activation (known: {known})"
    return None


def _known_optimizer(v) -> str | None:
    from ..keras import optimizers
    if not isinstance(v, str):
        return f"must be an optimizer name (a str), got {type(v).__name__} {v!r}"
    try:
        optimizers.get(v)
    except ValueError as e:
        return f"{v!r} is not a known optimizer ({e})"
    return None


def _rule(key: str):
    """``(check(value) -> problem or None)`` for a name Keras knows, else None."""
    def real(test, what):
        def check(v):
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(float(v)):
                return f"must be a finite number, got {v!r}"
            return None if test(float(v)) else f"must be {what}, got {v!r}"
        return check

    def count(v):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            return f"must be a whole number >= 1, got {v!r}"
        return None

    if key == "activation" or key.endswith("_activation"):
        return _known_activation
    if key == "optimizer":
        return _known_optimizer
    if key in ("learning_rate", "lr") or key.endswith("_learning_rate"):
        return real(lambda v: v > 0, "> 0")
    if key in ("l1", "l2", "weight_decay") or key.endswith(("_l1", "_l2", "_weight_decay")):
        return real(lambda v: v >= 0, ">= 0")
    if key == "dropout" or key.endswith("_dropout"):
        return real(lambda v: 0 <= v < 1, "in [0, 1)")
    if key in ("units", "filters", "batch_size", "epochs") or key.endswith(("_units", "_filters")):
        return count
    return None


class SearchSpace:
    """A named set of distributions and fixed values; ``sample(trial)`` gives one config dict.

    >>> space = SearchSpace({"activation": Categorical(["relu", "elu", "swish"]),
    ...                      "learning_rate": LogUniform(1e-4, 1e-1), "epochs": 3})
    >>> sorted(space.names)
    ['activation', 'epochs', 'learning_rate']
    """

    def __init__(self, params: dict):
        if isinstance(params, SearchSpace):
            params = params.params
        if not isinstance(params, dict):
            raise TypeError(f"SearchSpace: expected a dict of name -> distribution or value, "
                            f"got {type(params).__name__}")
        if not params:
            raise ValueError("SearchSpace: the space is empty; give at least one hyperparameter")
        self.params = dict(params)
        taken: dict = {}
        for key, dist in self.params.items():
            if not isinstance(key, str) or not key:
                raise TypeError(f"SearchSpace: names must be non-empty strings, got {key!r}")
            for p in (dist.param_names(key) if isinstance(dist, Distribution) else [key]):
                if p in taken:
                    raise ValueError(f"SearchSpace: {key!r} creates the Optuna parameter {p!r}, which {taken[p]!r} "
                                     f"also uses; rename one of them")
                taken[p] = key
            self._check(key, dist)

    @staticmethod
    def _check(key: str, dist) -> None:
        if not isinstance(dist, Distribution):
            try:
                json.dumps(dist)
            except (TypeError, ValueError):
                raise TypeError(f"SearchSpace: the fixed value of {key!r} is a {type(dist).__name__}; fixed values "
                                f"are stored with the study, so they must be JSON data (numbers, strings, lists, "
                                f"dicts); give objects to the objective instead") from None
        rule = _rule(key)
        if rule is None:
            return
        if not isinstance(dist, Distribution) and isinstance(dist, (list, tuple, set, dict)):
            raise TypeError(f"SearchSpace: {key!r} is a {type(dist).__name__}; wrap the choices in "
                            f"Categorical([...]) (a fixed value is a single value)")
        values = dist.values_to_check() if isinstance(dist, Distribution) else [dist]
        what = "choice" if isinstance(dist, Categorical) else ("value" if not isinstance(dist, Distribution)
                                                              else "bound")
        for v in values:
            problem = rule(v)
            if problem:
                raise ValueError(f"SearchSpace: {key!r} {what} {problem}")

    @property
    def names(self) -> list:
        """The config keys, in the order given."""
        return list(self.params)

    def sample(self, trial) -> dict:
        """Ask ``trial`` for every distribution; return the config (fixed values pass through)."""
        return {k: (d.suggest(trial, k) if isinstance(d, Distribution) else d) for k, d in self.params.items()}

    def config_from_params(self, params: dict) -> dict:
        """The config a trial with Optuna ``params`` (e.g. ``study.best_params``) was given."""
        out = {}
        for k, d in self.params.items():
            if not isinstance(d, Distribution):
                out[k] = d
            elif isinstance(d, LogUniform) and d.include_zero and params.get(f"use_{k}") is False:
                out[k] = 0.0
            elif k in params:
                out[k] = params[k]
            else:
                raise KeyError(f"SearchSpace.config_from_params: no value for {k!r} in {sorted(params)}; "
                               f"were these params made by this space?")
        return out

    def describe(self) -> dict:
        """A JSON-able description of the space."""
        return {k: (d.describe() if isinstance(d, Distribution) else {"type": "fixed", "value": d})
                for k, d in self.params.items()}

    def __contains__(self, key) -> bool:
        return key in self.params

    def __getitem__(self, key):
        return self.params[key]

    def __len__(self) -> int:
        return len(self.params)

    def __repr__(self) -> str:
        return f"SearchSpace({self.params!r})"


def as_space(space) -> SearchSpace:
    """``space`` as a SearchSpace (a dict is wrapped and checked)."""
    return space if isinstance(space, SearchSpace) else SearchSpace(space)
