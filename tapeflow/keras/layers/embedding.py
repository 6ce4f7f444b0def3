"""Embedding: integer ids -> rows of a trainable ``(input_dim, output_dim)`` table (Keras 3); ReversibleEmbedding,
whose reverse call maps hidden states back to logits over the vocabulary (a tied language-model head)."""
from __future__ import annotations

import numpy as np

from ...ops import array_ops as A
from ...ops import math_ops as M
from .. import constraints, initializers, regularizers
from .base import Layer
from .quantized_embedding import EmbeddingQuantization


class Embedding(EmbeddingQuantization, Layer):
    """Look up ``embeddings[ids]``: ``(batch, ...)`` ints -> ``(batch, ..., output_dim)``.

    Weights ``[embeddings]`` of shape ``(input_dim, output_dim)``, initialized uniform in
    [-0.05, 0.05] by default. Float ids (e.g. from a Sequential's float32 input) are cast to
    int. With ``mask_zero=True`` id 0 is padding: ``compute_mask`` gives ``ids != 0`` and
    downstream layers that support masking skip those steps. ``input_length`` is accepted and
    ignored, as in Keras 3. ``quantize("int8" | "int4")`` stores the table as integers with one scale per row
    (see ``quantized_embedding.py``).

    >>> import tapeflow as tf
    >>> emb = tf.keras.layers.Embedding(10, 4, mask_zero=True)
    >>> emb(tf.constant([[1, 0]])).shape.as_list(), emb.compute_mask(tf.constant([[1, 0]])).numpy().tolist()
    ([1, 2, 4], [[True, False]])
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        kwargs.pop("input_length", None)
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
        self._set_quantization_config(quantization_config)
        if lora_rank:
            self.enable_lora(lora_rank)

    def build(self, input_shape=None):
        if self.quantization_mode is not None:  # rebuilt from a quantized config: Keras's integer variables
            self._quantized_build(self.quantization_mode, self.quantization_config, (self.input_dim, self.output_dim))
        else:
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
        return self._quantization_entries(config)


Embedding._quantizable_class = Embedding  # quantize() refuses subclasses, as Keras's type_check

class ReversibleEmbedding(Embedding):
    """An Embedding that also runs backwards, as Keras 3.15's: ``layer(ids)`` looks rows up;
    ``layer(hidden, reverse=True)`` gives logits ``hidden @ embeddings.T`` (``tie_weights=True``, the default)
    or ``hidden @ reverse_embeddings`` (a separate ``(output_dim, input_dim)`` weight). ``logit_soft_cap=c``
    bounds the logits to (-c, c) by ``c * tanh(logits / c)``; ``reverse_dtype`` computes the reverse matmul
    in that dtype. With ``mask_zero`` the mask is attached to the forward output only.

    >>> import tapeflow as tf
    >>> emb = tf.keras.layers.ReversibleEmbedding(10, 4)
    >>> h = emb(tf.constant([[1, 2, 3]]))
    >>> h.shape.as_list(), emb(h, reverse=True).shape.as_list()
    ([1, 3, 4], [1, 3, 10])
    """

    def __init__(self, input_dim, output_dim, tie_weights=True, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False, reverse_dtype=None,
                 logit_soft_cap=None, **kwargs):
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer, embeddings_constraint=embeddings_constraint,
                         mask_zero=mask_zero, **kwargs)
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = reverse_dtype
        if logit_soft_cap is not None and not float(logit_soft_cap) > 0:
            raise ValueError(f'Layer "{self.name}": `logit_soft_cap` must be positive or None, got {logit_soft_cap!r}')
        self.logit_soft_cap = logit_soft_cap

    def build(self, input_shape=None):
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(shape=(self.output_dim, self.input_dim),
                                                      initializer=self.embeddings_initializer,
                                                      name="reverse_embeddings")

    def call(self, inputs, reverse=False):
        if not reverse:
            out = super().call(inputs)
            if self.mask_zero:
                out._keras_mask = M.not_equal(inputs, 0)
            return out
        if inputs._value.shape[-1] != self.output_dim:
            raise ValueError(f'Layer "{self.name}": reverse=True takes inputs whose last axis is output_dim '
                             f"({self.output_dim}), got shape {inputs._value.shape}")
        kernel = A.transpose(self._read(self.embeddings)) if self.tie_weights else self._read(self.reverse_embeddings)
        if self.reverse_dtype is not None:
            inputs, kernel = A.cast(inputs, self.reverse_dtype), A.cast(kernel, self.reverse_dtype)
        logits = M.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            cap = float(self.logit_soft_cap)
            logits = M.multiply(M.tanh(M.divide(logits, cap)), cap)
        return logits

    def compute_mask(self, inputs, mask=None):  # attached in call, to the forward output only
        return None

    def compute_output_shape(self, input_shape, reverse=False):
        if reverse:
            return tuple(input_shape[:-1]) + (self.input_dim,)
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update({"tie_weights": self.tie_weights, "reverse_dtype": self.reverse_dtype,
                       "logit_soft_cap": self.logit_soft_cap})
        return config


__all__ = ["Embedding", "ReversibleEmbedding"]
