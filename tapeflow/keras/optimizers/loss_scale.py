"""LossScaleOptimizer, as ``keras.optimizers.LossScaleOptimizer`` (one class with
``keras.mixed_precision.LossScaleOptimizer``, as in Keras 3).

Dynamic loss scaling: ``scale_loss`` multiplies the loss by the current ``dynamic_scale`` (``initial_scale``
at first); ``apply`` skips a step whose gradients hold a NaN or Inf and halves the scale, otherwise divides
the gradients by the scale, applies the inner optimizer and, after ``dynamic_growth_steps`` finite steps in a
row (``step_counter``), doubles the scale. compile wraps an optimizer in it automatically for ``mixed_float16``
(``keras/mixed_precision``).

>>> import tapeflow as tf
>>> opt = tf.keras.optimizers.LossScaleOptimizer(tf.keras.optimizers.SGD(0.5), initial_scale=4.0,
...                                              dynamic_growth_steps=1)
>>> w = tf.Variable([1.0])
>>> _ = opt.apply_gradients([(tf.constant([4.0]), w)])   # 4 / scale 4 = 1: w = 1 - 0.5
>>> w.numpy().tolist(), float(opt.dynamic_scale)          # one finite step: the scale doubles
([0.5], 8.0)

Why: float16 gradients underflow to zero below ~6e-8. The loss is multiplied by a large scale
(2**15 by default) before the backward pass and the gradients divided by it before the update.
When some gradient comes back non-finite the step is skipped and the scale halved; after
``dynamic_growth_steps`` good steps in a row the scale doubles again.
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor, Variable
from .base import Optimizer, _as_array


class LossScaleOptimizer(Optimizer):
    """Wrap ``inner_optimizer`` with (dynamic) loss scaling, as ``tf.keras.mixed_precision.LossScaleOptimizer``.

    ``model.compile`` wraps the optimizer automatically when the model uses ``mixed_float16``.
    ``fit``'s ``train_step`` multiplies the loss by ``loss_scale_factor`` (the current scale);
    ``apply`` checks the gradients, unscales them and calls the inner optimizer, or skips the step.

    >>> import tapeflow as tf
    >>> opt = tf.keras.mixed_precision.LossScaleOptimizer(tf.keras.optimizers.SGD(0.1), initial_scale=8.0)
    >>> w = tf.Variable([1.0])
    >>> opt.apply_gradients([(tf.constant([float("inf")]), w)])  # doctest: +ELLIPSIS
    <...>
    >>> float(opt.dynamic_scale), w.numpy().tolist()   # step skipped, scale halved
    (4.0, [1.0])
    >>> _ = opt.apply_gradients([(tf.constant([4.0]), w)])  # 4.0 / scale 4 = 1.0
    >>> round(float(w.numpy()[0]), 6)
    0.9
    """

    def __init__(self, inner_optimizer, initial_scale=2.0 ** 15, dynamic_growth_steps=2000, dynamic=True,
                 name=None, **kwargs):
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError("LossScaleOptimizer: inner_optimizer must be a tf.keras.optimizers.Optimizer, got "
                            f"{type(inner_optimizer).__name__}")
        if isinstance(inner_optimizer, LossScaleOptimizer):
            raise TypeError("LossScaleOptimizer: the inner optimizer is already a LossScaleOptimizer")
        if not float(initial_scale) > 0:
            raise ValueError(f"LossScaleOptimizer: initial_scale must be > 0, got {initial_scale!r}")
        if int(dynamic_growth_steps) < 1:
            raise ValueError(f"LossScaleOptimizer: dynamic_growth_steps must be >= 1, got {dynamic_growth_steps!r}")
        kwargs.pop("loss_scale_factor", None)
        self._inner = None
        super().__init__(learning_rate=0.0, name=name or "loss_scale_optimizer", **kwargs)
        self._inner = inner_optimizer
        self.dynamic = bool(dynamic)
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        self.use_ema = inner_optimizer.use_ema
        self._scale = self._track(Variable(np.asarray(initial_scale, np.float32), trainable=False,
                                           name=f"{self.name}/dynamic_scale"))
        self._good_steps = self._track(Variable(np.zeros((), np.int64), trainable=False,
                                                name=f"{self.name}/step_counter"))
        self.last_step_skipped = False
        self.skipped_steps = 0

    # -- delegation ---------------------------------------------------------------------------
    @property
    def inner_optimizer(self) -> Optimizer:
        return self._inner

    @property
    def learning_rate(self):
        return self._inner.learning_rate if self._inner is not None else 0.0

    @learning_rate.setter
    def learning_rate(self, value):
        if self.__dict__.get("_inner") is not None:
            self._inner.learning_rate = value

    @property
    def iterations(self):
        return self._inner.iterations

    @property
    def loss_scale_factor(self):
        """The current loss scale (read by ``train_step`` and ``scale_loss``)."""
        inner = self.__dict__.get("_inner")
        return None if inner is None else float(self._scale._value)

    @loss_scale_factor.setter
    def loss_scale_factor(self, value):
        pass  # the scale is this optimizer's own state

    @property
    def dynamic_scale(self) -> Variable:
        """The current scale (a float32 Variable)."""
        return self._scale

    @property
    def loss_scale(self) -> Tensor:  # tf.keras 2 spelling
        return Tensor._wrap(self._scale._value.copy())

    @property
    def step_counter(self) -> Variable:
        """Good steps since the scale last changed."""
        return self._good_steps

    @property
    def variables(self) -> list:
        return self._variables[1:] + self._inner.variables

    def build(self, variables) -> None:
        if not self._inner.built:
            self._inner.build(variables)
        self.built = True

    def finalize_variable_values(self, var_list=None) -> None:
        self._inner.finalize_variable_values(var_list)

    # -- scaling -----------------------------------------------------------------------------
    def scale_loss(self, loss):
        """``loss * current scale``."""
        return loss * float(self._scale._value)

    get_scaled_loss = scale_loss

    def get_unscaled_gradients(self, grads) -> list:
        """Gradients divided by the current scale (None entries kept)."""
        inv = 1.0 / float(self._scale._value)
        return [None if g is None else Tensor._wrap(_as_array(g) * np.asarray(inv, _as_array(g).dtype))
                for g in grads]

    def apply(self, grads, trainable_variables=None) -> None:
        """Unscale and apply finite gradients; on any NaN/Inf skip the step and halve the scale."""
        grads = list(grads)
        if trainable_variables is None:
            if not self._inner.built:
                raise ValueError("LossScaleOptimizer.apply: pass trainable_variables or build the optimizer first")
            trainable_variables = self._inner._trainable_variables
        variables = list(trainable_variables)
        if not self.built:
            self.build(variables)
        arrays = [None if g is None else _as_array(g) for g in grads]
        finite = all(a is None or a.dtype.kind not in "fc" or bool(np.isfinite(a).all()) for a in arrays)
        scale = float(self._scale._value)
        if finite or not self.dynamic:
            inv = 1.0 / scale
            unscaled = [None if a is None else a * np.asarray(inv, dtype=a.dtype) for a in arrays]
            self._inner.apply(unscaled, variables)
            self.last_step_skipped = False
            if self.dynamic:
                n = int(self._good_steps._value) + 1
                if n >= self.dynamic_growth_steps:
                    new = scale * 2.0
                    if np.isfinite(np.float32(new)):
                        self._scale._value[()] = new
                    n = 0
                self._good_steps._value[()] = n
        else:
            self._scale._value[()] = max(scale / 2.0, 2.0 ** -24)
            self._good_steps._value[()] = 0
            self.last_step_skipped = True
            self.skipped_steps += 1
        it = self._iterations._value
        it[()] = it[()] + 1

    # -- state and config --------------------------------------------------------------------
    def save_own_variables(self, store) -> None:
        for i, v in enumerate(self.variables):
            store[str(i)] = v.numpy()

    def load_own_variables(self, store) -> None:
        vs = self.variables
        if len(store.keys()) != len(vs):
            import warnings
            warnings.warn(f"Skipping variable loading for optimizer '{self.name}': it has {len(vs)} variables, "
                          f"the saved one {len(store.keys())}.", stacklevel=2)
            return
        for i, v in enumerate(vs):
            v.assign(store[str(i)])

    def get_weights(self) -> list:
        return [v.numpy() for v in self.variables]

    def set_weights(self, weights) -> None:
        weights = list(weights)
        vs = self.variables
        if len(weights) != len(vs):
            raise ValueError(f"set_weights: LossScaleOptimizer has {len(vs)} variables, got {len(weights)}")
        for v, w in zip(vs, weights):
            v.assign(_as_array(w))

    def get_config(self) -> dict:
        from .. import optimizers
        return {"name": self.name, "inner_optimizer": optimizers.serialize(self._inner),
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps,
                "dynamic": self.dynamic}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .. import optimizers
        config = dict(config)
        inner = config.pop("inner_optimizer")
        if isinstance(inner, dict):
            inner = optimizers.deserialize(inner, custom_objects=custom_objects)
        return cls(inner, **config)

    def __repr__(self) -> str:
        return (f"<LossScaleOptimizer inner={type(self._inner).__name__} scale={float(self._scale._value):g} "
                f"iterations={int(self._inner.iterations._value)}>")
