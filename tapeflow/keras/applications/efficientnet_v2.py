"""EfficientNetV2B0-B3/S/M/L (Tan & Le, 2021), layer for layer as ``keras.applications.efficientnet_v2``.

Input preprocessing is part of the model unless ``include_preprocessing=False`` (B0-B3: ``Rescaling(1/255)`` and
ImageNet mean/variance ``Normalization``; S/M/L: ``Rescaling(1/128, offset=-1)``), so ``preprocess_input`` is the
identity and the model expects pixels in [0, 255].
"""
from __future__ import annotations

import copy
import math

from . import imagenet_utils
from .efficientnet import CONV_KERNEL_INITIALIZER, DENSE_KERNEL_INITIALIZER, _init

_KEYS = ("kernel_size", "num_repeat", "input_filters", "output_filters", "expand_ratio", "se_ratio", "strides",
         "conv_type")
_B = ((3, 1, 32, 16, 1, 0, 1, 1), (3, 2, 16, 32, 4, 0, 2, 1), (3, 2, 32, 48, 4, 0, 2, 1),
      (3, 3, 48, 96, 4, 0.25, 2, 0), (3, 5, 96, 112, 6, 0.25, 1, 0), (3, 8, 112, 192, 6, 0.25, 2, 0))
_BLOCKS = {
    "efficientnetv2-s": ((3, 2, 24, 24, 1, 0.0, 1, 1), (3, 4, 24, 48, 4, 0.0, 2, 1), (3, 4, 48, 64, 4, 0, 2, 1),
                         (3, 6, 64, 128, 4, 0.25, 2, 0), (3, 9, 128, 160, 6, 0.25, 1, 0),
                         (3, 15, 160, 256, 6, 0.25, 2, 0)),
    "efficientnetv2-m": ((3, 3, 24, 24, 1, 0, 1, 1), (3, 5, 24, 48, 4, 0, 2, 1), (3, 5, 48, 80, 4, 0, 2, 1),
                         (3, 7, 80, 160, 4, 0.25, 2, 0), (3, 14, 160, 176, 6, 0.25, 1, 0),
                         (3, 18, 176, 304, 6, 0.25, 2, 0), (3, 5, 304, 512, 6, 0.25, 1, 0)),
    "efficientnetv2-l": ((3, 4, 32, 32, 1, 0, 1, 1), (3, 7, 32, 64, 4, 0, 2, 1), (3, 7, 64, 96, 4, 0, 2, 1),
                         (3, 10, 96, 192, 4, 0.25, 2, 0), (3, 19, 192, 224, 6, 0.25, 1, 0),
                         (3, 25, 224, 384, 6, 0.25, 2, 0), (3, 7, 384, 640, 6, 0.25, 1, 0)),
    **{f"efficientnetv2-b{i}": _B for i in range(4)},
}
DEFAULT_BLOCKS_ARGS = {k: [dict(zip(_KEYS, row)) for row in v] for k, v in _BLOCKS.items()}
_VARIANTS = {"b0": "efficientnetv2-b0", "b1": "efficientnetv2-b1", "b2": "efficientnetv2-b2",
             "b3": "efficientnetv2-b3", "-s": "efficientnetv2-s", "-m": "efficientnetv2-m", "-l": "efficientnetv2-l"}


