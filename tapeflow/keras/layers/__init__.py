"""``keras.layers``: the layer library, one module per family, plus (de)serialization."""
from __future__ import annotations

from .activation import ELU, LeakyReLU, PReLU, ReLU, Softmax  # noqa: F401
from .base import InputSpec, Layer
from .core import Activation, Dense, Dropout, Flatten, Identity, Input, InputLayer, Lambda, Reshape  # noqa: F401
from .merging import Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract  # noqa: F401
from .merging import add, average, concatenate, dot, maximum, minimum, multiply, subtract  # noqa: F401

_BUILTIN_NAMES = [
    "Layer", "Dense", "Activation", "Flatten", "Reshape", "Dropout", "InputLayer", "Identity", "Lambda",
    "ReLU", "Softmax", "LeakyReLU", "ELU", "PReLU", "Add", "Subtract", "Multiply", "Average", "Maximum",
    "Minimum", "Concatenate", "Dot"]


# Layer families imported on first use (by name, or by deserialization): their classes are named here so that
# ``from tapeflow.keras.layers import Conv3D`` works without making every ``import tapeflow.keras`` load them.
# tests/keras/test_layer_registry.py checks these lists against each module's ``__all__``.
_LAZY_LAYERS = {
    "adaptive_pooling": ("AdaptiveAveragePooling1D", "AdaptiveMaxPooling1D", "AdaptiveAveragePooling2D",
                         "AdaptiveMaxPooling2D", "AdaptiveAveragePooling3D", "AdaptiveMaxPooling3D"),
    "conv_lstm": ("ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"),
    "pipeline": ("Pipeline",),
    "volumetric": ("Conv3D", "Conv3DTranspose", "MaxPooling3D", "AveragePooling3D", "GlobalMaxPooling3D",
                   "GlobalAveragePooling3D", "ZeroPadding3D", "Cropping3D", "UpSampling3D", "Convolution3D",
                   "Convolution3DTranspose", "MaxPool3D", "AvgPool3D", "GlobalMaxPool3D", "GlobalAvgPool3D"),
    "image_augmentation": ("RandomGrayscale", "RandomInvert", "Solarization", "AutoContrast", "RandomPosterization",
                           "RandomSaturation", "RandomHue", "RandomColorDegeneration", "RandomSharpness",
                           "RandomColorJitter"),
    "image_augmentation2": ("MixUp", "CutMix", "Equalization", "RandomGaussianBlur"),
    "image_augmentation3": ("RandomErasing", "RandomShear", "RandomPerspective", "RandomElasticTransform",
                            "RandAugment", "AugMix"),
    "audio": ("STFTSpectrogram", "MelSpectrogram"),
}
_LAZY_MODULE_OF = {n: m for m, names in _LAZY_LAYERS.items() for n in names}


def _load_lazy(module: str) -> None:
    import importlib
    mod = importlib.import_module(f".{module}", __name__)
    globals().update({n: getattr(mod, n) for n in _LAZY_LAYERS[module]})


def __getattr__(name):
    module = _LAZY_MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'tapeflow.keras.layers' has no attribute {name!r}")
    _load_lazy(module)
    return globals()[name]


