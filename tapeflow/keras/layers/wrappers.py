"""Layer wrappers: the Wrapper base class, Bidirectional (an RNN run both ways), TimeDistributed (a layer per
step) and SpectralNormalization."""
from __future__ import annotations

import numpy as np

from ...ops import array_ops as A
from ...ops import math_ops as M
from .. import initializers
from .base import Layer

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _clone(layer, name, **overrides):
    from . import deserialize, serialize
    config = serialize(layer)
    config.pop("build_config", None)
    config["config"].update(name=name, **overrides)
    return deserialize(config)


def _inner_config(layer) -> dict:
    """A wrapped layer's serialized config, without its build state (the wrapper rebuilds it)."""
    from . import serialize
    inner = serialize(layer)
    inner.pop("build_config", None)
    return inner


def _with_inner(config, custom_objects, *keys):
    """``config`` with the wrapped layers under ``keys`` (default ``"layer"``) deserialized."""
    from . import deserialize
    config = dict(config)
    for key in keys or ("layer",):
        if config.get(key) is not None:
            config[key] = deserialize(config[key], custom_objects=custom_objects)
    return config


class Wrapper(Layer):
    """Base class of layers that take another layer and augment it (TimeDistributed, SpectralNormalization), as
    ``keras.layers.Wrapper``: keeps it as ``self.layer``, builds it on the wrapper's input shape, and serializes it
    under ``"layer"``. Subclasses write ``call``.

    >>> import tapeflow as tf
    >>> class Doubled(tf.keras.layers.Wrapper):
    ...     def call(self, x):
    ...         return 2.0 * self.layer(x)
    >>> Doubled(tf.keras.layers.Dense(3, kernel_initializer="ones"))(tf.ones((1, 2))).numpy().tolist()
    [[4.0, 4.0, 4.0]]
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"{type(self).__name__}: expected a Layer to wrap, got {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer._build_from_shapes(tuple(input_shape))
        self.built = True

    def get_config(self):
        return {**super().get_config(), "layer": _inner_config(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return super().from_config(_with_inner(config, custom_objects), custom_objects)


class Bidirectional(Layer):
    """Run a recurrent layer forwards and a copy of it backwards, then merge the two outputs.

    ``merge_mode`` is ``'concat'`` (default), ``'sum'``, ``'mul'``, ``'ave'`` or ``None`` (a list of
    both outputs). Weights: the forward layer's, then the backward layer's. With
    ``return_state=True`` the result is ``[output(s)..., *forward_states, *backward_states]``.

    >>> import tapeflow as tf
    >>> bi = tf.keras.layers.Bidirectional(tf.keras.layers.LSTM(4, return_sequences=True))
    >>> bi(tf.ones((2, 5, 3))).shape.as_list()
    [2, 5, 8]
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer) or not hasattr(layer, "go_backwards"):
            raise ValueError(f"Bidirectional: expected a recurrent layer (with go_backwards), got {layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {_MERGE_MODES}, got {merge_mode!r}")
        base = layer.name[len("forward_"):] if layer.name.startswith("forward_") else layer.name
        self.forward_layer = _clone(layer, "forward_" + base)
        if backward_layer is None:
            self.backward_layer = _clone(layer, "backward_" + base, go_backwards=not layer.go_backwards)
        else:
            self.backward_layer = backward_layer
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ValueError("Bidirectional: the forward and backward layers must have different go_backwards")
        for a in ("return_sequences", "return_state"):
            if getattr(self.forward_layer, a) != getattr(self.backward_layer, a):
                raise ValueError(f"Bidirectional: forward and backward layers disagree on {a}")
        for sub in (self.forward_layer, self.backward_layer):
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = self.forward_layer.return_sequences
        self.return_state = self.forward_layer.return_state
        self.supports_masking = True
        self._initial_weights = weights if weights is not None else self._initial_weights

    def build(self, input_shape):
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub._build_from_shapes(tuple(input_shape))
        self.built = True

    def _merge(self, y, yb):
        if self.merge_mode == "concat":
            return A.concat([y, yb], axis=-1)
        if self.merge_mode == "sum":
            return M.add(y, yb)
        if self.merge_mode == "ave":
            return M.multiply(M.add(y, yb), 0.5)
        if self.merge_mode == "mul":
            return M.multiply(y, yb)
        return [y, yb]

    def call(self, sequences, initial_state=None, mask=None, training=None):
        fwd_state = bwd_state = None
        if initial_state is not None:
            states = list(initial_state)
            half = len(states) // 2
            fwd_state, bwd_state = states[:half], states[half:]
        y = self.forward_layer(sequences, initial_state=fwd_state, mask=mask, training=training)
        yb = self.backward_layer(sequences, initial_state=bwd_state, mask=mask, training=training)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(yb[1:])
            y, yb = y[0], yb[0]
        if self.return_sequences:
            yb = A.reverse(yb, [1])
        out = self._merge(y, yb)
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + states
        return out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        outs = [out, out] if self.merge_mode is None else [out]
        if self.return_state:
            n = len(self.forward_layer._state_sizes) * 2
            return outs + [None] * n
        return outs if self.merge_mode is None else out

    def get_config(self):
        config = super().get_config()
        config["layer"] = _inner_config(self.forward_layer)
        config["layer"]["config"]["name"] = self.forward_layer.name[len("forward_"):]
        config["merge_mode"] = self.merge_mode
        config["backward_layer"] = _inner_config(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return super().from_config(_with_inner(config, custom_objects, "layer", "backward_layer"), custom_objects)


class TimeDistributed(Wrapper):
    """Apply ``layer`` to every time step of ``(batch, timesteps, ...)`` inputs (one call on the
    batch and time axes folded together; weights are shared across steps).

    >>> import tapeflow as tf
    >>> td = tf.keras.layers.TimeDistributed(tf.keras.layers.Dense(4))
    >>> td(tf.ones((2, 5, 3))).shape.as_list()
    [2, 5, 4]
    """

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f'Layer "{self.name}": TimeDistributed needs inputs of rank >= 3 (batch, time, ...), '
                             f"got shape {tuple(input_shape)}")
        if not self.layer.built:
            self.layer._build_from_shapes((None,) + tuple(input_shape[2:]))
        self.built = True

    def call(self, inputs, training=None, mask=None):
        shape = inputs._value.shape
        if len(shape) < 3:
            raise ValueError(f'Layer "{self.name}": TimeDistributed needs inputs of rank >= 3, got shape {shape}')
        b, t = shape[0], shape[1]
        y = self.layer(A.reshape(inputs, (b * t,) + shape[2:]), training=training)
        return A.reshape(y, (b, t) + tuple(y._value.shape[1:]))

    def compute_mask(self, inputs, mask=None):
        return mask


