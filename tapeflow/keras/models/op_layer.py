"""Operations in a functional graph: ``x + y``, ``x[:, 0]``, ``keras.ops.mean(x, axis=1)`` on KerasTensors.

Keras 3 records such a call as an ``Operation`` (``Add``, ``GetItem``, ``Mean``): the arguments of the class's
``__init__`` (``axis``, ``keepdims``) go into its config, those of its ``call`` (the tensors) into the inbound
node. ``OpLayer`` splits them the same way, by Keras's own table (``keras_op_table.py``), and saves itself under
Keras's module and class name, so model files holding operations load in either library. An operation missing
from that table (one of tapeflow's own) is saved as an ``OpLayer`` config. Operations are nodes of the graph
(``model.operations``) but not layers: ``model.layers`` leaves them out, as Keras does.

>>> import tapeflow as tf
>>> x = tf.keras.Input((3,))
>>> y = tf.keras.ops.mean(x * 2, axis=-1, keepdims=True)
>>> m = tf.keras.Model(x, y)
>>> [type(o).__name__ for o in m.operations], [o.class_name for o in m.operations[1:]]
(['InputLayer', 'OpLayer', 'OpLayer'], ['Multiply', 'Mean'])
>>> m(tf.ones((2, 3))).numpy().tolist()
[[2.0], [2.0]]
"""
from __future__ import annotations

import functools
import inspect

import numpy as np

from ...autodiff.tensor import convert_to_tensor
from ..layers.base import Layer
from .keras_op_table import OPS as KERAS_OPS
from .keras_op_table import STANDARDIZED_DTYPE
from .keras_tensor import flatten

_OLD_NAMES = {"divide": "true_divide", "pow": "power", "abs": "absolute", "getitem": "get_item"}
_BY_CLASS = {(entry[0], entry[1]): name for name, entry in KERAS_OPS.items()}


def _get_item(x, key):
    if isinstance(key, list):
        key = tuple(key)  # as Keras's GetItem: its files hold x[a:b, c] as the list [slice, c]
    return x[key]


def _function(op: str):
    """The function an op name stands for: ``"mean"``, ``"image.resize"`` (keras.ops paths) or ``"get_item"``."""
    if op == "get_item":
        return _get_item
    from .. import ops
    fn = ops
    for part in op.split("."):
        fn = getattr(fn, part, None)
    return fn if callable(fn) else None


@functools.lru_cache(maxsize=None)
def _leading_params(fn) -> tuple:
    """Names of ``fn``'s parameters before its ``*args``."""
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            break
        out.append(p.name)
    return tuple(out)


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.dtype):
        return v.name
    if isinstance(v, (list, tuple)):
        return type(v)(_plain(e) for e in v)
    return v