def round_filters(filters, width_coefficient, min_depth, depth_divisor):
    """Scale ``filters`` by the width coefficient, rounded to a multiple of ``depth_divisor`` (at least
    ``min_depth``).

    >>> round_filters(32, 1.1, 8, 8)
    32
    """
    filters *= width_coefficient
    minimum_depth = min_depth or depth_divisor
    return int(max(minimum_depth, int(filters + depth_divisor / 2) // depth_divisor * depth_divisor))


def round_repeats(repeats, depth_coefficient):
    """Scale a block's repeat count by the depth coefficient, rounded up.

    >>> round_repeats(3, 1.4)
    5
    """
    return int(math.ceil(depth_coefficient * repeats))


def _bn(x, momentum, name):
    from .. import layers
    return layers.BatchNormalization(axis=3, momentum=momentum, name=name)(x)


def _se(x, filters, input_filters, se_ratio, activation, name):
    from .. import layers
    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    se = layers.Reshape((1, 1, filters), name=f"{name}se_reshape")(se)
    se = layers.Conv2D(max(1, int(input_filters * se_ratio)), 1, padding="same", activation=activation,
                       kernel_initializer=_init(CONV_KERNEL_INITIALIZER), name=f"{name}se_reduce")(se)
    se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid",
                       kernel_initializer=_init(CONV_KERNEL_INITIALIZER), name=f"{name}se_expand")(se)
    return layers.multiply([x, se], name=f"{name}se_excite")


def _residual(x, inputs, survival_probability, name):
    from .. import layers
    if survival_probability:
        x = layers.Dropout(survival_probability, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
    return layers.add([x, inputs], name=f"{name}add")


def MBConvBlock(input_filters, output_filters, expand_ratio=1, kernel_size=3, strides=1, se_ratio=0.0,
                bn_momentum=0.9, activation="swish", survival_probability=0.8, name=None):
    """An inverted residual block (1x1 expand, depthwise conv, squeeze-excite, 1x1 project); returns
    ``apply(inputs)``."""
    from .. import layers

    def apply(inputs):
        filters = input_filters * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = layers.Conv2D(filters, kernel_size=1, strides=1, kernel_initializer=_init(CONV_KERNEL_INITIALIZER),
                              padding="same", use_bias=False, name=f"{name}expand_conv")(x)
            x = _bn(x, bn_momentum, f"{name}expand_bn")
            x = layers.Activation(activation, name=f"{name}expand_activation")(x)
        x = layers.DepthwiseConv2D(kernel_size=kernel_size, strides=strides, padding="same", use_bias=False,
                                   depthwise_initializer=_init(CONV_KERNEL_INITIALIZER), name=f"{name}dwconv2")(x)
        x = _bn(x, bn_momentum, f"{name}bn")
        x = layers.Activation(activation, name=f"{name}activation")(x)
        if 0 < se_ratio <= 1:
            x = _se(x, filters, input_filters, se_ratio, activation, name)
        x = layers.Conv2D(output_filters, kernel_size=1, strides=1, kernel_initializer=_init(CONV_KERNEL_INITIALIZER),
                          padding="same", use_bias=False, name=f"{name}project_conv")(x)
        x = _bn(x, bn_momentum, f"{name}project_bn")
        if strides == 1 and input_filters == output_filters:
            x = _residual(x, inputs, survival_probability, name)
        return x
    return apply


def FusedMBConvBlock(input_filters, output_filters, expand_ratio=1, kernel_size=3, strides=1, se_ratio=0.0,
                     bn_momentum=0.9, activation="swish", survival_probability=0.8, name=None):
    """A fused inverted residual block (one kxk expand conv in place of 1x1 + depthwise); returns
    ``apply(inputs)``."""
    from .. import layers

    def apply(inputs):
        filters = input_filters * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = layers.Conv2D(filters, kernel_size=kernel_size, strides=strides,
                              kernel_initializer=_init(CONV_KERNEL_INITIALIZER), padding="same", use_bias=False,
                              name=f"{name}expand_conv")(x)
            x = _bn(x, bn_momentum, f"{name}expand_bn")
            x = layers.Activation(activation=activation, name=f"{name}expand_activation")(x)
        if 0 < se_ratio <= 1:
            x = _se(x, filters, input_filters, se_ratio, activation, name)
        fused = expand_ratio == 1      # the projection is the block's only (kxk, strided) conv
        x = layers.Conv2D(output_filters, kernel_size=kernel_size if fused else 1, strides=strides if fused else 1,
                          kernel_initializer=_init(CONV_KERNEL_INITIALIZER), padding="same", use_bias=False,
                          name=f"{name}project_conv")(x)
        x = _bn(x, bn_momentum, f"{name}project_bn")
        if expand_ratio == 1:
            x = layers.Activation(activation=activation, name=f"{name}project_activation")(x)
        if strides == 1 and input_filters == output_filters:
            x = _residual(x, inputs, survival_probability, name)
        return x
    return apply


def EfficientNetV2(width_coefficient, depth_coefficient, default_size, dropout_rate=0.2, drop_connect_rate=0.2,
                   depth_divisor=8, min_depth=8, bn_momentum=0.9, activation="swish", blocks_args="default",
                   name="efficientnetv2", include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                   pooling=None, classes=1000, classifier_activation="softmax", include_preprocessing=True,
                   weights_name=None):
    """The EfficientNetV2 builder: width/depth scaling of a block list (``blocks_args="default"`` takes the list
    of the variant named by ``name``, e.g. ``"efficientnetv2-b0"``, or else by ``weights_name``)."""
    from .. import initializers, layers
    from ..models import Functional
    variant = name if name in DEFAULT_BLOCKS_ARGS else _VARIANTS.get(weights_name)
    if blocks_args == "default":
        if variant is None:
            raise ValueError(f"EfficientNetV2: blocks_args='default' needs name= one of {sorted(DEFAULT_BLOCKS_ARGS)}"
                             f" (or a known weights_name); received name={name!r}, weights_name={weights_name!r}")
        blocks_args = DEFAULT_BLOCKS_ARGS[variant]
    imagenet_utils.check_weights(weights, include_top, classes, name)
    imagenet_utils.require_channels_last(name)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format="channels_last", require_flatten=include_top,
                                                    weights=weights)
    img_input, inputs = imagenet_utils.model_input(input_tensor, input_shape)
    x = img_input
    if include_preprocessing:
        if (variant or name).split("-")[-1].startswith("b") and input_shape[2] == 3:
            x = layers.Rescaling(scale=1.0 / 255)(x)
            x = layers.Normalization(mean=[0.485, 0.456, 0.406], variance=[0.229 ** 2, 0.224 ** 2, 0.225 ** 2],
                                     axis=3)(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)

    def filters_of(n):
        return round_filters(n, width_coefficient, min_depth, depth_divisor)

    x = layers.Conv2D(filters_of(blocks_args[0]["input_filters"]), kernel_size=3, strides=2,
                      kernel_initializer=_init(CONV_KERNEL_INITIALIZER), padding="same", use_bias=False,
                      name="stem_conv")(x)
    x = _bn(x, bn_momentum, "stem_bn")
    x = layers.Activation(activation, name="stem_activation")(x)
    blocks_args = copy.deepcopy(blocks_args)
    b, blocks = 0, float(sum(args["num_repeat"] for args in blocks_args))
    for i, args in enumerate(blocks_args):
        if args["num_repeat"] <= 0:
            raise ValueError(f"The number of repeats in `EfficientNetV2` must be > 0. "
                             f"Received: num_repeat={args['num_repeat']}")
        args["input_filters"] = filters_of(args["input_filters"])
        args["output_filters"] = filters_of(args["output_filters"])
        block = {0: MBConvBlock, 1: FusedMBConvBlock}[args.pop("conv_type")]
        for j in range(round_repeats(args.pop("num_repeat"), depth_coefficient)):
            if j > 0:
                args["strides"] = 1
                args["input_filters"] = args["output_filters"]
            rate = drop_connect_rate * b / blocks
            x = block(activation=activation, bn_momentum=bn_momentum, survival_probability=rate,
                      name=f"block{i + 1}{chr(j + 97)}_", **args)(x)
            b += 1
    x = layers.Conv2D(filters_of(1280), kernel_size=1, strides=1, kernel_initializer=_init(CONV_KERNEL_INITIALIZER),
                      padding="same", use_bias=False, name="top_conv")(x)
    x = _bn(x, bn_momentum, "top_bn")
    x = layers.Activation(activation=activation, name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, kernel_initializer=_init(DENSE_KERNEL_INITIALIZER),
                         bias_initializer=initializers.Constant(0.0), name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = Functional(inputs, x, name=name)
    return imagenet_utils.load_weights(model, weights)


def _variant(width, depth, size, weights_name):
    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
              classifier_activation="softmax", include_preprocessing=True, name=None):
        return EfficientNetV2(width, depth, size, name=name or _VARIANTS[weights_name], include_top=include_top,
                              weights=weights, input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                              classes=classes, classifier_activation=classifier_activation,
                              include_preprocessing=include_preprocessing, weights_name=weights_name)
    return build


def EfficientNetV2B0(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                     classes=1000, classifier_activation="softmax", include_preprocessing=True,
                     name="efficientnetv2-b0"):
    """Instantiate EfficientNetV2B0 (default input 224x224x3, pixels in [0, 255]; at least 32x32)."""
    return _variant(1.0, 1.0, 224, "b0")(include_top, weights, input_tensor, input_shape, pooling, classes,
                                         classifier_activation, include_preprocessing, name)


def EfficientNetV2B1(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                     classes=1000, classifier_activation="softmax", include_preprocessing=True,
                     name="efficientnetv2-b1"):
    """Instantiate EfficientNetV2B1 (depth x1.1; default input 240x240x3, pixels in [0, 255]).

    >>> import tapeflow as tf
    >>> EfficientNetV2B1(weights=None, include_top=False, include_preprocessing=False, input_shape=(32, 32, 3)
    ...                  ).count_params()
    6931124
    """
    return _variant(1.0, 1.1, 240, "b1")(include_top, weights, input_tensor, input_shape, pooling, classes,
                                         classifier_activation, include_preprocessing, name)


def EfficientNetV2B2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                     classes=1000, classifier_activation="softmax", include_preprocessing=True,
                     name="efficientnetv2-b2"):
    """Instantiate EfficientNetV2B2 (width x1.1, depth x1.2; default input 260x260x3, pixels in [0, 255])."""
    return _variant(1.1, 1.2, 260, "b2")(include_top, weights, input_tensor, input_shape, pooling, classes,
                                         classifier_activation, include_preprocessing, name)


