"""``keras.applications``: classic image-classification architectures built layer for layer as Keras 3 builds
them (same layer names, order and weight shapes), with ``weights=None`` or a local weights file (pretrained
ImageNet weights cannot be downloaded here). One module per family, each with ``preprocess_input`` and
``decode_predictions``.

>>> import tapeflow as tf
>>> model = tf.keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), alpha=0.35, classes=3)
>>> model.count_params(), model.output.shape.as_list()
(414051, [None, 3])
"""
from __future__ import annotations

from . import densenet, efficientnet, imagenet_utils, mobilenet, mobilenet_v2, resnet, vgg  # noqa: F401
from .densenet import DenseNet121
from .efficientnet import EfficientNetB0
from .mobilenet import MobileNet
from .mobilenet_v2 import MobileNetV2
from .resnet import ResNet50, ResNet101, ResNet152
from .vgg import VGG16, VGG19

vgg16 = vgg19 = vgg
resnet50 = resnet

__all__ = ["VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152", "MobileNet", "MobileNetV2", "DenseNet121",
           "EfficientNetB0", "vgg16", "vgg19", "resnet", "resnet50", "mobilenet", "mobilenet_v2", "densenet",
           "efficientnet", "imagenet_utils"]
