"""Layer: the unit of a Keras model (weights + ``call``), with Keras 3's contract.

A layer creates its weights in ``build(input_shape)`` (or ``__init__``) with ``add_weight``,
computes in ``call(inputs, training=None, mask=None)``, and describes itself with
``get_config``. ``__call__`` builds on first use, casts floating inputs to the compute dtype,
checks ``input_spec``, and passes ``training``/``mask`` only to a ``call`` that takes them.

Sub-layers and variables are found through attributes (also inside lists, tuples and dicts),
in attribute order, as Keras tracks them; walks are cached (see ``tracking.py``).
"""
from __future__ import annotations

import inspect

import numpy as np

from ... import backend as B
from ...autodiff.tensor import Tensor, Variable, convert_to_tensor
from ...ops import array_ops as A
from .. import backend as K
from .. import constraints, initializers, regularizers
from ..remat_scope import SCOPES as REMAT_SCOPES
from ..remat_scope import get_current_remat_mode, remat_call
from .graph_views import GraphViews
from .input_spec import InputSpec, assert_input_compatibility
from .layer_utils import (_collect_layers, _has_symbolic, _is_number_list, _other_tensor_args, _resolve_dtype,
                          _shape_struct, _skips_call, add_metric_value, auto_config, bind_positional,
                          build_from_build_config, construct_from_config)
from .tracking import ATTRIBUTES, CTX, FIT_STATE, VERSION, TrackedDict, TrackedList, bump

_NOT_TRACKED = frozenset({
    "_trainable_variables", "_non_trainable_variables", "_losses", "_inbound_nodes", "_outbound_nodes",
    "_cache", "_auto_config", "_call_sig", "input_spec", "_build_input_shape", "_batch_input_shape",
    "_initial_weights", "_added_metrics", "_pos_names", "_masks"})  # _masks: an RNN cell's per-call dropout
_UNTRACKED_PREFIXES = ("_trainer", "_compile", "_self_")
_INPUT_KWARGS = ("input_shape", "input_dim", "batch_input_shape", "batch_size", "activity_regularizer",
                 "autocast", "dynamic", "input_dtype", "weights")
_SCOPE: list = []  # names of layers being built, outermost first: variable paths "outer/inner/kernel"
_CALL_SIGS: dict = {}


