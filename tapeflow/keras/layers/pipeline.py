"""Pipeline (Keras 3): a plain layer that applies a list of layers in turn, for preprocessing.

Unlike ``Sequential`` it is not a model: no ``compile``/``fit``, and its ``training`` defaults to True,
so an augmentation pipeline augments when called directly (``dataset.map(pipeline)``).

>>> import numpy as np, tapeflow as tf
>>> pipe = tf.keras.layers.Pipeline([tf.keras.layers.Rescaling(1 / 255), tf.keras.layers.Resizing(2, 2)])
>>> float(pipe(np.full((1, 4, 4, 3), 255.0)).numpy().max())
1.0
"""
from __future__ import annotations

from .base import Layer


class Pipeline(Layer):
    """Apply ``layers`` in order; each gets ``training`` (default True) and the previous output's mask where its
    ``call`` takes them. Its weights are those of its layers.

    >>> import tapeflow as tf
    >>> pipe = tf.keras.layers.Pipeline([tf.keras.layers.Dense(4), tf.keras.layers.Dense(2)])
    >>> pipe(tf.ones((3, 5))).shape.as_list(), len(pipe.weights)
    ([3, 2], 4)
    """

    def __init__(self, layers, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if not isinstance(layers, (list, tuple)) or not all(isinstance(x, Layer) for x in layers):
            raise ValueError(f"Pipeline: `layers` must be a list of layers, got {layers!r}")
        self._pipeline_layers = list(layers)

    @property
    def layers(self) -> list:
        return list(self._pipeline_layers)

    def call(self, inputs, training=True, mask=None):
        outputs = inputs
        for layer in self._pipeline_layers:
            takes_training, takes_mask, _ = layer._signature()
            kwargs = {}
            if takes_mask and mask is not None:
                kwargs["mask"] = mask
            if takes_training and training is not None:
                kwargs["training"] = training
            outputs = layer(outputs, **kwargs)
            mask = getattr(outputs, "_keras_mask", None)
        return outputs

    def compute_output_shape(self, input_shape):
        for layer in self._pipeline_layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def get_config(self):
        from . import serialize
        return {"name": self.name, "layers": [serialize(x) for x in self._pipeline_layers]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from . import deserialize
        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError("Pipeline: the config must map `layers` to a list of serialized layers, got "
                             f"layers={layers!r}")
        return cls([deserialize(x, custom_objects=custom_objects) for x in layers], name=config.get("name"))


__all__ = ["Pipeline"]
