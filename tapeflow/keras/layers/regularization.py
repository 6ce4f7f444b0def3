"""Regularization layers: noise and dropout variants, activity regularization, DropConnect and
stochastic depth.

Every random draw comes from ``tapeflow.backend.rng`` (so ``tf.random.set_seed`` makes a run
repeatable; a layer ``seed`` picks its own stream) and every layer is the identity when not
training. ``Dropout`` itself lives in ``core.py``.
"""
from __future__ import annotations

import math

import numpy as np

from ...backend import rng
from ...ops import array_ops as A
from ...ops import math_ops as M
from ...ops import nn_ops as N
from ...ops.registry import const
from .. import regularizers
from .. import backend as K
from .base import Layer
from .core import Dense
from .layer_utils import mark_shape_preserving

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _rate(value, layer: str, upper_open: bool = False) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0 or (upper_open and value == 1.0):
        raise ValueError(f"{layer}: rate must be a number in [0, 1{')' if upper_open else ']'}, got {value}")
    return value


class _Identity(Layer):
    """A layer whose output has the input's shape (and mask)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_output_shape(self, input_shape):
        return input_shape


class _SpatialDropout(_Identity):
    rank = 2

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate(rate, type(self).__name__)
        self.seed = seed
        self.data_format = K.standardize_data_format(data_format)

    def _noise_shape(self, shape):
        if self.data_format == "channels_first":
            return (shape[0], shape[1]) + (1,) * self.rank
        return (shape[0],) + (1,) * self.rank + (shape[-1],)

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        if self.rate == 1.0:
            return M.multiply(inputs, 0.0)
        nd = inputs._value.ndim
        if nd != self.rank + 2:
            raise ValueError(f'Layer "{self.name}" expects rank-{self.rank + 2} inputs, got shape {inputs._value.shape}')
        return N.dropout(inputs, self.rate, noise_shape=self._noise_shape(inputs._value.shape), seed=self.seed)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        if self.rank > 1:
            config["data_format"] = self.data_format
        config.pop("trainable", None)  # Keras's SpatialDropout takes no trainable= (it refused tapeflow's configs)
        return config


class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole feature maps: one draw per (sample, channel) of ``(batch, steps, channels)``.

    >>> import tapeflow as tf
    >>> y = tf.keras.layers.SpatialDropout1D(0.5)(tf.ones((2, 4, 3)), training=True).numpy()
    >>> bool((y == y[:, :1]).all())  # a channel is kept or dropped at every step
    True
    """

    rank = 1

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, data_format="channels_last", seed=seed, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole feature maps of ``(batch, rows, cols, channels)`` inputs.

    >>> import tapeflow as tf
    >>> y = tf.keras.layers.SpatialDropout2D(0.5)(tf.ones((2, 3, 3, 4)), training=True).numpy()
    >>> bool((y == y[:, :1, :1]).all())
    True
    """

    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Dropout of whole feature maps of rank-5 inputs."""

    rank = 3


class AlphaDropout(_Identity):
    """Dropout that keeps SELU's zero mean and unit variance (Keras's formula).

    A dropped unit is set to ``-alpha * scale`` (SELU's negative saturation), then the output is
    ``a * x + b`` with ``a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5``, ``b = -a * alpha_p * rate``.

    >>> import tapeflow as tf
    >>> tf.random.set_seed(0)
    >>> y = tf.keras.layers.AlphaDropout(0.2)(tf.random.normal((20000,)), training=True).numpy()
    >>> abs(float(y.mean())) < 0.05 and abs(float(y.std()) - 1) < 0.05
    True
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate(rate, "AlphaDropout")
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0 or self.rate == 1.0:
            return inputs
        shape = inputs._value.shape if self.noise_shape is None else tuple(
            inputs._value.shape[i] if s is None else int(s) for i, s in enumerate(self.noise_shape))
        keep = (rng.generator(self.seed).random(shape, dtype=np.float32) >= self.rate).astype(inputs._value.dtype)
        alpha_p = -SELU_ALPHA * SELU_SCALE
        r = self.rate
        a = ((1.0 - r) * (1.0 + r * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * r
        # a * (x * keep + alpha_p * (1 - keep)) + b, with the constant part folded into one array
        return M.add(M.multiply(inputs, const(a * keep, inputs)), const(a * alpha_p * (1.0 - keep) + b, inputs))

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed,
                       "noise_shape": None if self.noise_shape is None else list(self.noise_shape)})
        return config


class GaussianNoise(_Identity):
    """Add zero-mean Gaussian noise of standard deviation ``stddev`` while training.

    >>> import tapeflow as tf
    >>> layer = tf.keras.layers.GaussianNoise(0.1)
    >>> bool((layer(tf.ones((2, 3)), training=False).numpy() == 1).all())
    True
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = float(stddev)
        if self.stddev < 0:
            raise ValueError(f"GaussianNoise: stddev must be >= 0, got {stddev}")
        self.seed = seed

    def call(self, inputs, training=False):
        if not training or self.stddev == 0.0:
            return inputs
        noise = rng.generator(self.seed).standard_normal(inputs._value.shape, dtype=np.float64) * self.stddev
        return M.add(inputs, const(noise, inputs))

    def get_config(self):
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config


