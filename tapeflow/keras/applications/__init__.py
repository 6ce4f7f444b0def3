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

from . import (convnext, densenet, efficientnet, efficientnet_v2, imagenet_utils, inception_resnet_v2,  # noqa: F401
               inception_v3, mobilenet, mobilenet_v2, mobilenet_v3, nasnet, resnet, resnet_v2, vgg, xception)
from .convnext import ConvNeXtBase, ConvNeXtLarge, ConvNeXtSmall, ConvNeXtTiny, ConvNeXtXLarge
from .densenet import DenseNet121, DenseNet169, DenseNet201
from .efficientnet import (EfficientNetB0, EfficientNetB1, EfficientNetB2, EfficientNetB3, EfficientNetB4,
                           EfficientNetB5, EfficientNetB6, EfficientNetB7)
from .efficientnet_v2 import (EfficientNetV2B0, EfficientNetV2B1, EfficientNetV2B2, EfficientNetV2B3, EfficientNetV2L,
                              EfficientNetV2M, EfficientNetV2S)
from .inception_resnet_v2 import InceptionResNetV2
from .inception_v3 import InceptionV3
from .mobilenet import MobileNet
from .mobilenet_v2 import MobileNetV2
from .mobilenet_v3 import MobileNetV3Large, MobileNetV3Small
from .nasnet import NASNetLarge, NASNetMobile
from .resnet import ResNet50, ResNet101, ResNet152
from .resnet_v2 import ResNet50V2, ResNet101V2, ResNet152V2
from .vgg import VGG16, VGG19
from .xception import Xception

vgg16 = vgg19 = vgg
resnet50 = resnet

__all__ = ["VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152", "ResNet50V2", "ResNet101V2", "ResNet152V2",
           "MobileNet", "MobileNetV2", "MobileNetV3Small", "MobileNetV3Large", "DenseNet121", "DenseNet169",
           "DenseNet201", "EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3", "EfficientNetB4",
           "EfficientNetB5", "EfficientNetB6", "EfficientNetB7", "EfficientNetV2B0", "EfficientNetV2B1",
           "EfficientNetV2B2", "EfficientNetV2B3", "EfficientNetV2S", "EfficientNetV2M", "EfficientNetV2L",
           "InceptionV3", "InceptionResNetV2", "Xception", "ConvNeXtTiny", "ConvNeXtSmall", "ConvNeXtBase",
           "ConvNeXtLarge", "ConvNeXtXLarge", "NASNetMobile", "NASNetLarge",
           "vgg16", "vgg19", "resnet", "resnet50", "resnet_v2", "mobilenet", "mobilenet_v2", "mobilenet_v3",
           "densenet", "efficientnet", "efficientnet_v2", "inception_v3", "inception_resnet_v2", "xception",
           "convnext", "nasnet", "imagenet_utils"]
