"""Core layers: Dense, Activation, Flatten, Reshape, Dropout, InputLayer/Input, Identity, Lambda."""
from __future__ import annotations

import inspect

import numpy as np

from ...ops import array_ops as A
from ...ops import dense_ops
from ...ops import math_ops as M
from ...ops import nn_ops as N
from .. import activations, constraints, initializers, regularizers
from .. import backend as K
from .base import Layer
from .input_spec import InputSpec
from .layer_utils import mark_shape_preserving
from .quantized_dense import DenseQuantization


class Dense(DenseQuantization, Layer):
    """Densely connected layer: ``activation(inputs @ kernel + bias)``.

    The kernel has shape ``(input_dim, units)``; weights are ``[kernel, bias]``. Inputs of rank
    > 2 are contracted on their last axis. ``quantize("int8" | "int4")`` turns the kernel into integers
    (see ``quantized_dense.py``); ``quantization_config`` rebuilds a quantized layer from its config.

    >>> import tapeflow as tf
    >>> layer = tf.keras.layers.Dense(4, activation="relu")
    >>> layer(tf.ones((2, 3))).shape.as_list(), [w.shape.as_list() for w in layer.weights]
    ([2, 4], [[3, 4], [4]])
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, quantization_config=None,
                 **kwargs):
        lora_rank = kwargs.pop("lora_rank", None)
        kwargs.pop("lora_alpha", None)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if lora_rank:
            self.enable_lora(lora_rank)
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True
        self._linear = self.activation is activations.linear
        self._set_quantization_config(quantization_config)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f'Layer "{self.name}": the last dimension of the inputs must be known, '
                             f"got input shape {tuple(input_shape)}")
        if self.quantization_mode is not None:  # rebuilt from a quantized config: Keras's integer variables
            self._quantized_build(self.quantization_mode, self.quantization_config, (input_dim, self.units))
        else:
            self.kernel = self.add_weight(shape=(input_dim, self.units), initializer=self.kernel_initializer,
                                          regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                          name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.input_spec = InputSpec(min_ndim=2, axes={-1: int(input_dim)})
        self.built = True

    def call(self, inputs):
        kernel = self.kernel
        bias = self.bias
        if (bias is not None and inputs._value.ndim == 2 and kernel._value.dtype == inputs._value.dtype
                and bias._value.dtype == inputs._value.dtype):
            # the hot path: one fused primitive for matmul + bias (+ relu); see ops/dense_ops.py
            act = self.activation
            relu = act is activations.relu
            y = dense_ops.dense(inputs, kernel, bias, relu=relu)
            return y if relu or act is activations.linear else act(y)
        if kernel._value.dtype != inputs._value.dtype:
            kernel = self._read(kernel)
        if inputs._value.ndim == 2:
            y = M.matmul(inputs, kernel)
        else:
            lead = inputs._value.shape[:-1]
            y = A.reshape(M.matmul(A.reshape(inputs, (-1, inputs._value.shape[-1])), kernel),
                          lead + (self.units,))
        if self.bias is not None:
            y = M.add(y, self.bias if self.bias._value.dtype == y._value.dtype else self._read(self.bias))
        return y if self._linear else self.activation(y)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        })
        return self._quantization_entries(config)


Dense._quantizable_class = Dense  # quantize() refuses subclasses, as Keras's type_check

class Activation(Layer):
    """Apply an activation function (name or callable).

    >>> import tapeflow as tf
    >>> tf.keras.layers.Activation("relu")(tf.constant([[-1.0, 1.0]])).numpy().tolist()
    [[0.0, 1.0]]
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)
        if getattr(self.activation, "__module__", None) != activations.__name__ or self.activation is activations.glu:
            self._shape_preserving_call = None  # a user's function (or glu) may change the shape

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class Identity(Layer):
    """Return the input unchanged (a placeholder in a model)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


class Flatten(Layer):
    """Flatten every axis but the batch axis: ``(batch, ...)`` -> ``(batch, prod(...))``.

    >>> import tapeflow as tf
    >>> tf.keras.layers.Flatten()(tf.ones((2, 3, 4))).shape.as_list()
    [2, 12]
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = K.standardize_data_format(data_format)
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        x = inputs
        if self.data_format == "channels_first" and x._value.ndim > 2:
            x = A.transpose(x, perm=(0,) + tuple(range(2, x._value.ndim)) + (1,))
        return A.reshape(x, (x._value.shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        n = None if any(d is None for d in rest) else int(np.prod(rest, dtype=np.int64))
        return (input_shape[0], n)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class Reshape(Layer):
    """Reshape to ``(batch,) + target_shape``; one entry of ``target_shape`` may be -1.

    >>> import tapeflow as tf
    >>> tf.keras.layers.Reshape((3, -1))(tf.ones((2, 12))).shape.as_list()
    [2, 3, 4]
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in target_shape) > 1 or any(d < -1 or d == 0 for d in target_shape):
            raise ValueError(f"Reshape: target_shape may hold positive sizes and at most one -1, got {target_shape}")
        self.target_shape = target_shape

    def _resolve(self, rest):
        if -1 not in self.target_shape or any(d is None for d in rest):
            return self.target_shape if -1 not in self.target_shape else tuple(
                None if d == -1 else d for d in self.target_shape)
        total = int(np.prod(rest, dtype=np.int64))
        known = int(np.prod([d for d in self.target_shape if d != -1], dtype=np.int64))
        if total % known:
            raise ValueError(f'Layer "{self.name}": cannot reshape inputs of shape (batch,) + {tuple(rest)} '
                             f"({total} values per sample) to target_shape {self.target_shape}")
        return tuple(total // known if d == -1 else d for d in self.target_shape)

    def call(self, inputs):
        rest = inputs._value.shape[1:]
        target = self._resolve(rest)
        if int(np.prod(target, dtype=np.int64)) != int(np.prod(rest, dtype=np.int64)):
            raise ValueError(f'Layer "{self.name}": cannot reshape inputs of shape {inputs._value.shape} '
                             f"to (batch,) + {self.target_shape}")
        return A.reshape(inputs, (inputs._value.shape[0],) + target)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(tuple(input_shape[1:]))

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config


class Dropout(Layer):
    """Randomly zero a fraction ``rate`` of the inputs during training and scale the rest by
    ``1 / (1 - rate)``; the identity when ``training`` is falsy.

    >>> import tapeflow as tf
    >>> x = tf.ones((2, 4))
    >>> bool((tf.keras.layers.Dropout(0.5)(x, training=False).numpy() == 1.0).all())
    True
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        rate = float(rate)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"Dropout: rate must be a number in [0, 1], got {rate}")
        self.rate = rate
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        if self.rate == 1.0:
            return M.multiply(inputs, 0.0)
        return N.dropout(inputs, self.rate, noise_shape=self.noise_shape, seed=self.seed)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": None if self.noise_shape is None
                       else list(self.noise_shape), "seed": self.seed})
        return config


