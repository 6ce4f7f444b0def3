"""ConvNeXtTiny/Small/Base/Large/XLarge (Liu et al., 2022), layer for layer as ``keras.applications.convnext``.

Input preprocessing (ImageNet mean/variance ``Normalization`` of [0, 255] pixels) is part of the model unless
``include_preprocessing=False``, so ``preprocess_input`` is the identity. As in Keras, ``LayerScale`` and
``StochasticDepth`` are not registered for deserialization: pass them as ``custom_objects`` to load a saved model.
"""
from __future__ import annotations

import numpy as np

from . import imagenet_utils
from ..layers import Layer

MODEL_CONFIGS = {
    "tiny": {"depths": [3, 3, 9, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "small": {"depths": [3, 3, 27, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "base": {"depths": [3, 3, 27, 3], "projection_dims": [128, 256, 512, 1024], "default_size": 224},
    "large": {"depths": [3, 3, 27, 3], "projection_dims": [192, 384, 768, 1536], "default_size": 224},
    "xlarge": {"depths": [3, 3, 27, 3], "projection_dims": [256, 512, 1024, 2048], "default_size": 224},
}


class StochasticDepth(Layer):
    """Drop the residual branch per sample with probability ``drop_path_rate`` while training (scaling the kept
    ones by ``1 / (1 - drop_path_rate)``); the identity at inference.

    >>> import numpy as np
    >>> StochasticDepth(0.5)(np.ones((2, 3), "float32")).numpy().tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    def __init__(self, drop_path_rate, **kwargs):
        super().__init__(**kwargs)
        self.drop_path_rate = drop_path_rate

    def call(self, x, training=None):
        if not training:
            return x
        from .. import ops, random
        keep_prob = 1 - self.drop_path_rate
        shape = (ops.shape(x)[0],) + (1,) * (len(ops.shape(x)) - 1)
        random_tensor = ops.floor(keep_prob + random.uniform(shape, 0, 1))
        return (x / keep_prob) * random_tensor

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"drop_path_rate": self.drop_path_rate})
        return config


class LayerScale(Layer):
    """Multiply the input by a learned per-channel ``gamma`` (shape ``(projection_dim,)``, initialized to
    ``init_values``).

    >>> import numpy as np
    >>> LayerScale(0.5, 2)(np.ones((1, 2), "float32")).numpy().tolist()
    [[0.5, 0.5]]
    """

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape):
        from .. import backend, initializers
        # Keras leaves this weight unnamed, so it gets the session's next auto name: variable, variable_1, ...
        self.gamma = self.add_weight(shape=(self.projection_dim,), initializer=initializers.Constant(self.init_values),
                                     trainable=True, name=backend.unique_object_name("variable"))
        super().build(input_shape)

    def call(self, x):
        return x * self.gamma

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"init_values": self.init_values, "projection_dim": self.projection_dim})
        return config


def ConvNeXtBlock(projection_dim, drop_path_rate=0.0, layer_scale_init_value=1e-6, name=None):
    """A ConvNeXt block: 7x7 depthwise conv, LayerNorm, 4x inverted-bottleneck Dense pair with GELU, LayerScale,
    stochastic depth (or an identity), added to the input; returns ``apply(inputs)``."""
    from .. import layers

    def apply(inputs):
        x = layers.Conv2D(filters=projection_dim, kernel_size=7, padding="same", groups=projection_dim,
                          name=f"{name}_depthwise_conv")(inputs)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_layernorm")(x)
        x = layers.Dense(4 * projection_dim, name=f"{name}_pointwise_conv_1")(x)
        x = layers.Activation("gelu", name=f"{name}_gelu")(x)
        x = layers.Dense(projection_dim, name=f"{name}_pointwise_conv_2")(x)
        if layer_scale_init_value is not None:
            x = LayerScale(layer_scale_init_value, projection_dim, name=f"{name}_layer_scale")(x)
        if drop_path_rate:
            layer = StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")
        else:
            layer = layers.Activation("linear", name=f"{name}_identity")
        return inputs + layer(x)
    return apply


def PreStem(name=None):
    """The in-model preprocessing: ImageNet mean/variance ``Normalization`` of [0, 255] pixels."""
    from .. import layers

    def apply(x):
        return layers.Normalization(mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
                                    variance=[(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2],
                                    name=f"{name}_prestem_normalization")(x)
    return apply


def Head(num_classes=1000, classifier_activation=None, name=None):
    """The classification head: global average pooling, LayerNorm, Dense."""
    from .. import layers

    def apply(x):
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_head_layernorm")(x)
        return layers.Dense(num_classes, activation=classifier_activation, name=f"{name}_head_dense")(x)
    return apply


def ConvNeXt(depths, projection_dims, drop_path_rate=0.0, layer_scale_init_value=1e-6, default_size=224,
             name="convnext", include_preprocessing=True, include_top=True, weights=None, input_tensor=None,
             input_shape=None, pooling=None, classes=1000, classifier_activation="softmax", weights_name=None):
    """The ConvNeXt builder: a patchify stem and 3 downsampling blocks (nested ``Sequential`` models, as in
    Keras), ``depths[i]`` ConvNeXt blocks of width ``projection_dims[i]`` per stage, and the head."""
    from .. import layers
    from ..models import Functional, Sequential
    imagenet_utils.check_weights(weights, include_top, classes, name)
    imagenet_utils.require_channels_last(name)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format="channels_last", require_flatten=include_top,
                                                    weights=weights)
    img_input, inputs = imagenet_utils.model_input(input_tensor, input_shape)
    if isinstance(inputs, list):
        inputs = inputs[0]
    x = img_input
    if include_preprocessing and input_shape[2] == 3:
        x = PreStem(name=name)(x)
    stem = Sequential([layers.Conv2D(projection_dims[0], kernel_size=4, strides=4, name=f"{name}_stem_conv"),
                       layers.LayerNormalization(epsilon=1e-6, name=f"{name}_stem_layernorm")],
                      name=f"{name}_stem")
    downsample_layers = [stem]
    for i in range(3):
        downsample_layers.append(Sequential(
            [layers.LayerNormalization(epsilon=1e-6, name=f"{name}_downsampling_layernorm_{i}"),
             layers.Conv2D(projection_dims[i + 1], kernel_size=2, strides=2, name=f"{name}_downsampling_conv_{i}")],
            name=f"{name}_downsampling_block_{i}"))
    depth_drop_rates = [float(r) for r in np.linspace(0.0, drop_path_rate, sum(depths))]
    cur = 0
    for i in range(4):
        x = downsample_layers[i](x)
        for j in range(depths[i]):
            x = ConvNeXtBlock(projection_dim=projection_dims[i], drop_path_rate=depth_drop_rates[cur + j],
                              layer_scale_init_value=layer_scale_init_value, name=f"{name}_stage_{i}_block_{j}")(x)
        cur += depths[i]
    if include_top:
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = Head(num_classes=classes, classifier_activation=classifier_activation, name=name)(x)
    else:
        if pooling == "avg":
            x = layers.GlobalAveragePooling2D()(x)
        elif pooling == "max":
            x = layers.GlobalMaxPooling2D()(x)
        x = layers.LayerNormalization(epsilon=1e-6)(x)
    model = Functional(inputs=inputs, outputs=x, name=name)
    return imagenet_utils.load_weights(model, weights)


def _variant(size, name, **kwargs):
    cfg = MODEL_CONFIGS[size]
    return ConvNeXt(depths=cfg["depths"], projection_dims=cfg["projection_dims"], drop_path_rate=0.0,
                    layer_scale_init_value=1e-6, default_size=cfg["default_size"], name=name,
                    weights_name=f"convnext_{size}", **kwargs)


def ConvNeXtTiny(include_top=True, include_preprocessing=True, weights="imagenet", input_tensor=None,
                 input_shape=None, pooling=None, classes=1000, classifier_activation="softmax", name="convnext_tiny"):
    """Instantiate ConvNeXtTiny (stages 3-3-9-3, widths 96-768; default input 224x224x3, pixels in [0, 255]).

    >>> import tapeflow as tf
    >>> model = ConvNeXtTiny(weights=None, include_top=False, include_preprocessing=False, input_shape=(32, 32, 3))
    >>> model.count_params()
    27820128
    """
    return _variant("tiny", name, include_top=include_top, include_preprocessing=include_preprocessing,
                    weights=weights, input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                    classes=classes, classifier_activation=classifier_activation)


def ConvNeXtSmall(include_top=True, include_preprocessing=True, weights="imagenet", input_tensor=None,
                  input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
                  name="convnext_small"):
    """Instantiate ConvNeXtSmall (stages 3-3-27-3, widths 96-768; default input 224x224x3, pixels in [0, 255])."""
    return _variant("small", name, include_top=include_top, include_preprocessing=include_preprocessing,
                    weights=weights, input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                    classes=classes, classifier_activation=classifier_activation)


def ConvNeXtBase(include_top=True, include_preprocessing=True, weights="imagenet", input_tensor=None,
                 input_shape=None, pooling=None, classes=1000, classifier_activation="softmax", name="convnext_base"):
    """Instantiate ConvNeXtBase (stages 3-3-27-3, widths 128-1024; default input 224x224x3, pixels in [0, 255])."""
    return _variant("base", name, include_top=include_top, include_preprocessing=include_preprocessing,
                    weights=weights, input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                    classes=classes, classifier_activation=classifier_activation)


def ConvNeXtLarge(include_top=True, include_preprocessing=True, weights="imagenet", input_tensor=None,
                  input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
                  name="convnext_large"):
    """Instantiate ConvNeXtLarge (stages 3-3-27-3, widths 192-1536; default input 224x224x3, pixels in [0, 255])."""
    return _variant("large", name, include_top=include_top, include_preprocessing=include_preprocessing,
                    weights=weights, input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                    classes=classes, classifier_activation=classifier_activation)


def ConvNeXtXLarge(include_top=True, include_preprocessing=True, weights="imagenet", input_tensor=None,
                   input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
                   name="convnext_xlarge"):
    """Instantiate ConvNeXtXLarge (stages 3-3-27-3, widths 256-2048; default input 224x224x3, pixels in
    [0, 255])."""
    return _variant("xlarge", name, include_top=include_top, include_preprocessing=include_preprocessing,
                    weights=weights, input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                    classes=classes, classifier_activation=classifier_activation)


def preprocess_input(x, data_format=None):
    """The identity (kept for API parity): ConvNeXt's preprocessing is inside the model.

    >>> preprocess_input([1.0, 2.0])
    [1.0, 2.0]
    """
    return x


def decode_predictions(preds, top=5):
    """Decode ImageNet predictions (see ``imagenet_utils.decode_predictions``; needs a local class index)."""
    return imagenet_utils.decode_predictions(preds, top=top)