class GaussianDropout(_Identity):
    """Multiply by Gaussian noise of mean 1 and standard deviation ``sqrt(rate / (1 - rate))`` while training.

    >>> import tapeflow as tf
    >>> tf.random.set_seed(0)
    >>> y = tf.keras.layers.GaussianDropout(0.5)(tf.ones((20000,)), training=True).numpy()
    >>> round(float(y.mean()), 1), round(float(y.std()), 1)
    (1.0, 1.0)
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate(rate, "GaussianDropout", upper_open=True)
        self.seed = seed

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        std = math.sqrt(self.rate / (1.0 - self.rate))
        noise = 1.0 + std * rng.generator(self.seed).standard_normal(inputs._value.shape, dtype=np.float64)
        return M.multiply(inputs, const(noise, inputs))

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config


class ActivityRegularization(_Identity):
    """Identity that adds ``l1 * sum(|x|) + l2 * sum(x**2)`` of its output to the model's losses.

    >>> import tapeflow as tf
    >>> layer = tf.keras.layers.ActivityRegularization(l1=0.5)
    >>> _ = layer(tf.constant([[1.0, -2.0]]))
    >>> [float(v) for v in layer.losses]
    [1.5]
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = float(l1), float(l2)

    def call(self, inputs):
        return inputs

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        config.update({"l1": self.l1, "l2": self.l2})
        return config


class DropConnectDense(Dense):
    """A ``Dense`` layer with DropConnect (Wan et al., 2013): while training, each kernel entry is
    zeroed with probability ``drop_rate`` and the kept ones scaled by ``1 / (1 - drop_rate)``.

    One kernel mask is drawn per call (shared by the batch, so the matmul stays one BLAS call);
    the bias is not dropped. At inference the layer is exactly ``Dense`` (the inverted scaling
    keeps the expected pre-activation unchanged). Weights ``[kernel, bias]`` as ``Dense``.

    >>> import tapeflow as tf
    >>> layer = tf.keras.layers.DropConnectDense(4, drop_rate=0.5)
    >>> layer(tf.ones((2, 3)), training=True).shape.as_list(), [w.name for w in layer.weights]
    ([2, 4], ['kernel', 'bias'])
    """

    def __init__(self, units, drop_rate=0.5, seed=None, **kwargs):
        super().__init__(units, **kwargs)
        self.drop_rate = _rate(drop_rate, "DropConnectDense", upper_open=True)
        self.seed = seed

    def call(self, inputs, training=False):
        if not training or self.drop_rate == 0.0:
            return super().call(inputs)
        kernel = N.dropout(self._read(self.kernel), self.drop_rate, seed=self.seed)
        x = inputs
        if x._value.ndim == 2:
            y = M.matmul(x, kernel)
        else:
            lead = x._value.shape[:-1]
            y = A.reshape(M.matmul(A.reshape(x, (-1, x._value.shape[-1])), kernel), lead + (self.units,))
        if self.bias is not None:
            y = M.add(y, self._read(self.bias))
        return y if self._linear else self.activation(y)

    def get_config(self):
        config = super().get_config()
        config.update({"drop_rate": self.drop_rate, "seed": self.seed})
        return config


class StochasticDepth(Layer):
    """Stochastic depth (Huang et al., 2016): drop a residual branch per sample while training.

    Called on the residual branch ``r`` it returns ``r * keep / (1 - rate)`` with ``keep`` one
    Bernoulli(1 - rate) draw per sample (``mode="row"``) or per batch (``mode="batch"``), exactly
    torchvision's ``stochastic_depth``; called on ``[shortcut, r]`` it returns ``shortcut`` plus
    that. At inference it is the identity (``shortcut + r``), since the scaling already keeps the
    expectation. ``survival_probability`` may be given instead of ``rate`` (= 1 - rate).
    Keras has no such layer; the name follows TensorFlow Addons.

    >>> import tapeflow as tf
    >>> tf.random.set_seed(1)
    >>> y = tf.keras.layers.StochasticDepth(0.5)(tf.ones((6, 2)), training=True).numpy()
    >>> sorted(set(y.ravel().tolist()))  # each row is dropped (0) or kept and scaled (2)
    [0.0, 2.0]
    """

    def __init__(self, rate=0.5, mode="row", seed=None, survival_probability=None, **kwargs):
        super().__init__(**kwargs)
        if survival_probability is not None:
            rate = 1.0 - float(survival_probability)
        self.rate = _rate(rate, "StochasticDepth")
        if mode not in ("row", "batch"):
            raise ValueError(f"StochasticDepth: mode must be 'row' or 'batch', got {mode!r}")
        self.mode = mode
        self.seed = seed
        self.supports_masking = True

    def _drop(self, x, training):
        if not training or self.rate == 0.0:
            return x
        if self.rate == 1.0:
            return M.multiply(x, 0.0)
        shape = (x._value.shape[0],) + (1,) * (x._value.ndim - 1) if self.mode == "row" else (1,) * x._value.ndim
        keep = rng.generator(self.seed).random(shape) >= self.rate
        return M.multiply(x, const(keep / (1.0 - self.rate), x))

    def call(self, inputs, training=False):
        if isinstance(inputs, (list, tuple)):
            if len(inputs) != 2:
                raise ValueError(f'Layer "{self.name}" takes a residual tensor or a list [shortcut, residual], '
                                 f"got a list of {len(inputs)}")
            return M.add(inputs[0], self._drop(inputs[1], training))
        return self._drop(inputs, training)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0], (list, tuple)):
            return tuple(input_shape[0])
        return tuple(input_shape)

    def compute_mask(self, inputs, mask=None):
        return mask[0] if isinstance(mask, (list, tuple)) else mask

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "mode": self.mode, "seed": self.seed})
        return config


__all__ = ["SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "AlphaDropout", "GaussianNoise",
           "GaussianDropout", "ActivityRegularization", "DropConnectDense", "StochasticDepth"]


mark_shape_preserving(SpatialDropout1D, SpatialDropout2D, SpatialDropout3D, AlphaDropout, GaussianNoise, GaussianDropout,
                      ActivityRegularization)
