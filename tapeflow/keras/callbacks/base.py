"""Callback, CallbackList and History: the hooks fit/evaluate/predict call."""
from __future__ import annotations

import numpy as np

_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
          "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
          "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end")


class Callback:
    """Base class: override any ``on_*`` hook; ``self.model`` and ``self.params`` are set by fit.

    >>> import tapeflow as tf
    >>> class Count(tf.keras.callbacks.Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         self.last = epoch
    """

    _chief_only = False  # True: only the chief (rank 0 of a multi-worker run) calls its hooks

    def __init__(self):
        self.model = None
        self.params = {}
        self.validation_data = None

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): self.on_batch_begin(batch, logs)
    def on_train_batch_end(self, batch, logs=None): self.on_batch_end(batch, logs)
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass
    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass


def is_chief(model) -> bool:
    """Whether this process prints and writes files: False only on the ranks other than 0 of a
    ``MultiWorkerMirroredStrategy`` run, the one place that decides it.

    >>> import tapeflow as tf
    >>> is_chief(tf.keras.Sequential())
    True
    """
    return bool(getattr(getattr(model, "distribute_strategy", None), "is_chief", True))


def _overrides(cb, hook: str) -> bool:
    own = getattr(cb, "__dict__", {})
    if hook in own or (hook in ("on_train_batch_begin", "on_train_batch_end")
                       and hook.replace("train_", "") in own):
        return True  # a hook set on the instance (LambdaCallback)
    mine = getattr(type(cb), hook, None)
    base = getattr(Callback, hook)
    if mine is not base:
        return True
    if hook in ("on_train_batch_begin", "on_train_batch_end"):
        legacy = hook.replace("train_", "")
        return getattr(type(cb), legacy) is not getattr(Callback, legacy)
    return False


class CallbackList:
    """Calls every callback's hooks; batch hooks are skipped unless some callback overrides them."""

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        self.callbacks = list(callbacks or [])
        from .progbar import ProgbarLogger
        if add_history and not any(isinstance(c, History) for c in self.callbacks):
            self.callbacks.append(History())
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.insert(0, ProgbarLogger())
        self.model = model
        self.params = params
        for c in self.callbacks:
            if model is not None:
                c.set_model(model)
            c.set_params(params)
        self._set_active(model)

    def _set_active(self, model):
        # on a non-chief worker the chief-only callbacks (progress bar, files) stay silent; ``wants`` still
        # answers as on the chief, so every worker takes the same per-batch path
        chief = is_chief(model)
        wanted = {h: [c for c in self.callbacks if _overrides(c, h)] for h in _HOOKS}
        self._wanted = {h: bool(cs) for h, cs in wanted.items()}
        self._active = {h: [getattr(c, h) for c in cs if chief or not getattr(c, "_chief_only", False)]
                        for h, cs in wanted.items()}

    def set_model(self, model):
        self.model = model
        for c in self.callbacks:
            c.set_model(model)
        self._set_active(model)

    def wants(self, hook: str) -> bool:
        return self._wanted[hook]

    def _call(self, hook, *args):
        for f in self._active[hook]:
            f(*args)

    def __getattr__(self, hook):
        if hook.startswith("on_"):
            fns = self.__dict__["_active"].get(hook)
            if fns is None:
                raise AttributeError(hook)

            def call(*args):
                for f in fns:
                    f(*args)
            return call
        raise AttributeError(hook)

    def __iter__(self):
        return iter(self.callbacks)


class History(Callback):
    """Records each epoch's logs in ``history`` (a dict of lists), returned by ``fit``."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {} if not getattr(self, "_keep", False) else self.history

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(_to_float(v))
        if self.model is not None:
            self.model.history = self


def _to_float(v):
    try:
        arr = np.asarray(getattr(v, "_value", v))
        return float(arr) if arr.size == 1 else arr
    except (TypeError, ValueError):
        return v
