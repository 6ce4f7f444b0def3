"""``keras.RematScope``: gradient checkpointing (rematerialization) for Keras layers.

A layer created inside ``RematScope(mode)`` keeps that mode. When it is called under a ``GradientTape``
(``fit`` included), its ``call`` runs through ``tf.recompute_grad``: the forward pass stores only the layer's
inputs and output, and the backward pass runs the call again to get the rest. Gradients are those of the
plain call; memory falls, time grows by one forward pass of the layers concerned (``keras.remat(f)`` is
``tf.recompute_grad``). The modes, as Keras's:

* ``"full"``: every layer made in the scope;
* ``"activations"``: only the ``activation`` of layers that have one (``Dense(..., activation="relu")``);
* ``"larger_than"``: layers whose output has more than ``output_size_threshold`` elements (batch included);
* ``"list_of_layers"``: layers whose name is in ``layer_names``;
* ``None``: none (an inner scope can switch an outer one off).

tapeflow checkpoints a layer call whose positional arguments are tensors and whose output is one tensor;
a layer returning several (an RNN with ``return_state``) runs plainly, with a warning the first time.
Models holding such layers train eagerly (``fit`` does not replay them as a traced program).

>>> import numpy as np
>>> import tapeflow as tf
>>> with tf.keras.RematScope(mode="full"):
...     dense = tf.keras.layers.Dense(3, activation="tanh")
>>> x = tf.constant(np.ones((2, 4), "float32"))
>>> with tf.GradientTape() as tape:
...     y = tf.reduce_sum(dense(x))
>>> [g.shape.as_list() for g in tape.gradient(y, dense.trainable_variables)]
[[4, 3], [3]]
"""
from __future__ import annotations

import math
import warnings
from collections import namedtuple

from ..autodiff.recompute import _restore_state, _snapshot_state, recompute_grad
from ..autodiff.tensor import Tensor

RematMode = namedtuple("RematMode", ["mode", "output_size_threshold", "layer_names"])
SCOPES: list = []  # the open RematScopes, innermost last
_MODES = ("full", "activations", "larger_than", "list_of_layers", None)


class RematScope:
    """Rematerialize the layers created inside this context (see the module docstring for the modes)."""

    def __init__(self, mode="full", output_size_threshold=1024, layer_names=None):
        if mode not in _MODES:
            raise ValueError(f"RematScope: mode={mode!r} is not one of {list(_MODES)}")
        if mode == "larger_than" and (not isinstance(output_size_threshold, int) or output_size_threshold < 0):
            raise ValueError(f"RematScope: output_size_threshold must be an int >= 0, got {output_size_threshold!r}")
        self.mode = mode
        self.output_size_threshold = output_size_threshold
        self.layer_names = list(layer_names or [])

    def __enter__(self):
        SCOPES.append(self)
        return self

    def __exit__(self, *exc):
        SCOPES.remove(self)


def get_current_remat_mode():
    """The innermost open scope's ``RematMode``, or None outside any scope."""
    if not SCOPES:
        return None
    s = SCOPES[-1]
    return RematMode(s.mode, s.output_size_threshold, s.layer_names)


def _output_size(layer, inputs) -> int:
    try:
        shape = layer.compute_output_shape(tuple(inputs._value.shape))
    except Exception:  # noqa: BLE001 (a layer without a static output shape is not checkpointed by size)
        return 0
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return sum(math.prod(d or 1 for d in s) for s in shape)
    return math.prod(d or 1 for d in shape)


def _checkpointed(layer, fn, inputs, rest, kwargs):
    """``fn(inputs, *rest, **kwargs)`` through recompute_grad, where tapeflow can checkpoint it."""
    if layer.__dict__.get("_remat_unsupported") or not all(isinstance(a, Tensor) for a in rest):
        return fn(inputs, *rest, **kwargs)
    state = _snapshot_state()
    try:
        return recompute_grad(lambda *ts: fn(*ts, **kwargs))(inputs, *rest)
    except TypeError as e:
        if "must return a single Tensor" not in str(e):
            raise
    layer.__dict__["_remat_unsupported"] = True
    warnings.warn(f"RematScope: layer '{layer.name}' returns several tensors; tapeflow rematerializes layers "
                  "with one output only, so this one runs without it", stacklevel=4)
    _restore_state(state)  # the discarded run drew random numbers: draw the same ones again
    return fn(inputs, *rest, **kwargs)


def remat_call(layer, inputs, rest, kwargs):
    """Run ``layer.call`` as its remat mode (``layer._remat_mode``) asks; ``Layer.__call__`` calls this."""
    mode = layer._remat_mode
    if mode.mode == "full" or (mode.mode == "list_of_layers" and layer.name in mode.layer_names) or \
            (mode.mode == "larger_than" and _output_size(layer, inputs) > mode.output_size_threshold):
        return _checkpointed(layer, layer.call, inputs, rest, kwargs)
    activation = layer.__dict__.get("activation") if mode.mode == "activations" else None
    if activation is None:
        return layer.call(inputs, *rest, **kwargs)
    object.__setattr__(layer, "activation", recompute_grad(activation))
    try:
        return layer.call(inputs, *rest, **kwargs)
    finally:
        object.__setattr__(layer, "activation", activation)


__all__ = ["RematScope", "RematMode", "get_current_remat_mode"]