def EfficientNetV2B3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                     classes=1000, classifier_activation="softmax", include_preprocessing=True,
                     name="efficientnetv2-b3"):
    """Instantiate EfficientNetV2B3 (width x1.2, depth x1.4; default input 300x300x3, pixels in [0, 255])."""
    return _variant(1.2, 1.4, 300, "b3")(include_top, weights, input_tensor, input_shape, pooling, classes,
                                         classifier_activation, include_preprocessing, name)


def EfficientNetV2S(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                    classes=1000, classifier_activation="softmax", include_preprocessing=True,
                    name="efficientnetv2-s"):
    """Instantiate EfficientNetV2S (default input 384x384x3, pixels in [0, 255])."""
    return _variant(1.0, 1.0, 384, "-s")(include_top, weights, input_tensor, input_shape, pooling, classes,
                                         classifier_activation, include_preprocessing, name)


def EfficientNetV2M(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                    classes=1000, classifier_activation="softmax", include_preprocessing=True,
                    name="efficientnetv2-m"):
    """Instantiate EfficientNetV2M (default input 480x480x3, pixels in [0, 255])."""
    return _variant(1.0, 1.0, 480, "-m")(include_top, weights, input_tensor, input_shape, pooling, classes,
                                         classifier_activation, include_preprocessing, name)


def EfficientNetV2L(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                    classes=1000, classifier_activation="softmax", include_preprocessing=True,
                    name="efficientnetv2-l"):
    """Instantiate EfficientNetV2L (default input 480x480x3, pixels in [0, 255])."""
    return _variant(1.0, 1.0, 480, "-l")(include_top, weights, input_tensor, input_shape, pooling, classes,
                                         classifier_activation, include_preprocessing, name)


def preprocess_input(x, data_format=None):
    """The identity (kept for API parity): EfficientNetV2's preprocessing is inside the model.

    >>> preprocess_input([1.0, 2.0])
    [1.0, 2.0]
    """
    return x


def decode_predictions(preds, top=5):
    """Decode ImageNet predictions (see ``imagenet_utils.decode_predictions``; needs a local class index)."""
    return imagenet_utils.decode_predictions(preds, top=top)
