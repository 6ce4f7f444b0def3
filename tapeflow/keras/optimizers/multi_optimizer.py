"""``MultiOptimizer`` and ``OptimizerMap`` (Keras 3.15): a different optimizer for different variables.

An ``OptimizerMap`` maps variable paths (``"enc/kernel"``, as ``Variable.path`` gives them) or regular
expressions (matched with ``re.fullmatch``: ``"enc/.*"``) to optimizers, with a default for the rest. A
``MultiOptimizer`` built on a model's variables asks the map (or any callable ``variable -> optimizer``) for each
variable's optimizer, builds every sub-optimizer on its own variables and, at each step, hands each one its
gradients. The sub-optimizers keep their own slots, learning rates and ``iterations``; the MultiOptimizer counts
its own steps.

State, as Keras 3.15.1 lays it out: ``variables`` is the MultiOptimizer's ``iteration`` and ``learning_rate``
(always 0: it has no learning rate of its own) followed by each sub-optimizer's variables in Keras's order, and a
weights file holds them under ``optimizer/vars`` and again under ``optimizer/optimizers/<class>/vars``.

>>> import tapeflow as tf
>>> opt = tf.keras.optimizers.MultiOptimizer(tf.keras.optimizers.OptimizerMap(
...     tf.keras.optimizers.SGD(0.5), {"w": tf.keras.optimizers.SGD(0.1)}))
>>> w, b = tf.Variable([1.0], name="w"), tf.Variable([1.0], name="b")
>>> _ = opt.apply_gradients([(tf.constant([1.0]), w), (tf.constant([1.0]), b)])
>>> round(float(w.numpy()[0]), 6), round(float(b.numpy()[0]), 6)
(0.9, 0.5)
"""
from __future__ import annotations

import re
from collections.abc import MutableMapping

from .base import Optimizer, _as_array
from .loss_scale import LossScaleOptimizer


def _check_sub_optimizer(optimizer, what: str) -> None:
    """A sub-optimizer must be a plain Optimizer: not a LossScaleOptimizer, not a MultiOptimizer."""
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"{what} must be a Keras Optimizer instance (e.g. tf.keras.optimizers.Adam()). "
                         f"Received: {optimizer!r} of type {type(optimizer).__name__}")
    if isinstance(optimizer, LossScaleOptimizer):
        raise ValueError(f"{what} cannot be a LossScaleOptimizer: pass the optimizer it wraps, and give the "
                         "MultiOptimizer a `loss_scale_factor` instead.")
    if isinstance(optimizer, MultiOptimizer):
        raise ValueError(f"{what} cannot be a MultiOptimizer: MultiOptimizers do not nest. Put every "
                         "path -> optimizer entry in one OptimizerMap.")


