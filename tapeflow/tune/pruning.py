"""Pruning through an epoch callback, and the ready-made "build, fit, score" objective.

``PruningCallback(trial, monitor)`` reports the epoch's ``monitor`` value to Optuna after every
epoch. When the pruner says the trial is hopeless it sets ``model.stop_training`` so that fit ends
after this epoch, lets ``on_train_end`` run (files closed, logs flushed), and then raises
``optuna.TrialPruned`` from its own ``on_train_end``, which Optuna records as a pruned trial.
"""
from __future__ import annotations

import math
import numbers

from ..keras.callbacks.base import Callback
from ._optuna import require_optuna


def monitor_direction(monitor: str, mode: str = "auto") -> str:
    """``"minimize"`` or ``"maximize"`` for ``monitor``: ``auto`` minimizes losses and errors, maximizes the rest.

    >>> monitor_direction("val_loss"), monitor_direction("val_accuracy")
    ('minimize', 'maximize')
    """
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        mode = "min" if ("loss" in monitor or "error" in monitor) else "max"
    return "minimize" if mode == "min" else "maximize"


class PruningCallback(Callback):
    """Report ``logs[monitor]`` to ``trial`` after every epoch; stop fit and prune when Optuna says so.

    Put it last in ``callbacks``: it raises ``optuna.TrialPruned`` in ``on_train_end``, after the
    callbacks before it have finished. ``pruned_epoch`` is the (0-based) epoch it pruned at, or None.
    The last epoch is reported but never pruned: the training it would save is already done.

    >>> import optuna, numpy as np, tapeflow as tf
    >>> study = optuna.create_study(direction="maximize")
    >>> trial = study.ask()
    >>> model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(2, activation="softmax")])
    >>> model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> h = model.fit(np.zeros((8, 2)), np.zeros(8), epochs=2, verbose=0,
    ...               callbacks=[PruningCallback(trial, monitor="accuracy")])
    >>> sorted(trial.storage.get_trial(trial._trial_id).intermediate_values)
    [0, 1]
    """

    def __init__(self, trial, monitor: str = "val_accuracy"):
        super().__init__()
        require_optuna("tapeflow.tune.PruningCallback")
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"PruningCallback: monitor must be a metric name such as 'val_accuracy', got {monitor!r}")
        for attr in ("report", "should_prune"):
            if not callable(getattr(trial, attr, None)):
                raise TypeError(f"PruningCallback: trial must be an optuna.Trial (with report/should_prune), "
                                f"got {type(trial).__name__}")
        self.trial = trial
        self.monitor = monitor
        self.pruned_epoch = None
        self._last = None
        self._seen = False

    def on_train_begin(self, logs=None):
        self.pruned_epoch, self._last = None, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            # validation_freq > 1 leaves val_* out of some epochs: nothing to report then
            if self._seen and self.monitor.startswith("val_"):
                return
            hint = (" (a val_ metric needs validation_data or validation_split in fit)"
                    if self.monitor.startswith("val_") else "")
            raise ValueError(f"PruningCallback: monitor {self.monitor!r} is not in the epoch logs; available: "
                             f"{sorted(logs)}{hint}. Pass one of those names as monitor=")
        self._seen = True
        value = logs[self.monitor]
        value = float(value.numpy() if hasattr(value, "numpy") else value)
        self._last = value
        self.trial.report(value, step=int(epoch))
        last = (self.params or {}).get("epochs")
        if last is not None and epoch + 1 >= int(last):
            return  # training is over anyway: pruning now would save nothing and lose a finished trial
        if self.trial.should_prune():
            self.pruned_epoch = int(epoch)
            if self.model is not None:
                self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.pruned_epoch is not None:
            optuna = require_optuna("tapeflow.tune.PruningCallback")
            raise optuna.TrialPruned(f"trial {self.trial.number} pruned after epoch {self.pruned_epoch + 1}: "
                                     f"{self.monitor}={self._last:.6g}")


