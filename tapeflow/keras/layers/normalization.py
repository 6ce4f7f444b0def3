"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization, RMSNormalization (Keras 3).

Training-mode batch norm, layer norm and group norm run the fused primitive
``tapeflow.ops.norm_ops.fused_normalize`` (one forward pass for moments + affine, a closed-form
backward). Inference-mode batch norm is an affine map with the moving statistics.
"""
from __future__ import annotations

import warnings

import numpy as np

from ...ops import array_ops as A
from ...ops import math_ops as M
from ...ops import reduce_ops as R
from ...ops.norm_ops import fused_normalize
from ...ops.registry import const
from .. import constraints, initializers, regularizers
from .. import backend as K
from .base import Layer
from .input_spec import InputSpec
from .layer_utils import mark_shape_preserving


def _param_config(layer) -> dict:
    return {
        "beta_initializer": initializers.serialize(layer.beta_initializer),
        "gamma_initializer": initializers.serialize(layer.gamma_initializer),
        "beta_regularizer": regularizers.serialize(layer.beta_regularizer),
        "gamma_regularizer": regularizers.serialize(layer.gamma_regularizer),
        "beta_constraint": constraints.serialize(layer.beta_constraint),
        "gamma_constraint": constraints.serialize(layer.gamma_constraint),
    }


class _AffineNorm(Layer):
    """gamma/beta bookkeeping shared by the three layers."""

    def _init_affine(self, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                     gamma_regularizer, beta_constraint, gamma_constraint):
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def _add_affine(self, shape, with_beta=True):
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                                         name="gamma")
        if self.center and with_beta:
            self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                                        name="beta")

    def _affine_params(self, bshape, dtype):
        """gamma and beta reshaped to broadcast against the input (constants 1 / 0 when absent)."""
        def shaped(v, fill):
            if v is None:
                return np.asarray(fill, dtype=dtype)
            t = self._read(v)
            nd = t._value.ndim
            if tuple(t._value.shape) == tuple(bshape[len(bshape) - nd:]) and _trailing(bshape, nd):
                return t  # plain broadcasting lines it up
            return A.reshape(t, bshape)
        return shaped(self.gamma, 1.0), shaped(self.beta, 0.0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


def _trailing(bshape, nd) -> bool:
    """True when only the last ``nd`` entries of ``bshape`` may differ from 1 (plain broadcasting works)."""
    return all(d == 1 for d in bshape[:len(bshape) - nd])


class BatchNormalization(_AffineNorm):
    """Normalize with batch statistics in training and moving statistics in inference, as Keras 3.

    In training (``training=True`` and the layer trainable) it uses the batch mean and biased
    variance over every axis but ``axis`` and updates
    ``moving = moving * momentum + batch * (1 - momentum)``. Otherwise, and always for a frozen
    layer (``trainable=False``), it uses the moving statistics. Weights:
    ``[gamma, beta, moving_mean, moving_variance]`` (the last two non-trainable).

    ``renorm=True`` is batch renormalization (Ioffe, 2017) as Keras 3: in training the normalized batch is
    corrected to ``xhat * r + d`` with ``r = batch_stddev / renorm_stddev`` and
    ``d = (batch_mean - renorm_mean) / renorm_stddev`` (clipped by ``renorm_clipping``'s ``rmin``, ``rmax``,
    ``dmax``; no gradient through them), the renorm statistics follow ``renorm_momentum`` and the moving
    variance follows a moving stddev. It adds the non-trainable ``[moving_stddev, renorm_mean, renorm_stddev]``
    after the four weights; inference is unchanged.

    >>> import tapeflow as tf
    >>> bn = tf.keras.layers.BatchNormalization()
    >>> y = bn(tf.constant([[0.0], [2.0]]), training=True)
    >>> [round(v, 4) for v in y.numpy().ravel().tolist()], bn.moving_mean.numpy().tolist()
    ([-0.9995, 0.9995], [0.009999999776482582])
    >>> rn = tf.keras.layers.BatchNormalization(renorm=True, renorm_clipping={"rmax": 3.0})
    >>> _ = rn(tf.constant([[0.0], [2.0]]), training=True)
    >>> [w.name for w in rn.weights][4:], rn.renorm_mean.numpy().tolist()
    (['moving_stddev', 'renorm_mean', 'renorm_stddev'], [0.009999999776482582])
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 renorm=False, renorm_clipping=None, renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        self.renorm = bool(renorm)
        if self.renorm:
            renorm_clipping = _check_renorm_clipping(self.name, renorm_clipping)
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise ValueError(f"BatchNormalization: axis must be a single int, got {axis!r}")
            axis = axis[0]
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.synchronized = bool(synchronized)
        self._init_affine(epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                          gamma_regularizer, beta_constraint, gamma_constraint)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def build(self, input_shape):
        nd = len(input_shape)
        if not -nd <= self.axis < nd:
            raise ValueError(f'Layer "{self.name}": axis {self.axis} is out of range for inputs of shape '
                             f"{tuple(input_shape)}")
        ax = self.axis % nd
        dim = input_shape[ax]
        if dim is None:
            raise ValueError(f'Layer "{self.name}": the normalized axis {self.axis} of the inputs must be known, '
                             f"got input shape {tuple(input_shape)}")
        shape = (int(dim),)
        self._add_affine(shape)
        self.moving_mean = self.add_weight(shape=shape, initializer=self.moving_mean_initializer,
                                           trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape=shape, initializer=self.moving_variance_initializer,
                                               trainable=False, name="moving_variance")
        if self.renorm:  # Keras's order and names; the stddevs start at sqrt(moving_variance_initializer)
            def stddev_init(shape, dtype=None):
                v = self.moving_variance_initializer(shape, dtype=dtype)
                return np.sqrt(np.asarray(getattr(v, "_value", v), dtype=dtype))
            self.moving_stddev = self.add_weight(shape=shape, initializer=stddev_init, trainable=False,
                                                 name="moving_stddev")
            self.renorm_mean = self.add_weight(shape=shape, initializer=self.moving_mean_initializer,
                                               trainable=False, name="renorm_mean")
            self.renorm_stddev = self.add_weight(shape=shape, initializer=stddev_init, trainable=False,
                                                 name="renorm_stddev")
        self.input_spec = InputSpec(ndim=nd, axes={self.axis: int(dim)})
        self._ax = ax
        self._reduction_axes = tuple(i for i in range(nd) if i != ax)
        self._bshape = tuple(int(dim) if i == ax else 1 for i in range(nd))
        self.built = True

    def call(self, inputs, training=None, mask=None):
        dt = inputs._value.dtype
        gamma, beta = self._affine_params(self._bshape, dt)
        if training and self.trainable:
            if self.renorm:
                return self._renorm_train(inputs, mask, gamma, beta)
            if mask is None:
                y, mean, var = fused_normalize(inputs, gamma, beta, axes=self._reduction_axes, epsilon=self.epsilon)
            else:
                y, mean, var = self._masked(inputs, mask, gamma, beta)
            m = self.momentum
            mean = np.reshape(mean, self.moving_mean.shape)
            var = np.reshape(var, self.moving_variance.shape)
            self.moving_mean.assign(self.moving_mean._value * m + mean * (1.0 - m))
            self.moving_variance.assign(self.moving_variance._value * m + var * (1.0 - m))
            return y
        mm = A.reshape(self._read(self.moving_mean), self._bshape)
        mv = A.reshape(self._read(self.moving_variance), self._bshape)
        inv = M.rsqrt(M.add(mv, self.epsilon))
        mult = M.multiply(inv, gamma)
        shift = M.subtract(beta, M.multiply(mm, mult))
        if self._ax == inputs._value.ndim - 1:  # (C,) vectors broadcast without the leading 1s
            mult = A.reshape(mult, (-1,))
            shift = A.reshape(shift, (-1,))
        return M.add(M.multiply(inputs, mult), shift)

    def _renorm_train(self, inputs, mask, gamma, beta):
        """Batch renormalization (Ioffe, 2017) as Keras 3: ``xhat * (r * gamma) + (d * gamma + beta)`` with the batch
        moments in ``xhat`` (differentiated) and the corrections ``r``, ``d`` held constant (stop-gradient)."""
        one, zero = np.ones((), inputs._value.dtype), np.zeros((), inputs._value.dtype)
        if mask is None:
            xhat, mean, var = fused_normalize(inputs, one, zero, axes=self._reduction_axes, epsilon=self.epsilon)
        else:
            xhat, mean, var = self._masked(inputs, mask, one, zero)
        shape = self.moving_mean.shape
        mean, var = np.reshape(mean, shape), np.reshape(var, shape)
        r, d = self._renorm_correction(mean, var)
        self._update_renorm_statistics(mean, var)
        bshape = (-1,) if self._ax == inputs._value.ndim - 1 else self._bshape
        r = np.reshape(r, bshape).astype(inputs._value.dtype)
        d = np.reshape(d, bshape).astype(inputs._value.dtype)
        if self.gamma is None:
            return M.add(M.add(M.multiply(xhat, r), d), beta)
        gamma = A.reshape(gamma, bshape)
        return M.add(M.multiply(xhat, M.multiply(gamma, r)), M.add(M.multiply(gamma, d), beta))

    def _renorm_correction(self, mean, var):
        """``(r, d)`` (NumPy) from the batch moments and the renorm statistics before this step, clipped by
        ``renorm_clipping``'s ``rmin``/``rmax``/``dmax``."""
        stddev = np.sqrt(var + self.epsilon)
        renorm_stddev = np.maximum(self.renorm_stddev._value, np.sqrt(np.asarray(self.epsilon, var.dtype)))
        r = stddev / renorm_stddev
        d = (mean - self.renorm_mean._value) / renorm_stddev
        clip = self.renorm_clipping
        if clip.get("rmin") is not None:
            r = np.maximum(r, clip["rmin"])
        if clip.get("rmax") is not None:
            r = np.minimum(r, clip["rmax"])
        if clip.get("dmax") is not None:
            d = np.clip(d, -clip["dmax"], clip["dmax"])
        return r.astype(var.dtype, copy=False), d.astype(var.dtype, copy=False)

    def _update_renorm_statistics(self, mean, var):
        """Keras's updates: renorm mean/stddev with ``renorm_momentum``; moving mean/stddev with ``momentum``; the
        moving variance follows the moving stddev (``relu(stddev**2 - epsilon)``)."""
        stddev = np.sqrt(var + self.epsilon)
        rm, m = self.renorm_momentum, self.momentum

        def ema(v, new, mom):
            return (v._value * mom + new * (1.0 - mom)).astype(v._value.dtype, copy=False)
        self.renorm_mean.assign(ema(self.renorm_mean, mean, rm))
        self.renorm_stddev.assign(ema(self.renorm_stddev, stddev, rm))
        self.moving_mean.assign(ema(self.moving_mean, mean, m))
        moving_stddev = ema(self.moving_stddev, stddev, m)
        self.moving_stddev.assign(moving_stddev)
        self.moving_variance.assign(np.maximum(moving_stddev * moving_stddev - self.epsilon, 0.0).astype(
            moving_stddev.dtype, copy=False))

    def _masked(self, inputs, mask, gamma, beta):
        """Training-mode batch norm whose moments count only the unmasked positions (Keras's rule)."""
        mask = mask if hasattr(mask, "_value") else const(np.asarray(mask))
        if mask._value.ndim != inputs._value.ndim - 1:
            raise ValueError(f'Layer "{self.name}": the mask must have one dimension less than the inputs, got '
                             f"mask.shape={mask._value.shape}, inputs.shape={inputs._value.shape}")
        w = A.cast(A.expand_dims(mask, -1), inputs.dtype)
        axes = self._reduction_axes
        count = M.add(R.reduce_sum(M.multiply(A.ones_like(inputs), w), axis=axes, keepdims=True), K.epsilon())
        mean = M.divide(R.reduce_sum(M.multiply(inputs, w), axis=axes, keepdims=True), count)
        diff = M.multiply(M.subtract(inputs, mean), w)
        var = M.divide(R.reduce_sum(M.square(diff), axis=axes, keepdims=True), count)
        y = M.add(M.multiply(M.multiply(M.subtract(inputs, mean), M.rsqrt(M.add(var, self.epsilon))), gamma), beta)
        return y, mean._value, var._value

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon, "center": self.center,
                       "scale": self.scale, "synchronized": self.synchronized,
                       "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                       "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer)})
        config.update(_param_config(self))
        config.update({"renorm": self.renorm, "renorm_clipping": self.renorm_clipping,
                       "renorm_momentum": self.renorm_momentum})
        return config