class SpectralNormalization(Wrapper):
    """Spectral normalization of a layer's ``kernel`` (or ``embeddings``), as
    ``keras.layers.SpectralNormalization``: in each training call, ``power_iterations`` steps of the power
    method refine the non-trainable ``vector_u`` estimate of the kernel's top singular vector (the kernel
    reshaped to ``(-1, out)``), and the kernel variable itself is overwritten with ``kernel / sigma``
    before the wrapped layer runs. As in Keras, the division is not differentiated: gradients reach the
    normalized kernel variable directly. An all-zero kernel is left alone.

    >>> import numpy as np, tapeflow as tf
    >>> sn = tf.keras.layers.SpectralNormalization(tf.keras.layers.Dense(3), power_iterations=30)
    >>> _ = sn(np.ones((2, 4), "float32"), training=True)
    >>> round(float(np.linalg.svd(sn.layer.kernel.numpy(), compute_uv=False)[0]), 2)
    1.0
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if not isinstance(power_iterations, int) or power_iterations <= 0:
            raise ValueError(f"SpectralNormalization '{self.name}': power_iterations must be a positive integer, "
                             f"got {power_iterations!r}")
        self.power_iterations = power_iterations

    def build(self, input_shape):
        if not self.layer.built:
            self.layer._build_from_shapes(tuple(input_shape))
        kernel = getattr(self.layer, "kernel", None)
        kernel = getattr(self.layer, "embeddings", None) if kernel is None else kernel
        if kernel is None:
            raise ValueError(f"SpectralNormalization '{self.name}': {type(self.layer).__name__} has no 'kernel' nor "
                             "'embeddings' to normalize")
        self.kernel = kernel
        self.vector_u = self.add_weight(name="vector_u", shape=(1, kernel.shape[-1]), trainable=False,
                                        initializer=initializers.TruncatedNormal(stddev=0.02), dtype=kernel.dtype)
        self.built = True

    def _normalized(self):
        """(new u, kernel / sigma) by the power method on the kernel as a (-1, out) matrix."""
        kernel = self.kernel.numpy()
        w = kernel.reshape(-1, kernel.shape[-1])
        u = self.vector_u.numpy()
        eps = 1e-7
        for _ in range(self.power_iterations):
            v = u @ w.T
            v = v / max(float(np.linalg.norm(v)), eps)
            u = v @ w
            u = u / max(float(np.linalg.norm(u)), eps)
        sigma = (v @ w) @ u.T
        return u, (kernel / sigma).reshape(kernel.shape)

    def call(self, inputs, training=None):
        if training and np.any(self.kernel.numpy() != 0):
            u, kernel = self._normalized()
            self.vector_u.assign(u)
            self.kernel.assign(kernel)
        return self.layer(inputs, training=training)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}


__all__ = ["Wrapper", "Bidirectional", "TimeDistributed", "SpectralNormalization"]
