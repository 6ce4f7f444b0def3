"""Activation layers: ReLU, Softmax, LeakyReLU, ELU, PReLU."""
from __future__ import annotations

from ...ops import array_ops as A
from ...ops import math_ops as M
from .. import activations, constraints, initializers, regularizers
from .base import Layer
from .input_spec import InputSpec
from .layer_utils import mark_shape_preserving


class ReLU(Layer):
    """Rectified linear unit layer, with Keras's ``max_value``, ``negative_slope`` and ``threshold``.

    >>> import tapeflow as tf
    >>> tf.keras.layers.ReLU(max_value=1.0)(tf.constant([[-1.0, 0.5, 3.0]])).numpy().tolist()
    [[0.0, 0.5, 1.0]]
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError(f"ReLU: max_value must be >= 0, got {max_value}")
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"ReLU: negative_slope must be >= 0, got {negative_slope}")
        if threshold is None or threshold < 0:
            raise ValueError(f"ReLU: threshold must be >= 0, got {threshold}")
        self.max_value, self.negative_slope, self.threshold = max_value, float(negative_slope), float(threshold)
        self.supports_masking = True

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config


class Softmax(Layer):
    """Softmax along ``axis``; masked positions (mask False) get probability 0.

    >>> import tapeflow as tf
    >>> tf.keras.layers.Softmax()(tf.constant([[0.0, 0.0]])).numpy().tolist()
    [[0.5, 0.5]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:
            penalty = M.multiply(M.subtract(1.0, A.cast(mask, inputs.dtype)), -1e9)
            inputs = M.add(inputs, penalty)
        if isinstance(self.axis, (list, tuple)):
            from ...ops import reduce_ops as R
            lse = R.reduce_logsumexp(inputs, axis=self.axis, keepdims=True)
            return M.exp(M.subtract(inputs, lse))
        return activations.softmax(inputs, axis=self.axis)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["axis"] = list(self.axis) if isinstance(self.axis, tuple) else self.axis
        return config


class LeakyReLU(Layer):
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise (Keras 3 layer default 0.3)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"LeakyReLU: negative_slope must be >= 0, got {negative_slope}")
        self.negative_slope = float(negative_slope)
        self.supports_masking = True

    def call(self, inputs):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


class ELU(Layer):
    """Exponential linear unit layer: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)
        self.supports_masking = True

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class PReLU(Layer):
    """Parametric ReLU: ``x`` for ``x >= 0``, ``alpha * x`` otherwise, with a learned ``alpha`` of shape
    ``input_shape[1:]`` (size 1 along ``shared_axes``)."""

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = tuple(shared_axes)
        else:
            self.shared_axes = (shared_axes,)

    def build(self, input_shape):
        shape = list(input_shape[1:])
        if self.shared_axes is not None:
            for i in self.shared_axes:
                shape[i - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(f'Layer "{self.name}": all non-batch input dims must be known (or shared), '
                             f"got input shape {tuple(input_shape)}")
        self.alpha = self.add_weight(shape=tuple(shape), name="alpha", initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        axes = {}
        if self.shared_axes:
            for i in range(1, len(input_shape)):
                if i not in self.shared_axes:
                    axes[i] = input_shape[i]
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)

    def call(self, inputs):
        from ...ops import nn_ops as N
        pos = N.relu(inputs)
        neg = M.multiply(M.negative(self.alpha), N.relu(M.negative(inputs)))
        return M.add(pos, neg)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"alpha_initializer": initializers.serialize(self.alpha_initializer),
                       "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                       "alpha_constraint": constraints.serialize(self.alpha_constraint),
                       "shared_axes": None if self.shared_axes is None else list(self.shared_axes)})
        return config


mark_shape_preserving(ReLU, Softmax, LeakyReLU, ELU, PReLU)
