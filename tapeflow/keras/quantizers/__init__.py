"""``keras.quantizers``: post-training quantization as Keras 3.15.1 does it (``int8`` and ``int4`` modes).

``layer.quantize(mode)`` / ``model.quantize(mode, config=None, filters=None)`` turn the float kernels of
``Dense``, ``EinsumDense`` and ``Embedding`` into integers with scales (see ``keras/layers/quantized.py``); this
package holds the quantizers, the configs, the functions they are made of and their (de)serialization.

>>> import numpy as np, tapeflow as tf
>>> from tapeflow.keras import quantizers
>>> layer = tf.keras.layers.Dense(3)
>>> layer.build((None, 4))
>>> layer.quantize("int8")
>>> layer.kernel.dtype.name, layer.dtype_policy.name, type(layer.quantization_config).__name__
('int8', 'int8_from_float32', 'Int8QuantizationConfig')
"""
from __future__ import annotations

import inspect
import re

from .._serialization import deserialize_keras_object, serialize_keras_object
from .config import (AWQConfig, Float8QuantizationConfig, GPTQConfig, Int4QuantizationConfig,  # noqa: F401
                     Int8QuantizationConfig, QuantizationConfig)
from .quantizers import (AbsMaxQuantizer, Quantizer, abs_max_quantize,  # noqa: F401
                         abs_max_quantize_grouped_with_zero_point,
                         compute_float8_amax_history, compute_float8_scale, fake_quant_with_min_max_vars, pack_int4,
                         quantize_and_dequantize, unpack_int4)

ALL_OBJECTS = (Quantizer, AbsMaxQuantizer, QuantizationConfig, Int8QuantizationConfig, Int4QuantizationConfig,
               Float8QuantizationConfig, AWQConfig)


def _snake(name: str) -> str:
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)).lower()


ALL_OBJECTS_DICT = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({_snake(cls.__name__): cls for cls in ALL_OBJECTS})


def serialize(quantizer):
    """Keras's config dict of a quantizer or quantization config (``None`` stays ``None``).

    >>> from tapeflow.keras import quantizers
    >>> quantizers.serialize(quantizers.AbsMaxQuantizer(axis=0))["config"]["axis"]
    (0,)
    """
    return serialize_keras_object(quantizer, module="keras.quantizers")


def deserialize(config, custom_objects=None):
    """The quantizer or quantization config a ``serialize`` dict describes (known classes only).

    >>> from tapeflow.keras import quantizers
    >>> cfg = quantizers.serialize(quantizers.Int4QuantizationConfig(block_size=64))
    >>> quantizers.deserialize(cfg).block_size
    64
    """
    return deserialize_keras_object(config, ALL_OBJECTS_DICT, custom_objects, kind="quantizer")


def get(identifier, **kwargs):
    """A quantizer from a name (``"abs_max_quantizer"`` / ``"AbsMaxQuantizer"``, made with ``kwargs``), a config
    dict or a callable quantizer; ``None`` gives ``None``.

    >>> from tapeflow.keras import quantizers
    >>> quantizers.get("abs_max_quantizer", axis=0).axis
    (0,)
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = ALL_OBJECTS_DICT.get(identifier)
    else:
        obj = identifier
    if callable(obj):
        return obj(**kwargs) if inspect.isclass(obj) else obj
    raise ValueError(f"Could not interpret quantizer identifier: {identifier}")


__all__ = ["Quantizer", "AbsMaxQuantizer", "QuantizationConfig", "Int8QuantizationConfig", "Int4QuantizationConfig",
           "Float8QuantizationConfig", "GPTQConfig", "AWQConfig", "abs_max_quantize",
           "abs_max_quantize_grouped_with_zero_point", "fake_quant_with_min_max_vars", "compute_float8_scale",
           "compute_float8_amax_history", "quantize_and_dequantize", "pack_int4", "unpack_int4", "get", "serialize",
           "deserialize"]
