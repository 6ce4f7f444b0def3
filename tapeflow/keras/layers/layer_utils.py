"""Helpers for ``Layer``: dtype policies, input structures, attribute scans, automatic configs."""
from __future__ import annotations

import inspect
import sys

import numpy as np

from ... import backend as B
from ...autodiff.tensor import Tensor, Variable
from .. import backend as K
from .tracking import TrackedDict, TrackedList


def _resolve_dtype(dtype):
    """(policy name, compute dtype, variable dtype) for a dtype or policy spelling."""
    if dtype is None:
        mp = sys.modules.get("tapeflow.keras.mixed_precision")
        pol = mp.global_policy() if mp is not None and hasattr(mp, "global_policy") else None
        if pol is None or getattr(pol, "name", "float32") == K.floatx():
            f = B.as_dtype(K.floatx())
            return f.name, f, f
        dtype = pol
    if isinstance(dtype, dict):  # a serialized DTypePolicy (a quantized one names a mode and a source policy)
        inner = dtype.get("config", {}) or {}
        dtype = _quantized_policy(dtype) if "mode" in inner else inner.get("name", "float32")
    if isinstance(dtype, str) and "_from_" in dtype:  # "int8_from_float32": a quantized layer's policy
        dtype = _quantized_policy(dtype)
    if hasattr(dtype, "compute_dtype") and hasattr(dtype, "variable_dtype"):
        return getattr(dtype, "name", str(dtype)), B.as_dtype(dtype.compute_dtype), B.as_dtype(dtype.variable_dtype)
    if isinstance(dtype, str) and dtype.startswith("mixed_"):
        return dtype, B.as_dtype(dtype[len("mixed_"):]), B.as_dtype("float32")
    d = B.as_dtype(dtype)
    return d.name, d, d


def _quantized_policy(spec):
    """A ``QuantizedDTypePolicy`` from its name or serialized dict (keras/quantizers/policies.py)."""
    from ..quantizers import policies
    return policies.policy_from_config(spec) if isinstance(spec, dict) else policies.policy_from_name(spec)


def _has_symbolic(x) -> bool:
    t = type(x)
    if t is Tensor or t is np.ndarray or t is Variable:
        return False
    if getattr(t, "_is_keras_tensor", False):
        return True
    if t is list or t is tuple or t is TrackedList:
        for v in x:
            if _has_symbolic(v):
                return True
        return False
    if t is dict or t is TrackedDict:
        for v in x.values():
            if _has_symbolic(v):
                return True
    return False


def _is_number_list(x) -> bool:
    while isinstance(x, (list, tuple)) and x:
        x = x[0]
    return isinstance(x, (int, float, np.number, bool)) and not isinstance(x, Tensor)


def _shape_struct(x):
    if isinstance(x, (list, tuple)):
        return [_shape_struct(v) for v in x]
    if isinstance(x, dict):
        return {k: _shape_struct(v) for k, v in x.items()}
    s = getattr(x, "shape", None)
    return None if s is None else tuple(s)


def _collect_layers(v, out, seen, depth=0):
    if getattr(type(v), '_is_layer', False):
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    elif depth < 8 and isinstance(v, (list, tuple)):
        for e in v:
            _collect_layers(e, out, seen, depth + 1)
    elif depth < 8 and isinstance(v, dict):
        for e in v.values():
            _collect_layers(e, out, seen, depth + 1)


def _to_shape_struct(s):
    if isinstance(s, (list, tuple)) and all(d is None or isinstance(d, (int, np.integer)) for d in s):
        return tuple(None if d is None else int(d) for d in s)
    if isinstance(s, (list, tuple)):
        return [_to_shape_struct(v) for v in s]
    if isinstance(s, dict):
        return {k: _to_shape_struct(v) for k, v in s.items()}
    return s


def _json_like(v) -> bool:
    if v is None or isinstance(v, (bool, int, float, str)):
        return True
    if isinstance(v, (list, tuple)):
        return all(_json_like(e) for e in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _json_like(e) for k, e in v.items())
    return False




def auto_config(layer) -> dict:
    """Constructor arguments recorded at creation, when they are plain JSON values (Keras 3's
    automatic ``get_config`` for simple custom layers)."""
    args, kwargs = layer._auto_config
    try:
        bound = inspect.signature(type(layer).__init__).bind(layer, *args, **kwargs)
    except TypeError:
        bound = None
    extra = {}
    if bound is not None:
        for k, v in list(bound.arguments.items())[1:]:
            param = bound.signature.parameters[k]
            if param.kind == param.VAR_KEYWORD:
                extra.update(v)
            elif param.kind != param.VAR_POSITIONAL:
                extra[k] = v
    if bound is None or not all(_json_like(v) for v in extra.values()):
        raise NotImplementedError(
            f"Layer {type(layer).__name__} has constructor arguments that are not plain values; "
            "implement get_config() (and from_config() if needed) to serialize it.")
    extra.pop("name", None)
    return extra


def add_metric_value(layer, value, name, aggregation) -> None:
    """``Layer.add_metric``: the layer's Mean (or Sum) metric called ``name``, made on first use, updated."""
    if name is None:
        raise ValueError(f"Layer '{layer.name}'.add_metric: give the metric a name, e.g. add_metric(x, name='mean_x')")
    metrics = layer.__dict__.get("_added_metrics")
    if metrics is None:
        metrics = layer.__dict__["_added_metrics"] = {}
    m = metrics.get(name)
    if m is None:
        from .. import metrics as metrics_mod
        from .tracking import bump
        if aggregation not in ("mean", "sum", None):
            raise ValueError(f"add_metric: aggregation must be 'mean' or 'sum', got {aggregation!r}")
        m = metrics[name] = (metrics_mod.Sum if aggregation == "sum" else metrics_mod.Mean)(name=name)
        bump()
    m.update_state(value)