def _check_renorm_clipping(layer_name, clipping):
    """Keras's checks of ``renorm_clipping`` (a dict with keys among rmax, rmin, dmax); ``None`` -> ``{}``."""
    clipping = {} if clipping is None else clipping
    if not isinstance(clipping, dict):
        raise TypeError(f'Layer "{layer_name}": `renorm_clipping` must be None or a dict with keys among '
                        f"['rmax', 'rmin', 'dmax'], got {clipping!r}")
    if set(clipping) - {"rmax", "rmin", "dmax"}:
        raise ValueError(f'Layer "{layer_name}": received invalid keys for `renorm_clipping`: '
                         f"{sorted(set(clipping) - {'rmax', 'rmin', 'dmax'})}; supported keys: ['rmax', 'rmin', "
                         f"'dmax']. Received: renorm_clipping={clipping!r}")
    rmax, rmin, dmax = clipping.get("rmax"), clipping.get("rmin"), clipping.get("dmax")
    if rmax is not None and rmin is not None and rmax < rmin:
        raise ValueError(f'Layer "{layer_name}": `renorm_clipping` needs rmax >= rmin, got rmax={rmax}, '
                         f"rmin={rmin}; swap them or drop one")
    if dmax is not None and dmax < 0:
        raise ValueError(f'Layer "{layer_name}": `renorm_clipping` needs dmax >= 0, got dmax={dmax}')
    return clipping


