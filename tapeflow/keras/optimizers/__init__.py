"""Keras 3 optimizers: ``tf.keras.optimizers``.

>>> import tapeflow as tf
>>> type(tf.keras.optimizers.get("adam")).__name__
'Adam'
"""
from __future__ import annotations

import difflib

from .. import _serialization
from . import schedules
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .base import Optimizer
from .ftrl import Ftrl
from .lamb import Lamb
from .lion import Lion
from .nadam import Nadam
from .rmsprop import RMSprop
from .sgd import SGD
from .adabelief import AdaBelief
from .lars import LARS
from .lbfgs import LBFGS
from .radam import RAdam
from .kfac import KFAC
from .adafactor import Adafactor
from .muon import Muon
from .loss_scale import LossScaleOptimizer
from .schedule_free import ScheduleFreeAdamW
from .multi_optimizer import MultiOptimizer, OptimizerMap

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Nadam", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Lion",
           "Lamb", "Ftrl", "RAdam", "AdaBelief", "LARS", "LBFGS", "KFAC", "Adafactor", "Muon",
           "LossScaleOptimizer", "ScheduleFreeAdamW", "MultiOptimizer", "OptimizerMap", "schedules", "get",
           "serialize", "deserialize"]

ALL_OBJECTS = (Optimizer, SGD, Adam, AdamW, Nadam, RMSprop, Adagrad, Adadelta, Adamax, Lion, Lamb, Ftrl,
               RAdam, AdaBelief, LARS, LBFGS, Adafactor, Muon, LossScaleOptimizer,
               ScheduleFreeAdamW, MultiOptimizer, OptimizerMap)  # KFAC wraps a model: built directly, not by name
ALL_OBJECTS_DICT = {cls.__name__.lower(): cls for cls in ALL_OBJECTS}


def serialize(optimizer) -> dict:
    """``{"module", "class_name", "config", "registered_name"}`` for an optimizer.

    >>> import tapeflow as tf
    >>> tf.keras.optimizers.serialize(tf.keras.optimizers.SGD())["class_name"]
    'SGD'
    """
    return _serialization.serialize_keras_object(optimizer, module="keras.optimizers")


def deserialize(config, custom_objects=None) -> Optimizer:
    """Rebuild an optimizer from ``serialize``'s dict; built-in class names match case-insensitively.

    >>> import tapeflow as tf
    >>> opt = tf.keras.optimizers.deserialize({"class_name": "Adam", "config": {"learning_rate": 0.01}})
    >>> round(float(opt.learning_rate), 6)
    0.01
    """
    if isinstance(config, dict) and str(config.get("class_name", "")).lower() in ALL_OBJECTS_DICT \
            and not (custom_objects and config["class_name"] in custom_objects):
        config = dict(config, class_name=config["class_name"].lower())
    return _serialization.deserialize_keras_object(config, module_objects=ALL_OBJECTS_DICT,
                                                   custom_objects=custom_objects, kind="optimizer")


def get(identifier):
    """An optimizer from a name (``"adam"``, ``"SGD"``...), a config dict, or an instance (returned as is).

    Unknown names raise ``ValueError`` listing the closest known names.

    >>> import tapeflow as tf
    >>> type(tf.keras.optimizers.get("rmsprop")).__name__
    'RMSprop'
    """
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        name = identifier.lower()
        if name not in ALL_OBJECTS_DICT or name == "optimizer":
            known = [k for k in ALL_OBJECTS_DICT if k != "optimizer"]
            close = difflib.get_close_matches(name, known, n=3)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise ValueError(f"Unknown optimizer: {identifier!r}.{hint} Known optimizers: {', '.join(known)}.")
        return ALL_OBJECTS_DICT[name]()
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
        if isinstance(obj, Optimizer):
            return obj
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r} "
                     "(expected a name such as 'adam', a config dict, or an Optimizer instance)")
