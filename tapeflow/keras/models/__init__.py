"""``keras.models``: Model, Sequential, the functional API and architecture (de)serialization."""
from __future__ import annotations

from .functional import Functional
from .keras_tensor import KerasTensor, is_keras_tensor
from .model import Model, model_from_json
from .sequential import Sequential


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with the same architecture and freshly initialized weights (from its config)."""
    from ..layers import deserialize, serialize
    if clone_function is not None or input_tensors is not None:
        raise NotImplementedError("clone_model: clone_function and input_tensors are not supported yet")
    return deserialize(serialize(model))


def model_from_config(config, custom_objects=None):
    """Rebuild a model from ``{"class_name": ..., "config": ...}``."""
    from ..layers import deserialize
    return deserialize(config, custom_objects=custom_objects)


def __getattr__(name):
    if name in ("load_model", "save_model"):
        import importlib
        saving = importlib.import_module("..saving", __name__)
        return getattr(saving, name)
    raise AttributeError(f"module 'tapeflow.keras.models' has no attribute {name!r}")


__all__ = ["Model", "Sequential", "Functional", "KerasTensor", "is_keras_tensor", "clone_model",
           "model_from_json", "model_from_config"]