class Layer(GraphViews):
    """Base class of all layers.

    >>> import tapeflow as tf
    >>> class Scale(tf.keras.layers.Layer):
    ...     def build(self, input_shape):
    ...         self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")
    ...     def call(self, x):
    ...         return x * self.w
    >>> layer = Scale()
    >>> layer(tf.ones((2, 3))).shape.as_list(), layer.w.path
    ([2, 3], 'scale/w')
    """

    supports_masking = False
    _is_layer = True
    _shape_preserving_call = None  # see mark_shape_preserving

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        d = obj.__dict__
        d["_auto_config"] = (args, kwargs)
        d["_trainable_variables"] = []
        d["_non_trainable_variables"] = []
        d["_losses"] = []
        d["_inbound_nodes"] = []
        d["_outbound_nodes"] = []
        d["_cache"] = {}
        d["_call_sig"] = None
        d["_trainable"] = True
        d["built"] = False
        d["input_spec"] = None
        d["_build_input_shape"] = None
        d["_batch_input_shape"] = None
        d["name"] = None
        d["_remat_mode"] = get_current_remat_mode() if REMAT_SCOPES and REMAT_SCOPES[-1].mode else None
        return obj

    def __init__(self, trainable=True, name=None, dtype=None, **kwargs):
        unknown = set(kwargs) - set(_INPUT_KWARGS)
        if unknown:
            raise ValueError(f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                             f"{ {k: kwargs[k] for k in sorted(unknown)} }")
        if name is not None and (not isinstance(name, str) or "/" in name):
            raise ValueError(f"{type(self).__name__}: name must be a string without '/', got {name!r}")
        object.__setattr__(self, "name", name or K.unique_object_name(K.to_snake_case(type(self).__name__)))
        self._trainable = bool(trainable)
        self._dtype_policy_name, self._compute_dtype, self._variable_dtype = _resolve_dtype(dtype)
        self.autocast = kwargs.get("autocast", True)
        self.activity_regularizer = regularizers.get(kwargs.get("activity_regularizer"))
        shape = kwargs.get("batch_input_shape")
        if shape is None:
            if kwargs.get("input_dim") is not None:
                shape = (kwargs.get("batch_size"), int(kwargs["input_dim"]))
            elif kwargs.get("input_shape") is not None:
                s = kwargs["input_shape"]
                s = (s,) if isinstance(s, int) else tuple(s)
                shape = (kwargs.get("batch_size"),) + s
        self._batch_input_shape = None if shape is None else tuple(None if d is None else int(d) for d in shape)
        self._initial_weights = kwargs.get("weights")

    # -- attribute tracking ---------------------------------------------------------------
    def __setattr__(self, name, value):
        if name[0] != "_" and name not in FIT_STATE:
            ATTRIBUTES[0] += 1
        if name in _NOT_TRACKED or name.startswith(_UNTRACKED_PREFIXES):
            object.__setattr__(self, name, value)
            return
        t = type(value)
        if isinstance(value, Layer):
            bump()
        elif isinstance(value, Variable):
            bump()
            self._adopt(value)
        elif t is list:
            value = TrackedList(value, self)
            bump()
            self._adopt(value)
        elif t is dict:
            value = TrackedDict(value, self)
            bump()
            self._adopt(value)
        elif t is tuple or t is TrackedList or t is TrackedDict:
            bump()
            self._adopt(value)
        elif hasattr(t, "reset_state") and hasattr(t, "result"):
            bump()  # a metric: Model.metrics collects it (cached against VERSION)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        object.__delattr__(self, name)
        bump()

    def _adopt(self, value, depth=0):
        """Track a variable assigned as an attribute (or inside a container) as this layer's own."""
        if isinstance(value, Variable):
            for lst in (self._trainable_variables, self._non_trainable_variables):
                for v in lst:
                    if v is value:
                        return
            (self._trainable_variables if value.trainable else self._non_trainable_variables).append(value)
        elif depth < 8 and isinstance(value, (list, tuple)):
            for v in value:
                self._adopt(v, depth + 1)
        elif depth < 8 and isinstance(value, dict):
            for v in value.values():
                self._adopt(v, depth + 1)

    def _direct_layers(self) -> list:
        """Sub-layers held in attributes, in attribute order (cached)."""
        c = self._cache.get("layers")
        if c is not None and c[0] == VERSION[0]:
            return c[1]
        out, seen = [], {id(self)}
        for k, v in self.__dict__.items():
            if k in _NOT_TRACKED or k.startswith(_UNTRACKED_PREFIXES):
                continue
            _collect_layers(v, out, seen)
        self._cache["layers"] = (VERSION[0], out)
        return out

    @property
    def _layers(self) -> list:
        return list(self._direct_layers())

    def _flatten_layers(self, include_self=True, recursive=True) -> list:
        key = ("flat", include_self, recursive)
        c = self._cache.get(key)
        if c is not None and c[0] == VERSION[0]:
            return c[1]
        out, seen = [], set()

        def walk(layer):
            for sub in layer._direct_layers():
                if id(sub) not in seen:
                    seen.add(id(sub))
                    out.append(sub)
                    if recursive:
                        walk(sub)
        if include_self:
            out.append(self)
            seen.add(id(self))
        walk(self)
        self._cache[key] = (VERSION[0], out)
        return out

    # -- weights --------------------------------------------------------------------------
    def add_weight(self, *args, **kwargs) -> Variable:
        """Create a tracked ``tf.Variable``; Keras 3 order ``(shape, initializer, dtype, trainable,
        autocast, regularizer, constraint, aggregation, overwrite_with_gradient, name)``, or the
        tf.keras 2 order when the first positional argument is the name string."""
        if args and isinstance(args[0], str):
            order = ("name", "shape", "dtype", "initializer", "regularizer", "trainable", "constraint")
        else:
            order = ("shape", "initializer", "dtype", "trainable", "autocast", "regularizer", "constraint",
                     "aggregation", "overwrite_with_gradient", "name")
        if len(args) > len(order):
            raise TypeError(f"add_weight: too many positional arguments ({len(args)})")
        for k, v in zip(order, args):
            if k in kwargs:
                raise TypeError(f"add_weight: got multiple values for argument {k!r}")
            kwargs[k] = v
        return self._add_weight(**kwargs)

    def _add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, autocast=True,
                    regularizer=None, constraint=None, aggregation="none", overwrite_with_gradient=False,
                    name=None, **unused):
        shape = () if shape is None else ((int(shape),) if isinstance(shape, (int, np.integer))
                                          else tuple(int(s) for s in shape))
        dtype = self._variable_dtype if dtype is None else B.as_dtype(dtype)
        if initializer is None:
            initializer = "glorot_uniform" if B.is_floating(dtype) else "zeros"
        init = initializers.get(initializer)
        value = init(shape, dtype=dtype) if callable(init) else init
        value = value._value if isinstance(value, Tensor) else np.asarray(value, dtype=dtype)
        if value.shape != shape:
            raise ValueError(f"Layer '{self.name}'.add_weight({name!r}): initializer returned shape "
                             f"{value.shape}, expected {shape}")
        trainable = bool(trainable)
        var = Variable(value.astype(dtype, copy=False), trainable=trainable and self._trainable,
                       name=name or "variable", dtype=dtype)
        prefix = "/".join(_SCOPE) if _SCOPE and _SCOPE[-1] == self.name else self.name
        var.path = f"{prefix}/{var.name}"
        var._layer_name = self.name
        var.regularizer = regularizers.get(regularizer)
        var.constraint = constraints.get(constraint)
        var.aggregation = aggregation
        var.overwrite_with_gradient = overwrite_with_gradient
        (self._trainable_variables if trainable else self._non_trainable_variables).append(var)
        bump()
        return var

    @property
    def weights(self) -> list:
        """All weights, Keras order: own trainable, own non-trainable, then each sub-layer's."""
        c = self._cache.get("w")
        if c is not None and c[0] == VERSION[0]:
            return list(c[1])
        out, seen = [], set()
        for v in self._trainable_variables + self._non_trainable_variables:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        for layer in self._direct_layers():
            for v in layer.weights:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        self._cache["w"] = (VERSION[0], out)
        return list(out)

    @property
    def trainable_weights(self) -> list:
        if not self._trainable:
            return []
        return [v for v in self.weights if v.trainable]

    @property
    def non_trainable_weights(self) -> list:
        if not self._trainable:
            return self.weights
        return [v for v in self.weights if not v.trainable]

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        self._trainable = value
        for v in self._trainable_variables:
            v.trainable = value
        for layer in self._direct_layers():
            layer.trainable = value
        bump()

    def get_weights(self) -> list:
        """The weights as NumPy arrays, in ``weights`` order."""
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights) -> None:
        """Assign NumPy arrays to ``weights`` (same count, same shapes, checked before any change)."""
        params = self.weights
        weights = list(weights)
        if len(params) != len(weights):
            raise ValueError(
                f'Layer "{self.name}" weight list length mismatch: set_weights() was given {len(weights)} '
                f"arrays but the layer has {len(params)} weights "
                f"({', '.join(v.path for v in params) or 'none; is the layer built?'}).")
        arrays = []
        for p, w in zip(params, weights):
            arr = np.asarray(w._value if isinstance(w, Tensor) else w)
            if arr.shape != tuple(p.shape):
                raise ValueError(f'Layer "{self.name}" weight "{p.path}" has shape {tuple(p.shape)}, '
                                 f"but the provided array has shape {arr.shape}.")
            arrays.append(arr)
        for p, arr in zip(params, arrays):
            p.assign(arr)

    def count_params(self) -> int:
        """Number of scalars in all weights (the layer must be built)."""
        if not self.built:
            raise ValueError(f"You tried to call count_params on layer '{self.name}', but the layer isn't built. "
                             "Build it first by calling it on data or with layer.build(input_shape).")
        return int(sum(int(np.prod(v.shape)) for v in self.weights))

    # -- losses ---------------------------------------------------------------------------
    def add_loss(self, loss) -> None:
        """Record a scalar loss term for the current call (read back through ``losses``)."""
        if CTX.shape_inference:
            return
        self._losses.append(loss)

    @property
    def losses(self) -> list:
        """``add_loss`` terms from the latest call, then ``regularizer(weight)`` for each trainable
        weight that has one, recomputed now (so they are differentiable under a tape)."""
        out = []
        for layer in self._flatten_layers():
            if layer._losses:
                out.extend(layer._losses)
        for v in self.trainable_weights:
            reg = v.regularizer
            if reg is not None:
                out.append(reg(v))
        return out

    def add_metric(self, value, name=None, aggregation="mean") -> None:
        """tf.keras 2: track ``value`` (a tensor computed in ``call``) as a metric named ``name``; fit's logs
        and progress bar show its mean over the epoch (``aggregation="sum"``: its running sum).

        >>> import tapeflow as tf
        >>> class Probe(tf.keras.layers.Layer):
        ...     def call(self, x):
        ...         self.add_metric(tf.reduce_mean(x), name="act_mean")
        ...         return x
        >>> layer = Probe(); _ = layer(tf.ones((2, 2)))
        >>> float(layer._added_metrics["act_mean"].result())
        1.0
        """
        if CTX.shape_inference:
            return
        if _has_symbolic([value]):
            raise NotImplementedError(f"Layer '{self.name}'.add_metric: a symbolic (keras.Input-derived) value is not "
                                      "supported; call add_metric inside a layer's call() on the real tensor")
        add_metric_value(self, value, name, aggregation)

    def _clear_losses(self):
        c = self._cache.get("flat_all")
        if c is None or c[0] != VERSION[0]:
            c = (VERSION[0], self._flatten_layers())
            self._cache["flat_all"] = c
        for layer in c[1]:
            if layer._losses:
                del layer._losses[:]

    # -- dtype ----------------------------------------------------------------------------
    @property
    def dtype(self) -> str:
        return self._variable_dtype.name

    @property
    def compute_dtype(self) -> str:
        return self._compute_dtype.name

    @property
    def variable_dtype(self) -> str:
        return self._variable_dtype.name

    @property
    def dtype_policy(self):
        return self._dtype_policy_name

    def _read(self, v):
        """A weight in the compute dtype (differs from the variable dtype only in mixed precision)."""
        return v if v._value.dtype == self._compute_dtype else A.cast(v, self._compute_dtype)

    # -- calling --------------------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create weights for inputs of ``input_shape``; the base version only marks the layer built."""
        self.built = True

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call()")

    def _signature(self):
        sig = self._call_sig
        if sig is None:
            cls = type(self)
            sig = _CALL_SIGS.get(cls) if "call" not in self.__dict__ else None
            if sig is None:
                params = inspect.signature(self.call).parameters
                varkw = any(p.kind == p.VAR_KEYWORD for p in params.values())
                sig = ("training" in params or varkw, "mask" in params or varkw,
                       cls.compute_mask is not Layer.compute_mask)
                if "call" not in self.__dict__:
                    _CALL_SIGS[cls] = sig
            object.__setattr__(self, "_call_sig", sig)
        return sig

    def _convert_input(self, x):
        t = type(x)
        if t is Tensor or t is Variable:
            d = x._value.dtype
            if self.autocast and d != self._compute_dtype and (d.kind == "f" or d.name == "bfloat16"):
                return A.cast(x, self._compute_dtype)
            return x
        if x is None:
            return x
        if t is np.ndarray or isinstance(x, (np.generic, int, float)) or _is_number_list(x):
            arr = np.asarray(x)
            if arr.dtype.kind == "f" and self.autocast:
                arr = arr.astype(self._compute_dtype, copy=False)
            elif arr.dtype == np.float64:
                arr = arr.astype(np.float32)
            return convert_to_tensor(arr)
        if isinstance(x, (list, tuple)):
            vals = [self._convert_input(v) for v in x]
            return vals if isinstance(x, list) else tuple(vals)
        if isinstance(x, dict):
            return {k: self._convert_input(v) for k, v in x.items()}
        if isinstance(x, Tensor):
            return self._convert_input(Tensor._wrap(x._value))
        return x

    def __call__(self, *args, **kwargs):
        if not args:
            if "inputs" not in kwargs:
                raise ValueError(f'Layer "{self.name}" was called without an input; pass it as the first argument')
            args = (kwargs.pop("inputs"),)
        inputs = args[0]
        if type(inputs) is not Tensor or len(args) > 1 or kwargs:
            if _has_symbolic(args) or (kwargs and _has_symbolic(list(kwargs.values()))):
                from ..models.functional import symbolic_call
                return symbolic_call(self, args, kwargs)
        if len(args) > 1:
            args, kwargs = bind_positional(self, args, kwargs)
        inputs = self._convert_input(inputs)
        first_call = not self.built
        if first_call:
            self._build_on_call(inputs, args, kwargs)
        spec = self.input_spec
        if spec is not None:
            if type(spec) is InputSpec and type(inputs) is Tensor and spec._fast is not None:
                shape = inputs._value.shape
                mn, mx, axes = spec._fast
                if len(shape) < mn or len(shape) > mx or any(shape[a] != v for a, v in axes):
                    assert_input_compatibility(spec, inputs, self.name)
            else:
                assert_input_compatibility(spec, inputs, self.name)
        ctx = CTX
        training = kwargs.pop("training", None) if kwargs else None
        if training is None:
            training = ctx.training
        sig = self._call_sig or self._signature()
        if training is not None and sig[0]:
            kwargs["training"] = training
        prev_mask = getattr(inputs, "_keras_mask", None)
        if sig[1]:
            if kwargs.get("mask") is None:
                kwargs.pop("mask", None)
                if prev_mask is not None and not _other_tensor_args(args, kwargs):
                    kwargs["mask"] = prev_mask  # as Keras: only a call with one tensor argument gets its mask
            else:
                prev_mask = kwargs["mask"]
        elif "mask" in kwargs:
            del kwargs["mask"]
        depth = ctx.depth
        if depth == 0 and not ctx.shape_inference:
            self._clear_losses()
        prev_training = ctx.training
        ctx.depth = depth + 1
        ctx.training = training
        if first_call:
            _SCOPE.append(self.name)
        try:
            if ctx.shape_inference and _skips_call(self, inputs, args, kwargs):
                outputs = Tensor._wrap(np.zeros(inputs._value.shape, inputs._value.dtype))  # no full-size work
            elif self._remat_mode is not None and not ctx.shape_inference:
                outputs = remat_call(self, inputs, args[1:], kwargs)  # under a keras.RematScope
            else:
                outputs = self.call(inputs, *args[1:], **kwargs)
        finally:
            ctx.depth = depth
            ctx.training = prev_training
            if first_call:
                _SCOPE.pop()
        if first_call and not self.built:
            self.built = True
            bump()
        if self.activity_regularizer is not None and not ctx.shape_inference:
            for out in (outputs if isinstance(outputs, (list, tuple)) else (outputs,)):
                if isinstance(out, Tensor):
                    self.add_loss(self.activity_regularizer(out))
        if sig[2] or (prev_mask is not None and self.supports_masking):
            self._set_output_mask(inputs, outputs, prev_mask)
        return outputs

    def _set_output_mask(self, inputs, outputs, previous_mask):
        mask = self.compute_mask(inputs, previous_mask)
        if mask is None:
            return
        if isinstance(outputs, (list, tuple)):
            masks = mask if isinstance(mask, (list, tuple)) else [mask] * len(outputs)
            for o, m in zip(outputs, masks):
                if isinstance(o, Tensor) and type(o) is Tensor:
                    o._keras_mask = m
        elif type(outputs) is Tensor:
            outputs._keras_mask = mask

    def compute_mask(self, inputs, mask=None):
        """The mask for the outputs: passes the input mask through if ``supports_masking``."""
        return mask if self.supports_masking else None

    def _build_on_call(self, inputs, args, kwargs):
        shapes = _shape_struct(inputs)
        build_params = [p for p in inspect.signature(self.build).parameters.values()
                        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if len(build_params) > 1 and all(p.name.endswith("_shape") for p in build_params):
            bound = inspect.signature(self.call).bind_partial(inputs, *args[1:], **kwargs).arguments
            named = {p.name: _shape_struct(bound.get(p.name[:-len("_shape")])) for p in build_params
                     if p.name[:-len("_shape")] in bound}
            self._build_from_shapes(shapes, named)
        else:
            self._build_from_shapes(shapes)

    def _build_from_shapes(self, shapes, named=None):
        if self.built:
            return
        _SCOPE.append(self.name)
        try:
            if named:
                self.build(**named)
                self.__dict__["_build_shapes_dict"] = dict(named)  # Keras's build_config "shapes_dict"
            else:
                self.build(shapes)
        finally:
            _SCOPE.pop()
        object.__setattr__(self, "built", True)
        self._build_input_shape = shapes
        bump()
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape`` (``None`` = unknown); by default found by running the layer
        on small dummy arrays."""
        from .shape_inference import ShapeSpec, map_struct, run_on_specs

        def to_spec(s):
            return ShapeSpec(s, self._compute_dtype)

        def is_shape(s):
            return isinstance(s, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in s)
        specs = map_struct(to_spec, tuple(input_shape) if isinstance(input_shape, list) and is_shape(
            tuple(input_shape)) else input_shape, leaf=is_shape)
        out = run_on_specs(self, (specs,), {})
        return map_struct(lambda p: p[0], out, leaf=lambda p: isinstance(p, tuple) and len(p) == 2
                          and isinstance(p[1], np.dtype))

    # -- config ---------------------------------------------------------------------------
    def get_config(self) -> dict:
        """Constructor arguments as plain JSON values: ``type(layer).from_config(config)`` rebuilds it."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self._dtype_policy_name}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        cls = type(self)
        if getattr(cls.get_config, "_automatic", False) and cls.__init__ is not Layer.__init__:
            config.update(self._auto_get_config())  # a custom layer that does not define get_config
        return config

    get_config._automatic = True

    def _auto_get_config(self) -> dict:
        return auto_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return construct_from_config(cls, config)

    def get_build_config(self):
        named = self.__dict__.get("_build_shapes_dict")
        if named and len(named) > 1:  # build(query_shape=..., value_shape=...), as Keras writes it
            return {"shapes_dict": named}
        if self._build_input_shape is not None:
            return {"input_shape": self._build_input_shape}
        return None

    def build_from_config(self, config) -> None:
        build_from_build_config(self, config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


__all__ = ["Layer", "InputSpec"]