class InputLayer(Layer):
    """The entry point of a functional model; its ``output`` is a symbolic KerasTensor.

    >>> import tapeflow as tf
    >>> tf.keras.layers.InputLayer(shape=(3,)).output.shape.as_list()
    [None, 3]
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, **kwargs):
        from ..models.keras_tensor import KerasTensor, Node
        input_shape = kwargs.pop("input_shape", None)
        legacy_batch = kwargs.pop("batch_input_shape", None)
        if kwargs.pop("ragged", False):
            raise NotImplementedError("InputLayer: ragged=True needs ragged tensors, which tapeflow does not have; "
                                      "pad the sequences (keras.utils.pad_sequences) and mask them (mask_zero=True "
                                      "or a Masking layer)")
        if shape is None:
            shape = input_shape
        if batch_shape is None:
            batch_shape = legacy_batch
        super().__init__(name=name, dtype=dtype, **kwargs)
        if input_tensor is not None:
            if not isinstance(input_tensor, KerasTensor):
                raise ValueError(f"InputLayer: input_tensor must be a KerasTensor, got {type(input_tensor).__name__}")
            batch_shape = tuple(input_tensor.shape)
        if shape is not None and batch_shape is not None:
            raise ValueError("InputLayer: pass either shape= or batch_shape=, not both")
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer: a shape= (without the batch axis) or batch_shape= is required")
            shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
            batch_shape = (batch_size,) + shape
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.sparse = bool(sparse)
        self.optional = optional
        self.built = True
        if input_tensor is None:
            input_tensor = KerasTensor(self.batch_shape, dtype=self._compute_dtype, sparse=self.sparse,
                                       name=self.name)
        self._input_tensor = input_tensor
        Node(self, (), {}, input_tensor)

    @property
    def dtype(self):
        return self._compute_dtype.name

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self._compute_dtype.name,
                "sparse": self.sparse, "ragged": False, "name": self.name, "optional": bool(self.optional)}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, ragged=None, batch_shape=None, name=None,
          tensor=None, optional=False):
    """A symbolic input for the functional API, as ``keras.Input``.

    >>> import tapeflow as tf
    >>> x = tf.keras.Input(shape=(784,), name="pixels")
    >>> x.shape.as_list(), x.name
    ([None, 784], 'pixels')
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, batch_shape=batch_shape,
                       name=name, input_tensor=tensor, optional=optional, ragged=ragged)
    return layer.output


class Lambda(Layer):
    """Wrap a function as a layer: ``Lambda(lambda x: x * 2)``.

    Its config holds only the function's name: rebuilding it from a config needs the function in
    ``custom_objects`` (or registered), since code is never loaded from a file.

    >>> import tapeflow as tf
    >>> tf.keras.layers.Lambda(lambda x: x * 2.0)(tf.constant([[1.0]])).numpy().tolist()
    [[2.0]]
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: function must be callable, got {function!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape
        self._mask = mask
        self.supports_masking = mask is not None
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):
            params = {}
        varkw = any(p.kind == p.VAR_KEYWORD for p in params.values())
        self._fn_mask = "mask" in params or varkw
        self._fn_training = "training" in params or varkw

    def call(self, inputs, mask=None, training=None):
        kw = dict(self.arguments)
        if self._fn_mask and mask is not None:
            kw["mask"] = mask
        if self._fn_training and training is not None:
            kw["training"] = training
        return self.function(inputs, **kw)

    def compute_mask(self, inputs, mask=None):
        if callable(self._mask):
            return self._mask(inputs, mask)
        return self._mask

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        return (input_shape[0],) + tuple(self._output_shape)

    def get_config(self):
        from .._serialization import get_registered_name
        config = Layer.get_config(self)
        config.update({"function": get_registered_name(self.function), "arguments": self.arguments,
                       "output_shape": None if self._output_shape is None or callable(self._output_shape)
                       else list(self._output_shape)})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .. import activations as acts
        from .._serialization import get_registered_object
        config = dict(config)
        name = config.pop("function")
        fn = get_registered_object(name, custom_objects) if isinstance(name, str) else None
        if fn is None and isinstance(name, str) and name in acts._NAMES:
            fn = acts._NAMES[name]
        if fn is None:
            raise ValueError(
                f"Lambda layer {config.get('name')!r}: cannot restore its function {name!r}: pass it in "
                f"custom_objects={{{name!r}: fn}} or register it with @keras.saving.register_keras_serializable(). "
                "(Code is never loaded from a model file.)")
        return cls(fn, **config)


mark_shape_preserving(Activation, Dropout)
