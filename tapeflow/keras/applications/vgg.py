"""VGG16 and VGG19 (Simonyan & Zisserman, 2014), layer for layer as ``keras.applications.vgg16/vgg19``."""
from __future__ import annotations

from . import imagenet_utils

_DEPTHS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
_WIDTHS = (64, 128, 256, 512, 512)


def _vgg(depths, include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation, name,
         model_name):
    from .. import layers
    from ..models import Functional
    imagenet_utils.check_weights(weights, include_top, classes, model_name)
    imagenet_utils.require_channels_last(model_name)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    data_format="channels_last", require_flatten=include_top,
                                                    weights=weights)
    img_input, inputs = imagenet_utils.model_input(input_tensor, input_shape)
    x = img_input
    for b, (depth, width) in enumerate(zip(depths, _WIDTHS), start=1):
        for c in range(1, depth + 1):
            x = layers.Conv2D(width, (3, 3), activation="relu", padding="same", name=f"block{b}_conv{c}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{b}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    model = Functional(inputs, x, name=name)
    return imagenet_utils.load_weights(model, weights)


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
          classifier_activation="softmax", name="vgg16"):
    """Instantiate VGG16 (13 conv + 3 dense layers; default input 224x224x3, at least 32x32).

    ``weights``: ``None`` (random) or a local Keras weights file; ``"imagenet"`` cannot be downloaded here and
    raises. ``pooling`` (``None``/``"avg"``/``"max"``) applies when ``include_top=False``.

    >>> import tapeflow as tf
    >>> VGG16(weights=None, include_top=False, input_shape=(32, 32, 3)).count_params()
    14714688
    """
    return _vgg(_DEPTHS["vgg16"], include_top, weights, input_tensor, input_shape, pooling, classes,
                classifier_activation, name, "VGG16")


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
          classifier_activation="softmax", name="vgg19"):
    """Instantiate VGG19 (16 conv + 3 dense layers; default input 224x224x3, at least 32x32).

    >>> import tapeflow as tf
    >>> VGG19(weights=None, include_top=False, input_shape=(32, 32, 3)).count_params()
    20024384
    """
    return _vgg(_DEPTHS["vgg19"], include_top, weights, input_tensor, input_shape, pooling, classes,
                classifier_activation, name, "VGG19")


def preprocess_input(x, data_format=None):
    """VGG preprocessing: ``imagenet_utils.preprocess_input`` in ``"caffe"`` mode (RGB -> BGR, subtract the
    ImageNet channel means, no scaling).

    >>> import numpy as np
    >>> preprocess_input(np.full((1, 1, 1, 3), 128.0)).round(3).tolist()
    [[[[24.061, 11.221, 4.32]]]]
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    """Decode ImageNet predictions (see ``imagenet_utils.decode_predictions``; needs a local class index)."""
    return imagenet_utils.decode_predictions(preds, top=top)