class OpLayer(Layer):
    """One ``keras.ops`` function (or tensor operator) applied in a functional graph.

    ``op`` is the function's ``keras.ops`` name (``"add"``, ``"get_item"``, ``"image.resize"``); ``op_kwargs`` are
    the arguments fixed at graph-building time (Keras's ``__init__`` arguments of the operation class); the
    node holds the rest. ``keras_layout=False`` (files tapeflow wrote before it followed Keras's layout) passes
    the node's arguments to the function as they were given.
    """

    _is_operation = True

    def __init__(self, op, op_kwargs=None, keras_layout=False, **kwargs):
        op = op[4:] if op.startswith("ops.") else op
        if not keras_layout:  # a config tapeflow wrote before it followed Keras (keras.ops.divide is Keras's Divide)
            op = _OLD_NAMES.get(op, op)
        self._fn = _function(op)
        if self._fn is None:
            raise ValueError(f"OpLayer: unknown op {op!r}; expected a keras.ops function name such as 'add', "
                             "'mean' or 'image.resize'")
        kwargs.setdefault("name", op.rsplit(".", 1)[-1])
        super().__init__(**kwargs)
        self.op = op
        self.op_kwargs = dict(op_kwargs or {})
        if getattr(self._fn, "_symbolic_aware", False):  # real tensors here: skip keras.ops' KerasTensor check
            self._fn = self._fn.__wrapped__
        entry = KERAS_OPS.get(op) if keras_layout else None
        self._call_params = entry[3] if entry else None
        self._call_sig = (False, False, False)  # call(**kwargs) takes no training= or mask=

    @property
    def class_name(self) -> str:
        """Keras's class for this operation (``"Add"``, ``"Mean"``); ``"OpLayer"`` for one Keras lacks."""
        entry = KERAS_OPS.get(self.op)
        return entry[1] if entry and self._call_params is not None else "OpLayer"

    def _convert_input(self, x):
        if isinstance(x, (bool, int, float, complex, list, tuple)):
            return x  # 2 - x: a Python number stays weakly typed (float32 result, not int64 -> float64)
        return super()._convert_input(x)

    def call(self, *args, **kwargs):
        args = [convert_to_tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        if self._call_params is None:
            return self._fn(*args, **self.op_kwargs, **kwargs)
        named, rest = dict(self.op_kwargs), None
        named.update(kwargs)
        for i, p in enumerate(self._call_params):
            if p.startswith("**"):
                continue
            if p.startswith("*"):
                rest = list(args[i:])
                break
            if i < len(args):
                named[p] = args[i]
        if rest is None:
            return self._fn(**named)
        fixed = [named.pop(p) for p in _leading_params(self._fn)]  # before the variadic one (einsum's subscripts)
        return self._fn(*fixed, *rest, **named)

    def get_config(self):
        if self._call_params is not None:
            return {"name": self.name, **self.op_kwargs}
        config = super().get_config()
        config["op"] = self.op
        if self.op_kwargs:
            config["op_kwargs"] = self.op_kwargs
        return config

    def keras_serialized(self) -> dict | None:
        """Keras 3's config entry for this operation, or None when it has no Keras class."""
        if self._call_params is None:
            return None
        module, cls = KERAS_OPS[self.op][:2]
        return {"module": f"keras.src.ops.{module}", "class_name": cls, "config": self.get_config(),
                "registered_name": cls}

    @classmethod
    def from_keras_config(cls, data: dict):
        """An OpLayer from a config entry that Keras wrote for one of its operation classes."""
        module = data["module"].rsplit(".", 1)[-1]
        op = _BY_CLASS.get((module, data["class_name"]))
        if op is None:
            raise ValueError(f"Keras operation {data['module']}.{data['class_name']} is not known to tapeflow "
                             f"(known: the keras.ops functions); rebuild that part of the model with layers")
        config = dict(data.get("config") or {})
        name = config.pop("name", None) or data.get("name")
        return cls(op, op_kwargs=config, keras_layout=True, name=name)


def _split(op: str, fn, args: tuple, kwargs: dict):
    """``(call args, call kwargs, init args)`` of a call as Keras's operation class divides them; None when
    the op has no Keras class or the call cannot be divided that way (the call then keeps its own form)."""
    entry = KERAS_OPS.get(op)
    if entry is None:
        return None
    _, _, init_params, call_params, by_keyword = entry
    try:
        signature = inspect.signature(getattr(fn, "__wrapped__", fn))
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return None
    if any(p.lstrip("*") not in signature.parameters for p in init_params + call_params if p[:2] != "**"):
        return None                      # Keras's class names a parameter differently (extract_patches_3d)
    if set(bound.arguments) - set(init_params) - {p.lstrip("*") for p in call_params}:
        return None                      # a tapeflow-only parameter, given: Keras's class could not hold it
    bound.apply_defaults()
    values = bound.arguments
    init = {p: _plain(values[p]) for p in init_params if p in values}
    if init.get("dtype", 0) is None and op in STANDARDIZED_DTYPE:
        from ..backend import floatx
        init["dtype"] = floatx()
    if flatten(init):
        return None                      # a KerasTensor where Keras expects a constant
    call, call_kwargs = [], {}
    for p in call_params:
        if p.startswith("**"):
            if values.get(p[2:]):
                return None
        elif p.startswith("*"):
            call.extend(values.get(p[1:], ()))
        elif p in by_keyword:
            call_kwargs[p] = values.get(p)
        elif p in values:
            call.append(values[p])
    return call, call_kwargs, init


def keras_op_call(name: str, args: tuple, kwargs: dict):
    """``keras.ops.<name>(*args, **kwargs)`` with KerasTensors among ``args``: a graph node."""
    from ..backend import unique_object_name
    fn = _function(name)
    split = _split(name, fn, args, kwargs)
    if split is not None:
        call, call_kwargs, init = split
        return OpLayer(name, op_kwargs=init, keras_layout=True,
                       name=unique_object_name(name.rsplit(".", 1)[-1]))(*call, **call_kwargs)
    bad = [k for k, v in kwargs.items() if flatten(v)]
    if bad:
        raise TypeError(f"keras.ops.{name}: pass KerasTensors positionally, not as keyword argument(s) {bad}")
    plain = {k: _plain(v) for k, v in kwargs.items()}
    return OpLayer(name, op_kwargs=plain, name=unique_object_name(name.rsplit(".", 1)[-1]))(*args)


def op_call(op: str, *args):
    """A tensor operator on KerasTensors (``x + 1``: ``op_call("add", x, 1)``)."""
    return keras_op_call(op, args, {})


def is_operation(layer) -> bool:
    return getattr(layer, "_is_operation", False)


__all__ = ["OpLayer", "keras_op_call", "op_call", "is_operation"]