def bind_positional(layer, args, kwargs):
    """``layer(x, mask)`` / ``layer(x, True)``: positional arguments that land on ``call``'s ``mask`` or
    ``training`` parameter are passed by name (with the others), so ``__call__``'s mask and training
    handling sees them; other positional extras are left alone."""
    import inspect
    names = layer.__dict__.get("_pos_names")
    if names is None:
        names = []
        for p in list(inspect.signature(layer.call).parameters.values())[1:]:
            if p.kind != p.POSITIONAL_OR_KEYWORD:
                break
            names.append(p.name)
        names = tuple(names)
        layer.__dict__["_pos_names"] = names
    extra = args[1:]
    if not any(n in ("mask", "training") for n in names[:len(extra)]):
        return args, kwargs
    if len(extra) > len(names):
        raise TypeError(f"Layer '{layer.name}'.call() takes {len(names) + 1} positional arguments "
                        f"but {len(args)} were given")
    kwargs = dict(kwargs)
    for n, v in zip(names, extra):
        if n in kwargs:
            raise TypeError(f"Layer '{layer.name}'.call() got multiple values for argument {n!r}")
        kwargs[n] = v
    return args[:1], kwargs


def mark_shape_preserving(*classes) -> None:
    """Shape inference skips the ``call`` of these layers (output: zeros of the input's shape and dtype) unless
    a subclass overrides ``call`` or an instance sets ``_shape_preserving_call = None``: running elementwise
    layers on full-size dummies cost most of the build time of large functional models (EfficientNet)."""
    for cls in classes:
        cls._shape_preserving_call = cls.call


def _skips_call(layer, inputs, args, kwargs) -> bool:
    marked = layer.__dict__.get("_shape_preserving_call", type(layer)._shape_preserving_call)
    return type(layer).call is marked and len(args) == 1 and "mask" not in kwargs \
        and inputs._value.dtype == layer._compute_dtype


def construct_from_config(cls, config):
    """``cls(**config)`` for ``Layer.from_config``: Keras's dtype-policy dicts become names (a quantized policy
    ``"int8_from_float32"``...), a quantizable layer (Dense, EinsumDense, Embedding) gets its
    ``quantization_config`` back as an object, LoRA keys are refused unless unset, and a constructor that cannot
    take the config says how to fix it."""
    config = dict(config)
    if isinstance(config.get("dtype"), dict):
        inner = config["dtype"].get("config", {}) or {}
        config["dtype"] = _quantized_policy(config["dtype"]).name if "mode" in inner else inner.get("name", "float32")
    if config.get("quantization_config") is not None and getattr(cls, "_quantizable_class", None) is cls:
        from .. import quantizers
        if isinstance(config["quantization_config"], dict):
            config["quantization_config"] = quantizers.deserialize(config["quantization_config"])
    for key in ("quantization_config", "lora_rank", "lora_alpha", "lora_enabled"):
        if key in config:
            if key == "quantization_config" and getattr(cls, "_quantizable_class", None) is cls:
                continue
            if config[key] not in (None, False):
                raise ValueError(f"{cls.__name__}.from_config: {key}={config[key]!r} is not supported (tapeflow "
                                 "quantizes only Dense, EinsumDense and Embedding, and has no LoRA)")
            del config[key]
    try:
        return cls(**config)
    except TypeError as e:
        if "unexpected keyword argument" not in str(e):
            raise
        raise TypeError(f"{cls.__name__}.from_config: {e}. A layer rebuilt from its config gets every key of "
                        f"get_config() ({sorted(config)}): give {cls.__name__}.__init__ a **kwargs passed on to "
                        "super().__init__(**kwargs), or override get_config/from_config.") from None


def _other_tensor_args(args, kwargs) -> bool:
    """Whether a call passes tensors beyond its first argument (``rnn(x, initial_state=s)``): Keras then gives
    ``call`` no ``mask`` of its own accord (it fills only ``<name>_mask`` parameters)."""
    for v in list(args[1:]) + [v for k, v in kwargs.items() if k not in ("mask", "training")]:
        if isinstance(v, Tensor) or (isinstance(v, (list, tuple)) and any(isinstance(e, Tensor) for e in v)):
            return True
    return False


def build_from_build_config(layer, config) -> None:
    """``Layer.build_from_config``: Keras's ``{"input_shape": ...}`` or ``{"shapes_dict": {"query_shape": ...}}``."""
    config = config or {}
    if layer.built:
        return
    if config.get("shapes_dict"):
        named = {k: _to_shape_struct(v) for k, v in config["shapes_dict"].items()}
        params = inspect.signature(layer.build).parameters
        fits = set(named) <= set(params) or any(p.kind == p.VAR_KEYWORD for p in params.values())
        # (a layer whose build() takes one shape where Keras's takes several: the first is its input's)
        layer._build_from_shapes(next(iter(named.values())), named if fits else None)
    elif config.get("input_shape") is not None:
        layer._build_from_shapes(_to_shape_struct(config["input_shape"]))
