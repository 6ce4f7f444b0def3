"""MobileNet v1 (Howard et al., 2017), layer for layer as ``keras.applications.mobilenet``."""
from __future__ import annotations

from . import imagenet_utils

# (pointwise filters, stride) of the 13 depthwise-separable blocks
_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1),
           (512, 1), (1024, 2), (1024, 1))


def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1, dropout=1e-3, include_top=True, weights="imagenet",
              input_tensor=None, pooling=None, classes=1000, classifier_activation="softmax", name=None):
    """Instantiate MobileNet; ``alpha`` scales the widths, ``depth_multiplier`` the depthwise convolutions.

    The default name is ``f"mobilenet_{alpha:0.2f}_{rows}"``, as in Keras.

    >>> import tapeflow as tf
    >>> MobileNet(weights=None, input_shape=(32, 32, 3), alpha=0.25, classes=5).count_params()
    219829
    """
    from .. import layers
    from ..models import Functional
    imagenet_utils.check_weights(weights, include_top, classes, "MobileNet")
    imagenet_utils.require_channels_last("MobileNet")
    default_size = 224
    if input_shape is not None and input_shape[0] == input_shape[1] and input_shape[0] in (128, 160, 192, 224):
        default_size = input_shape[0]
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format="channels_last", require_flatten=include_top,
                                                    weights=weights)
    rows = input_shape[0]
    img_input, inputs = imagenet_utils.model_input(input_tensor, input_shape)
    x = layers.Conv2D(int(32 * alpha), (3, 3), padding="same", use_bias=False, strides=(2, 2),
                      name="conv1")(img_input)
    x = layers.BatchNormalization(axis=-1, name="conv1_bn")(x)
    x = layers.ReLU(6.0, name="conv1_relu")(x)
    for block_id, (filters, stride) in enumerate(_BLOCKS, start=1):
        x = _depthwise_conv_block(x, filters, alpha, depth_multiplier, stride, block_id)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    if name is None:
        name = f"mobilenet_{alpha:0.2f}_{rows}"
    model = Functional(inputs, x, name=name)
    return imagenet_utils.load_weights(model, weights)


def _depthwise_conv_block(inputs, pointwise_conv_filters, alpha, depth_multiplier, stride, block_id):
    from .. import layers
    pointwise_conv_filters = int(pointwise_conv_filters * alpha)
    x = inputs
    if stride != 1:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(inputs)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if stride == 1 else "valid", depth_multiplier=depth_multiplier,
                               strides=(stride, stride), use_bias=False, name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=-1, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(pointwise_conv_filters, (1, 1), padding="same", use_bias=False, strides=(1, 1),
                      name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=-1, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


def preprocess_input(x, data_format=None):
    """MobileNet preprocessing: ``imagenet_utils.preprocess_input`` in ``"tf"`` mode (scale to [-1, 1]).

    >>> import numpy as np
    >>> preprocess_input(np.array([0.0, 255.0])).tolist()
    [-1.0, 1.0]
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """Decode ImageNet predictions (see ``imagenet_utils.decode_predictions``; needs a local class index)."""
    return imagenet_utils.decode_predictions(preds, top=top)