class OptimizerMap(MutableMapping):
    """Map variable paths, or regular expressions over them, to optimizers (``keras.optimizers.OptimizerMap``).

    ``optimizer_map[path]`` is the optimizer stored under exactly ``path`` if there is one; else the one whose key,
    read as a regular expression, matches the whole path (``re.fullmatch``); else ``default_optimizer``. A path
    matched by two or more patterns raises ``ValueError``; setting a key twice raises too. Calling the map on a
    variable looks up ``variable.path``. Note that, as in Keras, ``in`` is true for every string (a lookup never
    fails: it falls back to the default); ``list(optimizer_map)`` gives the keys.

    >>> import tapeflow as tf
    >>> opt_adam = tf.keras.optimizers.Adam()
    >>> opt_sgd = tf.keras.optimizers.SGD()
    >>> optimizer_map = tf.keras.optimizers.OptimizerMap(default_optimizer=tf.keras.optimizers.RMSprop())
    >>> optimizer_map["encoder/layer_0/dense"] = opt_adam
    >>> optimizer_map["encoder/.*"] = opt_sgd
    >>> optimizer_map["decoder"] = opt_adam
    >>> optimizer_map["decoder"] is opt_adam, optimizer_map["encoder/layer_0/dense"] is opt_adam
    (True, True)
    >>> optimizer_map["encoder/layer_0/attention/query"] is opt_sgd   # the regex
    True
    >>> type(optimizer_map["decoder/layer_0/dense"]).__name__         # nothing matches: the default
    'RMSprop'
    >>> optimizer_map["encoder/.*"] = tf.keras.optimizers.Adam()     # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: 'encoder/.*' already exists in the OptimizerMap ...
    """

    def __init__(self, default_optimizer, optimizer_map=None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError("OptimizerMap: `default_optimizer` must be a Keras Optimizer instance (e.g. "
                            f"tf.keras.optimizers.SGD()). Received: {default_optimizer!r}")
        _check_sub_optimizer(default_optimizer, "OptimizerMap: `default_optimizer`")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError("OptimizerMap: `optimizer_map` must be a dict {variable path or regex: optimizer}. "
                            f"Received: {optimizer_map!r} of type {type(optimizer_map).__name__}")
        self._default_optimizer = default_optimizer
        self._optimizer_map: dict = {}
        self._patterns: dict = {}  # key -> compiled pattern (None: not a valid regex, matched exactly only)
        for key, optimizer in (optimizer_map or {}).items():
            self[key] = optimizer

    @property
    def default_optimizer(self) -> Optimizer:
        """The optimizer of every path no key matches."""
        return self._default_optimizer

    def _pattern(self, key):
        if key not in self._patterns:
            try:
                self._patterns[key] = re.compile(key)
            except re.error as e:
                raise ValueError(f"OptimizerMap: key {key!r} is not a valid regular expression ({e}) and no "
                                 "variable path equals it. Escape it with re.escape() to match it literally."
                                 ) from None
        return self._patterns[key]

    def __getitem__(self, key):
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matches = [k for k in self._optimizer_map if self._pattern(k).fullmatch(key)]
        if len(matches) > 1:
            raise ValueError(f"Multiple optimizers assigned to variable {key}: it matches the patterns {matches}. "
                             "Make the patterns exclusive, or add an entry for this exact path.")
        if matches:
            return self._optimizer_map[matches[0]]
        return self._default_optimizer

    def __setitem__(self, key, optimizer):
        if key in self._optimizer_map:
            raise ValueError(f"'{key}' already exists in the OptimizerMap with value {self._optimizer_map[key]!r}. "
                             "Please make sure to not use duplicated keys (delete the entry first to replace it).")
        if not isinstance(key, str):
            raise ValueError(f"OptimizerMap: a key must be a string (a variable path or a regex). Received: {key!r} "
                             f"of type {type(key).__name__}")
        _check_sub_optimizer(optimizer, f"OptimizerMap[{key!r}]")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key):
        del self._optimizer_map[key]
        self._patterns.pop(key, None)

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable) -> Optimizer:
        """The optimizer for ``variable`` (looked up by ``variable.path``)."""
        return self[variable.path]

    def __repr__(self) -> str:
        entries = ", ".join(f"{k!r}: {type(v).__name__}" for k, v in self._optimizer_map.items())
        return f"<OptimizerMap default={type(self._default_optimizer).__name__} {{{entries}}}>"

    def get_config(self) -> dict:
        """``{"default_optimizer", "optimizer_map"}``; an optimizer that appears twice (one optimizer under several
        keys) carries Keras's ``shared_object_id`` in each place, so that loading makes it one object again."""
        from . import serialize
        everything = [self._default_optimizer, *self._optimizer_map.values()]
        shared = {id(o) for o in everything if sum(x is o for x in everything) > 1}

        def one(opt):
            config = serialize(opt)
            if id(opt) in shared:
                config["shared_object_id"] = id(opt)
            return config
        return {"default_optimizer": one(self._default_optimizer),
                "optimizer_map": {k: one(v) for k, v in self._optimizer_map.items()}}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from . import deserialize
        made: dict = {}  # shared_object_id -> the optimizer built for its first occurrence

        def one(c):
            if not isinstance(c, dict):
                return c
            sid = c.get("shared_object_id")
            if sid is not None and sid in made:
                return made[sid]
            opt = deserialize(c, custom_objects=custom_objects)
            if sid is not None:
                made[sid] = opt
            return opt
        default = one(config["default_optimizer"])
        return cls(default, {k: one(v) for k, v in (config.get("optimizer_map") or {}).items()})