def _layer_classes() -> dict:
    """Known layer classes by name: this package's, the models', and other layer families as they are
    added (any ``Layer`` subclass defined in a ``tapeflow.keras`` module)."""
    for module in _LAZY_LAYERS:
        _load_lazy(module)
    from ..models import Functional, Model, Sequential
    from ..models.functional import OpLayer
    from ..utils import feature_space  # noqa: F401  (FeatureSpace and its TFDIdentity, saved as layers)
    from .. import distillation  # noqa: F401  (Distiller, saved as a model)
    table = {n: globals()[n] for n in _BUILTIN_NAMES}
    table.update({"Model": Model, "Functional": Functional, "Sequential": Sequential, "OpLayer": OpLayer})
    stack = list(Layer.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("tapeflow.keras.") and not cls.__name__.startswith("_"):
            table.setdefault(cls.__name__, cls)
    return table


def serialize(layer) -> dict:
    """Keras 3 layer config: ``{"module", "class_name", "config", "registered_name", "build_config"}``.

    >>> import tapeflow as tf
    >>> serialize(tf.keras.layers.Dense(3, name="d"))["config"]["units"]
    3
    """
    from .._serialization import serialize_keras_object
    keras_op = getattr(layer, "keras_serialized", None)
    if keras_op is not None and keras_op() is not None:
        return keras_op()  # an operation (x + y, keras.ops.mean) under Keras's own class
    kind = type(layer).__name__
    module = "keras" if kind in ("Sequential", "Model") else "keras.layers"
    if kind == "Functional":  # Keras 3 resolves Functional only by its private module path
        module = "keras.src.models.functional"
    if type(layer).__module__.startswith("tapeflow.keras.distillation"):
        module = "keras.distillation"
    out = serialize_keras_object(layer, module=module)
    if kind == "Functional":
        out["registered_name"] = "Functional"
    build = layer.get_build_config() if layer.built and not hasattr(layer, "_self_graph") else None
    if build is not None:
        out["build_config"] = {k: _jsonable_shape(v) for k, v in build.items()}
    return out


def _jsonable_shape(s):
    if isinstance(s, (list, tuple)):
        return [_jsonable_shape(v) for v in s]
    if isinstance(s, dict):
        return {k: _jsonable_shape(v) for k, v in s.items()}
    return s


def deserialize(config, custom_objects=None):
    """Rebuild a layer (or model) from ``serialize`` output; classes come only from known names."""
    from .._serialization import deserialize_keras_object
    if isinstance(config, dict) and str(config.get("module", "")).startswith("keras.src.ops."):
        from ..models.op_layer import OpLayer
        return OpLayer.from_keras_config(config)
    layer = deserialize_keras_object(config, _layer_classes(), custom_objects, kind="layer")
    build = config.get("build_config") if isinstance(config, dict) else None
    if build and not layer.built:
        layer.build_from_config(build)
    return layer


__all__ = _BUILTIN_NAMES + ["Input", "InputSpec", "serialize", "deserialize", "add", "subtract", "multiply",
                            "average", "maximum", "minimum", "concatenate", "dot"]
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, Masking, SimpleRNN, SimpleRNNCell  # noqa: F401,E402
from .rnn_cells import StackedRNNCells  # noqa: F401,E402

_BUILTIN_NAMES += ["RNN", "SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell", "Masking",
                   "StackedRNNCells"]
__all__ += ["RNN", "SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell", "Masking", "StackedRNNCells"]
from . import convolutional as _conv, embedding as _emb, normalization as _norm  # noqa: E402
from . import pooling as _pool, preprocessing as _prep, regularization as _reg, reshaping as _reshape  # noqa: E402
from . import discretization as _disc, einsum_dense as _einsum, hashing as _hash, lookup as _lookup  # noqa: E402
from . import text as _text  # noqa: E402

for _mod in (_conv, _pool, _norm, _reg, _reshape, _emb, _prep, _lookup, _text, _einsum, _disc, _hash):
    globals().update({_n: getattr(_mod, _n) for _n in _mod.__all__})
    _BUILTIN_NAMES += list(_mod.__all__)
    __all__ += list(_mod.__all__)
del _mod
from .wrappers import Bidirectional, SpectralNormalization, TimeDistributed, Wrapper  # noqa: F401,E402
from .attention import (AdditiveAttention, Attention, GroupedQueryAttention, GroupQueryAttention,  # noqa: F401,E402
                        MultiHeadAttention)
from .graph import GCNConv, GraphConv  # noqa: F401,E402

_BUILTIN_NAMES += ["GroupedQueryAttention", "GroupQueryAttention", "Wrapper"] + list(_LAZY_MODULE_OF)
__all__ += ["GroupedQueryAttention", "GroupQueryAttention", "Wrapper"] + list(_LAZY_MODULE_OF)
_BUILTIN_NAMES += ["Bidirectional", "TimeDistributed", "SpectralNormalization", "MultiHeadAttention", "Attention",
                   "AdditiveAttention", "GCNConv"]
__all__ += ["Bidirectional", "TimeDistributed", "SpectralNormalization", "MultiHeadAttention", "Attention",
            "AdditiveAttention", "GCNConv", "GraphConv"]
