"""Embedding: integer ids -> rows of a trainable ``(input_dim, output_dim)`` table (Keras 3)."""
from __future__ import annotations

import numpy as np

from ...ops import array_ops as A
from ...ops import math_ops as M
from .. import constraints, initializers, regularizers
from .base import Layer


class Embedding(Layer):
    """Look up ``embeddings[ids]``: ``(batch, ...)`` ints -> ``(batch, ..., output_dim)``.

    Weights ``[embeddings]`` of shape ``(input_dim, output_dim)``, initialized uniform in
    [-0.05, 0.05] by default. Float ids (e.g. from a Sequential's float32 input) are cast to
    int. With ``mask_zero=True`` id 0 is padding: ``compute_mask`` gives ``ids != 0`` and
    downstream layers that support masking skip those steps. ``input_length`` is accepted and
    ignored, as in Keras 3.

    >>> import tapeflow as tf
    >>> emb = tf.keras.layers.Embedding(10, 4, mask_zero=True)
    >>> emb(tf.constant([[1, 0]])).shape.as_list(), emb.compute_mask(tf.constant([[1, 0]])).numpy().tolist()
    ([1, 2, 4], [[True, False]])
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 **kwargs):
        kwargs.pop("input_length", None)
        kwargs.pop("quantization_config", None)
        for name, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"Embedding: `{name}` must be a positive integer, got {name}={v!r}")
        if weights is not None:
            kwargs["weights"] = weights
        super().__init__(**kwargs)
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.autocast = False

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint, name="embeddings")
        self.built = True

    def _ids(self, inputs):
        v = inputs._value
        if v.dtype.kind not in "iu":
            if v.dtype.kind == "f" and v.size and not np.all(np.isfinite(v)):
                raise ValueError(f'Layer "{self.name}": ids must be finite numbers, got non-finite values')
            inputs = A.cast(inputs, "int32")
            v = inputs._value
        if v.size and (v.min() < 0 or v.max() >= self.input_dim):
            raise ValueError(f'Layer "{self.name}": ids must lie in [0, {self.input_dim}) (input_dim), got values '
                             f"in [{v.min()}, {v.max()}]")
        return inputs

    def call(self, inputs):
        out = A.gather(self.embeddings, self._ids(inputs))
        return out if out._value.dtype == self._compute_dtype else A.cast(out, self._compute_dtype)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return M.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim, "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
        })
        return config


__all__ = ["Embedding"]