class LayerNormalization(_AffineNorm):
    """Normalize each sample over ``axis`` (default the last), then scale by gamma and shift by beta.

    gamma and beta have shape ``input_shape[axis]`` (one entry per normalized axis); ``epsilon``
    defaults to Keras's 1e-3 (torch's LayerNorm uses 1e-5). ``rms_scaling=True`` is Keras's deprecated
    variant ``x / sqrt(var + epsilon) * gamma``: no centring, gamma only (even with ``scale=False``).

    >>> import tapeflow as tf
    >>> ln = tf.keras.layers.LayerNormalization(epsilon=0.0)
    >>> ln(tf.constant([[1.0, 3.0]])).numpy().tolist(), [w.name for w in ln.weights]
    ([[-1.0, 1.0]], ['gamma', 'beta'])
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = [int(a) for a in axis]
        elif isinstance(axis, (int, np.integer)):
            self.axis = int(axis)
        else:
            raise TypeError(f"LayerNormalization: axis must be an int or a list/tuple of ints, got {axis!r}")
        self.rms_scaling = bool(rms_scaling)
        if self.rms_scaling:
            warnings.warn(f'Layer "{self.name}": rms_scaling=True is deprecated in Keras 3 (it divides by the '
                          "standard deviation, not the root mean square); keras.layers.RMSNormalization is true "
                          "RMS normalization", UserWarning, stacklevel=2)
        self._init_affine(epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                          gamma_regularizer, beta_constraint, gamma_constraint)

    def build(self, input_shape):
        nd = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        if any(not -nd <= a < nd for a in axes):
            raise ValueError(f'Layer "{self.name}": axis {self.axis} is out of range for inputs of shape '
                             f"{tuple(input_shape)}")
        self._axes = tuple(sorted(a % nd for a in axes))
        shape = tuple(input_shape[a] for a in self._axes)
        if any(d is None for d in shape):
            raise ValueError(f'Layer "{self.name}": the normalized axes of the inputs must be known, got input '
                             f"shape {tuple(input_shape)}")
        self._bshape = tuple(input_shape[i] if i in self._axes else 1 for i in range(nd))
        if self.rms_scaling:  # Keras's deprecated variant: gamma only, x / sqrt(var + eps)
            self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                                         name="gamma")
            self.beta = None
        else:
            self._add_affine(shape)
        self.built = True

    def call(self, inputs):
        gamma, beta = self._affine_params(self._bshape, inputs._value.dtype)
        if self.rms_scaling:
            var = R.reduce_variance(inputs, axis=self._axes, keepdims=True)
            return M.multiply(M.multiply(inputs, M.rsqrt(M.add(var, self.epsilon))), gamma)
        return fused_normalize(inputs, gamma, beta, axes=self._axes, epsilon=self.epsilon)[0]

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis, "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                       "rms_scaling": self.rms_scaling})
        config.update(_param_config(self))
        return config


class GroupNormalization(_AffineNorm):
    """Split the channels into ``groups`` and normalize each sample over (spatial axes, channels of a group).

    ``groups=channels`` is instance normalization, ``groups=1`` layer normalization over all but
    the batch axis. Weights ``[gamma (C,), beta (C,)]``.

    >>> import tapeflow as tf
    >>> gn = tf.keras.layers.GroupNormalization(groups=2)
    >>> gn(tf.ones((2, 5, 5, 4))).shape.as_list(), [w.shape.as_list() for w in gn.weights]
    ([2, 5, 5, 4], [[4], [4]])
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.groups = int(groups)
        self.axis = int(axis)
        self._init_affine(epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                          gamma_regularizer, beta_constraint, gamma_constraint)

    def build(self, input_shape):
        nd = len(input_shape)
        ax = self.axis % nd
        dim = input_shape[ax]
        if dim is None:
            raise ValueError(f'Layer "{self.name}": axis {self.axis} of the inputs must be known, got input shape '
                             f"{tuple(input_shape)}")
        if self.groups == -1:
            self.groups = int(dim)
        if self.groups < 1 or self.groups > dim or dim % self.groups:
            raise ValueError(f'Layer "{self.name}": the channel count ({dim}) must be a multiple of groups '
                             f"({self.groups}) and groups may not exceed it")
        self._ax = ax
        self._add_affine((int(dim),))
        self.input_spec = InputSpec(ndim=nd, axes={self.axis: int(dim)})
        self.built = True

    def call(self, inputs):
        shape = inputs._value.shape
        ax, g = self._ax, self.groups
        gshape = shape[:ax] + (g, shape[ax] // g) + shape[ax + 1:]
        bshape = tuple(1 for _ in range(ax)) + (g, shape[ax] // g) + tuple(1 for _ in shape[ax + 1:])
        gamma, beta = self._affine_params(bshape, inputs._value.dtype)
        axes = tuple(i for i in range(1, len(gshape)) if i != ax)
        y = fused_normalize(A.reshape(inputs, gshape), gamma, beta, axes=axes, epsilon=self.epsilon)[0]
        return A.reshape(y, shape)

    def get_config(self):
        config = super().get_config()
        config.update({"groups": self.groups, "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                       "scale": self.scale})
        config.update(_param_config(self))
        return config


class RMSNormalization(Layer):
    """RMSNorm (Zhang & Sennrich, 2019): ``x * rsqrt(mean(x^2 over axis) + epsilon) * scale``, as Keras 3's layer:
    no centring, one weight ``scale`` (ones) over the normalized axes, ``epsilon`` 1e-6.

    >>> import tapeflow as tf
    >>> norm = tf.keras.layers.RMSNormalization(epsilon=0.0)
    >>> [round(float(v), 4) for v in norm(tf.constant([[3.0, 4.0]]))[0]], [w.name for w in norm.weights]
    ([0.8485, 1.1314], ['scale'])
    """

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, (int, np.integer, list, tuple)) or isinstance(axis, bool):
            raise TypeError(f'Layer "{self.name}": axis must be an int or a list/tuple of ints, got {axis!r}')
        self.axis = [int(a) for a in axis] if isinstance(axis, (list, tuple)) else int(axis)
        self.epsilon = float(epsilon)
        self.supports_masking = True

    def build(self, input_shape):
        nd = len(input_shape)
        axes = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        if any(not -nd <= a < nd for a in axes):
            raise ValueError(f'Layer "{self.name}": axis {self.axis} is out of bounds for input shape '
                             f"{tuple(input_shape)}")
        shape = tuple(input_shape[a] for a in axes)
        if any(d is None for d in shape):
            raise ValueError(f'Layer "{self.name}": the normalized axes of the inputs must be known, got input '
                             f"shape {tuple(input_shape)}")
        self._axes = axes
        self.scale = self.add_weight(name="scale", shape=shape, initializer="ones")
        self.built = True

    def call(self, inputs):
        from ..ops.nn import rms_normalization
        return rms_normalization(inputs, scale=self._read(self.scale), axis=self._axes, epsilon=self.epsilon)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis, "epsilon": self.epsilon})
        return config


__all__ = ["BatchNormalization", "LayerNormalization", "GroupNormalization", "RMSNormalization"]


mark_shape_preserving(BatchNormalization, LayerNormalization, GroupNormalization, RMSNormalization)