class FitObjective:
    """The objective ``(trial, config) -> score``: ``build_fn(config)`` -> compiled model, fit, best ``monitor``.

    Training data comes either as arrays ``x, y`` or from ``data_fn()``, a picklable function (a
    module-level function or ``functools.partial`` of one) returning ``(x, y)`` or
    ``(x, y, validation_data)``; with parallel trials each worker process calls it once, so large
    data is loaded there instead of being copied over. ``epochs`` and ``batch_size`` in the config
    override the arguments. Each epoch's ``monitor`` goes to a ``PruningCallback``; the score is the
    best epoch value (the lowest for losses and errors, the highest otherwise, or as ``mode`` says).

    >>> import numpy as np, tapeflow as tf
    >>> def build(config):
    ...     m = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(2, activation="softmax")])
    ...     m.compile(tf.keras.optimizers.Adam(config["learning_rate"]), "sparse_categorical_crossentropy",
    ...               metrics=["accuracy"])
    ...     return m
    >>> x, y = np.random.default_rng(0).normal(size=(64, 4)).astype("float32"), np.arange(64) % 2
    >>> objective = FitObjective(build, x, y, validation_split=0.25, epochs=2, batch_size=16)
    >>> objective.direction
    'maximize'
    """

    def __init__(self, build_fn, x=None, y=None, *, data_fn=None, validation_data=None,
                 validation_split: float = 0.0, epochs: int = 1, batch_size: int | None = 32,
                 monitor: str = "val_accuracy", mode: str = "auto", callbacks=(), verbose: int = 0):
        if not callable(build_fn):
            raise TypeError(f"FitObjective: build_fn must be a function config -> compiled model, "
                            f"got {type(build_fn).__name__}")
        if (x is None) == (data_fn is None):
            raise ValueError("FitObjective: give the training data either as x (and y) or as data_fn, not "
                             + ("both" if x is not None else "neither"))
        if data_fn is not None and not callable(data_fn):
            raise TypeError(f"FitObjective: data_fn must be callable, got {type(data_fn).__name__}")
        if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
            raise ValueError(f"FitObjective: epochs must be an integer >= 1, got {epochs!r}")
        if not (isinstance(validation_split, numbers.Real) and 0 <= validation_split < 1):
            raise ValueError(f"FitObjective: validation_split must be in [0, 1), got {validation_split!r}")
        self.build_fn, self.data_fn = build_fn, data_fn
        self.x, self.y, self.validation_data = x, y, validation_data
        self.validation_split = float(validation_split)
        self.epochs, self.batch_size = int(epochs), batch_size
        self.monitor, self.mode = monitor, mode
        self.direction = monitor_direction(monitor, mode)
        self.callbacks, self.verbose = list(callbacks), int(verbose)
        self._loaded = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_loaded"] = None  # each worker process loads its own copy through data_fn
        return state

    def data(self):
        """``(x, y, validation_data)``, loaded through ``data_fn`` on the first call in this process."""
        if self.data_fn is None:
            return self.x, self.y, self.validation_data
        if self._loaded is None:
            got = self.data_fn()
            if not isinstance(got, tuple) or len(got) not in (2, 3):
                raise ValueError(f"FitObjective: data_fn must return (x, y) or (x, y, validation_data), "
                                 f"got {type(got).__name__}" + (f" of length {len(got)}" if isinstance(got, tuple)
                                                               else ""))
            self._loaded = got if len(got) == 3 else (got[0], got[1], self.validation_data)
        return self._loaded

    def __call__(self, trial, config: dict) -> float:
        x, y, val = self.data()
        model = self.build_fn(config)
        if not getattr(model, "_is_compiled", False):
            raise ValueError(f"FitObjective: build_fn returned {type(model).__name__} "
                             f"{getattr(model, 'name', '')!r}, which is not a compiled model; call "
                             f"model.compile(...) in build_fn before returning it")
        pruning = PruningCallback(trial, self.monitor)
        history = model.fit(x, y, epochs=int(config.get("epochs", self.epochs)),
                            batch_size=config.get("batch_size", self.batch_size),
                            validation_data=val, validation_split=0.0 if val is not None else self.validation_split,
                            verbose=self.verbose, callbacks=self.callbacks + [pruning])
        values = [float(v) for v in history.history.get(self.monitor, [])]
        finite = [v for v in values if math.isfinite(v)]
        if not finite:
            return float("nan")  # Optuna records the trial as failed
        return min(finite) if self.direction == "minimize" else max(finite)