def _serialize_selector(fn) -> dict:
    """A selector function as Keras serializes one: by (registered) name; it is found again by that name in
    ``custom_objects`` or the ``register_keras_serializable`` registry (code is never stored nor run)."""
    from .._serialization import get_registered_name
    return {"module": "builtins", "class_name": "function", "config": get_registered_name(fn),
            "registered_name": "function"}


def _deserialize_selector(config, custom_objects):
    from .._serialization import get_registered_object
    name = config.get("config")
    fn = get_registered_object(name, custom_objects) if isinstance(name, str) else None
    if fn is None or not callable(fn):
        raise ValueError(f"MultiOptimizer: cannot find the optimizer selector function {name!r} of the saved "
                         f"config. Pass it in custom_objects={{{name!r}: fn}}, decorate it with "
                         "@tf.keras.saving.register_keras_serializable(), or use an OptimizerMap (saved as data).")
    return fn


class MultiOptimizer(Optimizer):
    """Give each variable its own optimizer (``keras.optimizers.MultiOptimizer``).

    ``optimizer_map`` is an ``OptimizerMap`` or a callable ``variable -> optimizer`` (called once per variable at
    build time: a callable that creates a new optimizer at each call gives every variable its own).
    ``loss_scale_factor`` replaces the sub-optimizers' own. The MultiOptimizer has no learning rate: reading or
    setting ``learning_rate`` raises ``AttributeError``; use ``optimizer.optimizers`` (the sub-optimizers, in
    the order: the map's values, its default, then any new ones the callable returned).

    >>> import numpy as np, tapeflow as tf
    >>> model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(4, name="enc"),
    ...                              tf.keras.layers.Dense(1, name="head")])
    >>> opt = tf.keras.optimizers.MultiOptimizer(tf.keras.optimizers.OptimizerMap(
    ...     tf.keras.optimizers.SGD(0.01, momentum=0.9), {"sequential/enc/.*": tf.keras.optimizers.Adam(1e-3)}))
    >>> model.compile(optimizer=opt, loss="mse")
    >>> _ = model.fit(np.ones((8, 3)), np.ones((8, 1)), batch_size=4, verbose=0)
    >>> [(type(o).__name__, int(o.iterations)) for o in opt.optimizers], int(opt.iterations)
    ([('Adam', 2), ('SGD', 2)], 2)
    """

    def __init__(self, optimizer_map, loss_scale_factor=None, name=None):
        if isinstance(optimizer_map, dict):
            raise TypeError("MultiOptimizer: `optimizer_map` is a dict; wrap it in an OptimizerMap, which also "
                            "names the default optimizer: MultiOptimizer(OptimizerMap(default_optimizer, {...})).")
        if not callable(optimizer_map):
            raise TypeError("MultiOptimizer: `optimizer_map` must be an OptimizerMap or a callable "
                            f"variable -> optimizer. Received: {optimizer_map!r} of type "
                            f"{type(optimizer_map).__name__}")
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        self._optimizer_map = optimizer_map
        self._inner_optimizers: list = []
        self._var_to_optimizer_idx: dict = {}
        subs = list(optimizer_map.values()) if hasattr(optimizer_map, "values") else []
        default = getattr(optimizer_map, "default_optimizer", None)
        for opt in subs + ([default] if default is not None else []):
            if not any(opt is o for o in self._inner_optimizers):
                opt.loss_scale_factor = loss_scale_factor
                self._inner_optimizers.append(opt)

    # -- what Keras exposes ---------------------------------------------------------------------
    @property
    def optimizers(self) -> list:
        """The sub-optimizers (a list: change their learning rates there)."""
        return self._inner_optimizers

    @property
    def variables(self) -> list:
        """``iteration``, ``learning_rate`` (0), then each sub-optimizer's variables, in Keras's order.

        Before ``build`` only the first two (Keras lists the known sub-optimizers' too): the list then only grows,
        so a ``tf.train.Checkpoint`` restored before the first step assigns the rest once they exist."""
        from ..saving.weights_h5 import optimizer_variables_keras_order
        out = self._variables[:]
        if self.built:
            for opt in self._inner_optimizers:
                out.extend(optimizer_variables_keras_order(opt))
        return out

    @property
    def learning_rate(self):
        raise AttributeError("Learning rate cannot be accessed on a MultiOptimizer. Access the learning rate on "
                             "the individual sub-optimizers instead (`optimizer.optimizers`).")

    @learning_rate.setter
    def learning_rate(self, value):
        if "_inner_optimizers" not in self.__dict__:  # Optimizer.__init__ creates the (unused) 0.0 variable
            Optimizer.learning_rate.fset(self, value)
            return
        raise AttributeError("Learning rate cannot be set on a MultiOptimizer. Set the learning rate on the "
                             "individual sub-optimizers instead (`optimizer.optimizers`).")

    @property
    def loss_scale_factor(self):
        """The factor ``fit`` multiplies the loss by; every sub-optimizer divides its gradients by it."""
        return self.__dict__.get("_loss_scale_factor")

    @loss_scale_factor.setter
    def loss_scale_factor(self, value):
        self.__dict__["_loss_scale_factor"] = value
        for opt in self.__dict__.get("_inner_optimizers", ()):
            opt.loss_scale_factor = value

    @property
    def use_ema(self) -> bool:
        """Whether some sub-optimizer keeps moving averages (``fit`` then calls ``finalize_variable_values``)."""
        return any(o.use_ema for o in self.__dict__.get("_inner_optimizers", ()))

    @use_ema.setter
    def use_ema(self, value):
        pass  # the MultiOptimizer keeps no averages itself: its sub-optimizers do

    @property
    def iterations(self):
        """Steps applied by the MultiOptimizer (each sub-optimizer counts its own)."""
        return self._iterations

    # -- building and applying -------------------------------------------------------------------
    def build(self, var_list) -> None:
        """Ask the map for each variable's optimizer and build every sub-optimizer on its variables."""
        if self.built:
            return
        var_list = list(var_list)
        groups = [[] for _ in self._inner_optimizers]
        var_to_idx = {}
        for var in var_list:
            opt = self._optimizer_map(var)
            _check_sub_optimizer(opt, f"MultiOptimizer: the optimizer for variable '{var.path}'")
            idx = next((i for i, o in enumerate(self._inner_optimizers) if o is opt), None)
            if idx is None:
                opt.loss_scale_factor = self.loss_scale_factor
                self._inner_optimizers.append(opt)
                groups.append([])
                idx = len(groups) - 1
            var_to_idx[id(var)] = idx
            groups[idx].append(var)
        for opt, variables in zip(self._inner_optimizers, groups):
            if opt.built:
                if [id(v) for v in opt._trainable_variables] != [id(v) for v in variables]:
                    raise ValueError(f"MultiOptimizer: sub-optimizer '{opt.name}' is already built on other "
                                     f"variables ({len(opt._trainable_variables)} of them) than the "
                                     f"{len(variables)} mapped to it. Give the MultiOptimizer new optimizers.")
                continue
            # An optimizer no variable maps to is built on nothing (Keras leaves it unbuilt): it holds only its
            # iteration and learning rate either way, and a built one is written to weights files as Keras does.
            opt.build(variables)
        self._var_to_optimizer_idx = var_to_idx
        # Optimizer.build would allocate scratch buffers and, with a sub-optimizer's use_ema, averages:
        # the MultiOptimizer needs neither, only the variable index.
        self._trainable_variables = var_list[:]
        self._trainable_variables_indices = {id(v): i for i, v in enumerate(var_list)}
        self.built = True

    def apply(self, grads, trainable_variables=None) -> None:
        """Hand each sub-optimizer its (gradient, variable) pairs, then count one step.

        As in Keras, every call passes one gradient (or ``None``) per variable the optimizer was built with.
        """
        grads = list(grads)
        if len(grads) == 0:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer must already be built "
                                 "on a list of variables. Call `optimizer.build(trainable_variables)` first.")
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if not self.built:
            self.build(trainable_variables)
        if self._restore_pending is not None:  # tf.train.Checkpoint values for slots that did not exist yet
            self._restore_pending(self)
        if len(grads) != len(self._trainable_variables) or len(trainable_variables) != len(grads):
            raise ValueError("Gradients must match trainable variables one-to-one. Received "
                             f"{len(grads)} gradients and {len(trainable_variables)} variables; the "
                             f"MultiOptimizer was built on {len(self._trainable_variables)} variables. Pass one "
                             "gradient (None for none) for each of them.")
        pairs = [([], []) for _ in self._inner_optimizers]
        for g, v in zip(grads, trainable_variables):
            idx = self._var_to_optimizer_idx.get(id(v))
            if idx is None:
                raise ValueError(f"Unknown variable: '{getattr(v, 'path', v)}'. This optimizer can only be "
                                 "called for the variables it was originally built with. When working with a "
                                 "new set of variables, create a new optimizer instance.")
            pairs[idx][0].append(g)
            pairs[idx][1].append(v)
        for opt, (sub_grads, sub_vars) in zip(self._inner_optimizers, pairs):
            if sub_grads:
                opt.apply(sub_grads, sub_vars)
        it = self._iterations._value
        it[()] = it[()] + 1

    def finalize_variable_values(self, var_list=None) -> None:
        """Let each sub-optimizer finalize its variables (with ``use_ema``: write the moving averages)."""
        if not self.built:
            return
        var_list = self._trainable_variables if var_list is None else list(var_list)
        groups = [[] for _ in self._inner_optimizers]
        for v in var_list:
            idx = self._var_to_optimizer_idx.get(id(v))
            if idx is None:
                raise ValueError(f"MultiOptimizer.finalize_variable_values: unknown variable "
                                 f"'{getattr(v, 'path', v)}' (not one the optimizer was built with).")
            groups[idx].append(v)
        for opt, variables in zip(self._inner_optimizers, groups):
            if variables:
                opt.finalize_variable_values(variables)

    # -- state -------------------------------------------------------------------------------------
    def _saveable_children(self) -> list:
        """What a weights file holds below this optimizer, as Keras walks it: ``optimizers/<class>/vars``."""
        return [("optimizers", self._inner_optimizers)]

    def get_weights(self) -> list:
        return [v.numpy() for v in self.variables]

    def set_weights(self, weights) -> None:
        """Set ``variables`` (the MultiOptimizer's own, then each sub-optimizer's) from arrays."""
        if not self.built:
            raise ValueError("You are calling `set_weights()` on an optimizer that has not yet been built. "
                             "Call `optimizer.build(trainable_variables)` first.")
        weights, variables = list(weights), self.variables
        if len(weights) != len(variables):
            raise ValueError(f"set_weights: MultiOptimizer '{self.name}' has {len(variables)} variables (its own "
                             f"{len(self._variables)} and its sub-optimizers'), got {len(weights)} weights")
        for var, w in zip(variables, weights):
            w = _as_array(w)
            if tuple(var.shape) != w.shape:
                raise ValueError(f"Optimizer variable '{var.name}' has shape {tuple(var.shape)}, not compatible "
                                 f"with the provided weight shape {w.shape}.")
        for var, w in zip(variables, weights):
            var.assign(_as_array(w))

    def save_own_variables(self, store) -> None:
        for i, v in enumerate(self.variables):
            store[str(i)] = v.numpy()

    def load_own_variables(self, store) -> None:
        variables = self.variables
        if len(store.keys()) != len(variables):
            import warnings
            warnings.warn(f"Skipping variable loading for optimizer '{self.name}', because it has "
                          f"{len(variables)} variables whereas the saved optimizer has {len(store.keys())} "
                          "variables.", stacklevel=2)
            return
        for i, v in enumerate(variables):
            v.assign(store[str(i)])

    def get_config(self) -> dict:
        from . import serialize
        m = self._optimizer_map
        return {"optimizer_map": serialize(m) if hasattr(m, "get_config") else _serialize_selector(m),
                "loss_scale_factor": self.loss_scale_factor, "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from . import deserialize
        config = dict(config)
        m = config.get("optimizer_map")
        if isinstance(m, dict) and m.get("class_name") == "function":
            config["optimizer_map"] = _deserialize_selector(m, custom_objects)
        elif isinstance(m, dict):
            config["optimizer_map"] = deserialize(m, custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        subs = ", ".join(f"{type(o).__name__}({o.name})" for o in self._inner_optimizers)
        return f"<MultiOptimizer name={self.name!r} optimizers=[{subs}] iterations={int(self._iterations._value)}>"
