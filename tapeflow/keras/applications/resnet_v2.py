"""ResNet50V2/101V2/152V2 (He et al., 2016; pre-activation blocks), layer for layer as
``keras.applications.resnet_v2``."""
from __future__ import annotations

from . import imagenet_utils, resnet


def _resnet_v2(depths, name, weights_name, **kwargs):
    def stack_fn(x):
        x = resnet.stack_residual_blocks_v2(x, 64, depths[0], name="conv2")
        x = resnet.stack_residual_blocks_v2(x, 128, depths[1], name="conv3")
        x = resnet.stack_residual_blocks_v2(x, 256, depths[2], name="conv4")
        return resnet.stack_residual_blocks_v2(x, 512, depths[3], stride1=1, name="conv5")
    return resnet.ResNet(stack_fn, True, True, name=name, weights_name=weights_name, **kwargs)


def ResNet50V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
               classes=1000, classifier_activation="softmax", name="resnet50v2"):
    """Instantiate ResNet50V2 (blocks 3-4-6-3; default input 224x224x3, at least 32x32).

    >>> import tapeflow as tf
    >>> ResNet50V2(weights=None, input_shape=(32, 32, 3), classes=4).count_params()
    23572996
    """
    return _resnet_v2((3, 4, 6, 3), name, "resnet50v2", include_top=include_top, weights=weights,
                      input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                      classifier_activation=classifier_activation)


def ResNet101V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="resnet101v2"):
    """Instantiate ResNet101V2 (blocks 3-4-23-3; default input 224x224x3, at least 32x32)."""
    return _resnet_v2((3, 4, 23, 3), name, "resnet101v2", include_top=include_top, weights=weights,
                      input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                      classifier_activation=classifier_activation)


def ResNet152V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="resnet152v2"):
    """Instantiate ResNet152V2 (blocks 3-8-36-3; default input 224x224x3, at least 32x32)."""
    return _resnet_v2((3, 8, 36, 3), name, "resnet152v2", include_top=include_top, weights=weights,
                      input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                      classifier_activation=classifier_activation)


def preprocess_input(x, data_format=None):
    """ResNetV2 preprocessing: ``imagenet_utils.preprocess_input`` in ``"tf"`` mode (scale to [-1, 1]).

    >>> import numpy as np
    >>> preprocess_input(np.array([0.0, 255.0])).tolist()
    [-1.0, 1.0]
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """Decode ImageNet predictions (see ``imagenet_utils.decode_predictions``; needs a local class index)."""
    return imagenet_utils.decode_predictions(preds, top=top)
