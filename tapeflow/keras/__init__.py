"""``tf.keras``: models, layers, activations, initializers, regularizers, constraints, and (loaded
on first use) losses, metrics, optimizers, callbacks, datasets, utils, mixed_precision, saving.

>>> import tapeflow as tf
>>> model = tf.keras.Sequential([tf.keras.layers.Dense(2, input_shape=(3,))])
>>> model(tf.ones((1, 3))).shape.as_list()
[1, 2]
"""
from __future__ import annotations

import importlib as _importlib

from . import activations, backend, constraints, initializers, layers, models, regularizers  # noqa: F401
from .layers import Input, InputSpec, Layer  # noqa: F401
from .models import Model, Sequential  # noqa: F401

_LAZY = ("losses", "metrics", "optimizers", "callbacks", "datasets", "utils", "mixed_precision", "saving",
         "preprocessing", "applications", "ops", "random", "config")


def __getattr__(name):
    if name in _LAZY:
        mod = _importlib.import_module(f".{name}", __name__)
        globals()[name] = mod
        return mod
    raise AttributeError(f"module 'tapeflow.keras' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["layers", "models", "activations", "initializers", "regularizers", "constraints", "backend",
           "Sequential", "Model", "Input", "InputSpec", "Layer", *_LAZY]
