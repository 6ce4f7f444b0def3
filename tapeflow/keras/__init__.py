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

__version__ = "3.15.1"  # the Keras API (names, arguments, defaults, weight layouts) tapeflow.keras follows

_LAZY = ("losses", "metrics", "optimizers", "callbacks", "datasets", "utils", "mixed_precision", "saving",
         "preprocessing", "applications", "ops", "random", "config", "tree", "dtype_policies", "distillation",
         "wrappers", "quantizers")

# Keras 3's top-level names for classes and helpers that live in submodules: name -> (module, attribute)
_ALIASES = {"Loss": (".losses", "Loss"), "Metric": (".metrics", "Metric"), "Optimizer": (".optimizers", "Optimizer"),
            "Initializer": (".initializers", "Initializer"), "Regularizer": (".regularizers", "Regularizer"),
            "KerasTensor": (".models.keras_tensor", "KerasTensor"), "Variable": (".variables", "Variable"),
            "DTypePolicy": (".dtype_policies", "DTypePolicy"),
            "FloatDTypePolicy": (".dtype_policies", "FloatDTypePolicy"),
            "name_scope": ("tapeflow.framework", "name_scope"), "device": ("tapeflow.framework", "device"),
            "Quantizer": (".quantizers", "Quantizer"),
            "remat": ("tapeflow", "recompute_grad"), "RematScope": (".remat_scope", "RematScope")}


def version() -> str:
    """The Keras version whose API this package follows."""
    return __version__


def __getattr__(name):
    if name in _LAZY:
        mod = _importlib.import_module(f".{name}", __name__)
        globals()[name] = mod
        return mod
    if name in _ALIASES:
        module, attr = _ALIASES[name]
        value = getattr(_importlib.import_module(module, __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tapeflow.keras' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_ALIASES))


__all__ = ["layers", "models", "activations", "initializers", "regularizers", "constraints", "backend",
           "Sequential", "Model", "Input", "InputSpec", "Layer", "version", *_LAZY, *_ALIASES]
