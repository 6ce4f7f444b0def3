"""Attention layers: MultiHeadAttention, GroupedQueryAttention, Attention (Luong dot-product) and
AdditiveAttention (Bahdanau).

Masking follows Keras 3: a boolean attention mask (built from ``attention_mask``, the Keras masks of
query/value/key and the causal mask) replaces masked logits with -1e9 before the softmax and zeroes
masked probabilities after it, so a fully masked row gives zeros rather than a uniform average.
"""
from __future__ import annotations

import math

import numpy as np

from ...autodiff.tensor import Tensor
from ...ops import array_ops as A
from ...ops import math_ops as M
from ...ops import nn_ops as N
from ...ops import reduce_ops as R
from ...ops.registry import const
from .. import constraints, initializers, regularizers
from .base import Layer

_LARGE_NEGATIVE = -1e9


def _np_mask(m):
    if m is None:
        return None
    return np.asarray(m._value if isinstance(m, Tensor) else m).astype(bool)


def _masked_softmax(scores: Tensor, mask) -> Tensor:
    """Softmax over the last axis; ``mask`` (broadcastable, bool) False -> logit -1e9, prob 0."""
    if mask is None:
        return N.softmax(scores, axis=-1)
    keep = const(mask)
    big = const(np.asarray(_LARGE_NEGATIVE, scores._value.dtype))
    p = N.softmax(A.where(keep, scores, big), axis=-1)
    return A.where(keep, p, const(np.zeros((), scores._value.dtype)))


def _causal(t, s):
    return np.tril(np.ones((t, s), dtype=bool))


def _sliding_window(t, s, window):
    """Keras's symmetric band: query t sees key s where ``|t - s| < window``."""
    return np.abs(np.arange(t)[:, None] - np.arange(s)[None, :]) < window


class _Projection(Layer):
    """Keras's EinsumDense as MHA uses it: contract the last ``n_in`` axes of the input with a kernel of
    shape ``in_dims + out_dims``, add a bias of shape ``out_dims``."""

    def __init__(self, out_dims, n_in=1, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.out_dims, self.n_in, self.use_bias = tuple(out_dims), n_in, use_bias
        self._init = (kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                      kernel_constraint, bias_constraint)

    def build(self, input_shape):
        ki, bi, kr, br, kc, bc = self._init
        in_dims = tuple(int(d) for d in input_shape[-self.n_in:])
        self.kernel = self.add_weight(shape=in_dims + self.out_dims, initializer=ki, regularizer=kr,
                                      constraint=kc, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=self.out_dims, initializer=bi, regularizer=br, constraint=bc,
                                        name="bias")
        self.built = True

    def call(self, x):
        shape = x._value.shape
        lead, k_in = shape[:-self.n_in], int(np.prod(shape[-self.n_in:]))
        k = self._read(self.kernel)
        y = M.matmul(A.reshape(x, (-1, k_in)), A.reshape(k, (k_in, -1)))
        if self.bias is not None:
            y = M.add(y, A.reshape(self._read(self.bias), (-1,)))
        return A.reshape(y, lead + self.out_dims)


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani 2017) with Keras 3's weights and call signature.

    ``attn(query, value, key=None, attention_mask=None, return_attention_scores=False,
    training=None, use_causal_mask=False)`` on ``(batch, T, dim)`` / ``(batch, S, dim)`` inputs.
    Weights, in order: query kernel ``(dim, num_heads, key_dim)`` and bias ``(num_heads, key_dim)``,
    key kernel/bias, [gate kernel ``(dim, num_heads, value_dim)``/bias], value kernel
    ``(dim, num_heads, value_dim)``/bias, output kernel ``(num_heads, value_dim, out_dim)`` and bias ``(out_dim,)``.

    ``use_gate=True`` multiplies each head's attention output, before the output projection, by
    ``sigmoid`` of a projection of the query (gated attention). ``sliding_window=w`` lets query position t
    attend only to key positions s with ``|t - s| < w``; it is ANDed with the causal mask, the inputs' masks
    and ``attention_mask`` (with ``use_causal_mask=True``: the causal window of Mistral or Llama 3).

    >>> import tapeflow as tf
    >>> attn = tf.keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, use_gate=True, sliding_window=2)
    >>> x = tf.ones((3, 5, 8))
    >>> out, scores = attn(x, x, return_attention_scores=True, use_causal_mask=True)
    >>> out.shape.as_list(), scores.shape.as_list(), [round(float(p), 2) for p in scores[0, 0, 2]]
    ([3, 5, 8], [3, 2, 5, 5], [0.0, 0.5, 0.5, 0.0, 0.0])
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        if flash_attention:
            raise NotImplementedError(f"{type(self).__name__}: flash_attention=True is not supported (tapeflow "
                                      "computes the same attention without it: leave flash_attention=None)")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if sliding_window is not None and (not isinstance(sliding_window, (int, np.integer))
                                           or isinstance(sliding_window, bool) or sliding_window <= 0):
            raise ValueError(f'Layer "{self.name}": `sliding_window` must be None or a positive integer. '
                             f"Received: sliding_window={sliding_window!r}")
        self.sliding_window = None if sliding_window is None else int(sliding_window)
        self.use_gate = bool(use_gate)
        if attention_axes not in (None, 1, (1,), [1], -2, (-2,), [-2]):
            raise NotImplementedError(f"MultiHeadAttention: attention_axes={attention_axes!r} is not supported; "
                                      "only the default (attend over the sequence axis of rank-3 inputs)")
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim else self.key_dim
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        if isinstance(output_shape, (list, tuple)):
            if len(output_shape) != 1:
                raise NotImplementedError("MultiHeadAttention: output_shape must be an int or a 1-tuple")
            output_shape = output_shape[0]
        self._output_shape = None if output_shape is None else int(output_shape)
        self.attention_axes = tuple(attention_axes) if isinstance(attention_axes, list) else attention_axes
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self.supports_masking = True

    def _proj(self, out_dims, name, n_in=1):
        return _Projection(out_dims, n_in=n_in, use_bias=self.use_bias, kernel_initializer=self.kernel_initializer,
                           bias_initializer=self.bias_initializer, kernel_regularizer=self.kernel_regularizer,
                           bias_regularizer=self.bias_regularizer, kernel_constraint=self.kernel_constraint,
                           bias_constraint=self.bias_constraint, name=name, dtype=self._dtype_policy_name)

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        if len(query_shape) != 3 or len(value_shape) != 3:
            raise NotImplementedError(f'Layer "{self.name}": only rank-3 (batch, seq, dim) query/value are '
                                      f"supported, got {tuple(query_shape)} and {tuple(value_shape)}")
        nh = self.num_heads
        self._query_dense = self._proj((nh, self.key_dim), "query")
        self._query_dense._build_from_shapes(tuple(query_shape))
        self._key_dense = self._proj((nh, self.key_dim), "key")
        self._key_dense._build_from_shapes(tuple(key_shape))
        self._build_gate(tuple(query_shape), (nh, self.value_dim))
        self._value_dense = self._proj((nh, self.value_dim), "value")
        self._value_dense._build_from_shapes(tuple(value_shape))
        out_dim = self._output_shape or int(query_shape[-1])
        self._output_dense = self._proj((out_dim,), "attention_output", n_in=2)
        self._output_dense._build_from_shapes((None, None, nh, self.value_dim))
        self.attention_axes = (1,)  # Keras resolves its default (and -2) at build: its configs then say [1]
        self.built = True

    def _attention_mask(self, query, value, key, query_mask, value_mask, key_mask, attention_mask,
                        use_causal_mask):
        mask = None
        if query_mask is not None:
            mask = _np_mask(query_mask)[:, :, None]
        for m in (value_mask, key_mask):
            if m is not None:
                m = _np_mask(m)[:, None, :]
                mask = m if mask is None else mask & m
        t, s = query._value.shape[1], value._value.shape[1]
        if use_causal_mask:
            c = _causal(t, s)[None]
            mask = c if mask is None else mask & c
        if self.sliding_window is not None:
            band = _sliding_window(t, s, self.sliding_window)[None]
            mask = band if mask is None else mask & band
        if attention_mask is not None:
            am = _np_mask(attention_mask)
            mask = am if mask is None else am & mask
        return mask

    def _inputs_and_mask(self, query, value, key, query_mask, value_mask, key_mask, attention_mask, use_causal_mask):
        """(value, key, the boolean attention mask or None), the masks defaulting to the inputs' Keras masks."""
        value = self._convert_input(value)
        key = value if key is None else self._convert_input(key)
        if query_mask is None:
            query_mask = getattr(query, "_keras_mask", None)
        if value_mask is None:
            value_mask = getattr(value, "_keras_mask", None)
        if key_mask is None and key is not value:
            key_mask = getattr(key, "_keras_mask", None)
        return value, key, self._attention_mask(query, value, key, query_mask, value_mask, key_mask, attention_mask,
                                                use_causal_mask)

    def _build_gate(self, query_shape, out_dims):
        """Keras's ``use_gate`` branch: a sigmoid projection of the query, built between key and value (its order in
        the weights) and stored as ``_gate_dense`` (its group in weight files)."""
        self._gate_dense = None
        if self.use_gate:
            self._gate_dense = self._proj(out_dims, "gate")
            self._gate_dense._build_from_shapes(query_shape)

    def _gated(self, ctx, query):
        """The attention output ``(B, T, N, v)`` times the gate ``sigmoid(query @ W_gate + b_gate)`` (Qiu et al.,
        2025), before the output projection; ``ctx`` unchanged without ``use_gate``."""
        if self._gate_dense is None:
            return ctx
        return M.multiply(ctx, M.sigmoid(self._gate_dense(query)))

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        value, key, mask = self._inputs_and_mask(query, value, key, query_mask, value_mask, key_mask,
                                                 attention_mask, use_causal_mask)
        q = self._query_dense(query)    # (B, T, N, k)
        k = self._key_dense(key)        # (B, S, N, k)
        v = self._value_dense(value)    # (B, S, N, v)
        q = M.multiply(q, 1.0 / math.sqrt(float(self.key_dim)))
        scores = M.matmul(A.transpose(q, (0, 2, 1, 3)), A.transpose(k, (0, 2, 3, 1)))  # (B, N, T, S)
        probs = _masked_softmax(scores, None if mask is None else mask[:, None] if mask.ndim == 3 else mask)
        dropped = probs
        if training and self.dropout > 0:
            dropped = N.dropout(probs, self.dropout, seed=self.seed)
        ctx = A.transpose(M.matmul(dropped, A.transpose(v, (0, 2, 1, 3))), (0, 2, 1, 3))  # (B, T, N, v)
        out = self._output_dense(self._gated(ctx, query))
        if return_attention_scores:
            return out, probs
        return out

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        return tuple(query_shape[:-1]) + (self._output_shape or query_shape[-1],)

    # Keras's public names for the projections (its weight files store them under these names)
    query_dense = property(lambda self: self._query_dense)
    key_dense = property(lambda self: self._key_dense)
    value_dense = property(lambda self: self._value_dense)
    output_dense = property(lambda self: self._output_dense)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads, "key_dim": self.key_dim, "value_dim": self.value_dim,
            "dropout": self.dropout, "use_bias": self.use_bias, "use_gate": self.use_gate,
            "output_shape": None if self._output_shape is None else (self._output_shape,),  # Keras: a tuple
            "attention_axes": self.attention_axes,
            "sliding_window": self.sliding_window,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint), "seed": self.seed})
        return config


class GroupedQueryAttention(MultiHeadAttention):
    """Grouped-query attention (Ainslie et al., 2023), as Keras 3.15's ``GroupQueryAttention``: ``num_query_heads``
    query heads share ``num_key_value_heads`` key/value heads (each key/value head serves
    ``num_query_heads // num_key_value_heads`` consecutive query heads), all ``head_dim`` wide.

    ``sliding_window=w`` lets a query at position t see keys at |t - s| < w (combine it with
    ``use_causal_mask=True`` for the causal window of Mistral or Llama 3); ``use_gate=True`` multiplies the
    attention output, before the output projection, by a sigmoid gate projected from the query. Weights, in
    Keras's order: query kernel ``(dim, Hq, head_dim)`` and bias ``(Hq, head_dim)``, key kernel/bias
    ``(dim, Hkv, head_dim)``, the gate's (as the query's), value kernel/bias, output kernel
    ``(Hq, head_dim, dim)`` and bias ``(dim,)``.

    >>> import tapeflow as tf
    >>> gqa = tf.keras.layers.GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)
    >>> x = tf.ones((3, 5, 8))
    >>> out, scores = gqa(x, x, return_attention_scores=True)
    >>> out.shape.as_list(), scores.shape.as_list(), [tuple(w.shape) for w in gqa.weights][2]
    ([3, 5, 8], [3, 4, 5, 5], (8, 2, 4))
    """

    query_dense = key_dense = value_dense = output_dense = None  # Keras's GQA has no such names: files say _key_dense

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0, use_bias=True,
                 sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        super().__init__(num_heads=num_query_heads, key_dim=head_dim, dropout=dropout, use_bias=use_bias,
                         sliding_window=sliding_window,  # (flash_attention: a speed hint, ignored)
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, use_gate=use_gate, seed=seed, **kwargs)
        self.head_dim, self.num_query_heads = int(head_dim), int(num_query_heads)
        self.num_key_value_heads = int(num_key_value_heads)
        if self.num_key_value_heads < 1 or self.num_query_heads % self.num_key_value_heads:
            raise ValueError(f'Layer "{self.name}": `num_query_heads` ({num_query_heads}) must be divisible by '
                             f"`num_key_value_heads` ({num_key_value_heads}).")
        self.num_repeats = self.num_query_heads // self.num_key_value_heads

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        if len(query_shape) != 3 or len(value_shape) != 3:
            raise ValueError(f'Layer "{self.name}": query and value must be (batch, seq, dim), got '
                             f"{tuple(query_shape)} and {tuple(value_shape)}")
        hq, hkv, h = self.num_query_heads, self.num_key_value_heads, self.head_dim
        self._query_dense = self._proj((hq, h), "query")
        self._query_dense._build_from_shapes(tuple(query_shape))
        self._key_dense = self._proj((hkv, h), "key")
        self._key_dense._build_from_shapes(tuple(key_shape))
        self._build_gate(tuple(query_shape), (hq, h))
        self._value_dense = self._proj((hkv, h), "value")
        self._value_dense._build_from_shapes(tuple(value_shape))
        self._output_dense = self._proj((int(query_shape[-1]),), "attention_output", n_in=2)
        self._output_dense._build_from_shapes((None, None, hq, h))
        self.built = True

    def _heads(self, x, dense):  # (B, S, Hkv, h) -> (B, Hq, S, h), each key/value head repeated in place
        y = A.transpose(dense(x), (0, 2, 1, 3))
        if self.num_repeats == 1:
            return y
        b, hkv, s, h = y._value.shape
        y = A.broadcast_to(A.expand_dims(y, 2), (b, hkv, self.num_repeats, s, h))
        return A.reshape(y, (b, hkv * self.num_repeats, s, h))

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        value, key, mask = self._inputs_and_mask(query, value, key, query_mask, value_mask, key_mask,
                                                 attention_mask, use_causal_mask)
        q = A.transpose(self._query_dense(query), (0, 2, 1, 3))                  # (B, Hq, T, h)
        q = M.multiply(q, 1.0 / math.sqrt(float(self.head_dim)))
        k, v = self._heads(key, self._key_dense), self._heads(value, self._value_dense)
        scores = M.matmul(q, A.transpose(k, (0, 1, 3, 2)))                          # (B, Hq, T, S)
        probs = _masked_softmax(scores, None if mask is None else mask[:, None] if mask.ndim == 3 else mask)
        dropped = N.dropout(probs, self.dropout, seed=self.seed) if training and self.dropout > 0 else probs
        ctx = A.transpose(M.matmul(dropped, v), (0, 2, 1, 3))                      # (B, T, Hq, h)
        out = self._output_dense(self._gated(ctx, query))
        return (out, probs) if return_attention_scores else out

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        return tuple(query_shape)

    def get_config(self):
        config = super().get_config()
        for k in ("num_heads", "key_dim", "value_dim", "output_shape", "attention_axes"):
            config.pop(k)
        config.update({"head_dim": self.head_dim, "num_query_heads": self.num_query_heads,
                       "num_key_value_heads": self.num_key_value_heads})
        return config


GroupQueryAttention = GroupedQueryAttention  # Keras 3 exports the class under this name


class _BaseDenseAttention(Layer):
    """Shared call of Attention and AdditiveAttention: ``inputs = [query, value]`` or
    ``[query, value, key]``, optional ``mask = [query_mask, value_mask]``."""

    def __init__(self, dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.dropout = float(dropout)
        self.seed = seed
        self.supports_masking = True

    @staticmethod
    def _unpack(inputs, mask):
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
            raise ValueError(f"attention layers take inputs=[query, value] or [query, value, key], got {inputs!r}")
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        if mask is None:
            mask = [getattr(q, "_keras_mask", None), getattr(v, "_keras_mask", None)]
        return q, v, k, _np_mask(mask[0]), _np_mask(mask[1])

    def call(self, inputs, mask=None, training=None, return_attention_scores=False, use_causal_mask=False):
        q, v, k, q_mask, v_mask = self._unpack(inputs, mask)
        scores = self._scores(q, k)
        keep = None if v_mask is None else v_mask[:, None, :]
        if use_causal_mask:
            c = _causal(scores._value.shape[-2], scores._value.shape[-1])[None]
            keep = c if keep is None else keep & c
        if keep is not None:  # Keras subtracts 1e9 from masked logits here
            scores = A.where(const(keep), scores, M.subtract(scores, 1e9))
        weights = N.softmax(scores, axis=-1)
        w = N.dropout(weights, self.dropout, seed=self.seed) if training and self.dropout > 0 else weights
        out = M.matmul(w, v)
        if q_mask is not None:
            out = A.where(const(q_mask[..., None]), out, const(np.zeros((), out._value.dtype)))
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            mask = [getattr(inputs[0], "_keras_mask", None)] if isinstance(inputs, (list, tuple)) else [None]
        return None if mask[0] is None else Tensor._wrap(_np_mask(mask[0]))

    def get_config(self):
        config = super().get_config()
        config.update({"dropout": self.dropout, "seed": self.seed})
        return config


class Attention(_BaseDenseAttention):
    """Dot-product (Luong) attention: ``softmax(query @ key^T [* scale]) @ value``; ``score_mode='concat'``
    uses ``sum(tanh(scale * (q + k)))`` instead.

    >>> import tapeflow as tf
    >>> q, v = tf.ones((2, 3, 4)), tf.ones((2, 5, 4))
    >>> tf.keras.layers.Attention()([q, v]).shape.as_list()
    [2, 3, 4]
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(dropout=dropout, seed=seed, **kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Attention: score_mode must be 'dot' or 'concat', got {score_mode!r}")
        self.use_scale, self.score_mode = bool(use_scale), score_mode

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(), initializer="ones", name="scale") if self.use_scale else None
        self.concat_score_weight = (self.add_weight(shape=(), initializer="ones", name="concat_score_weight")
                                    if self.score_mode == "concat" else None)
        self.built = True

    def _scores(self, q, k):
        if self.score_mode == "dot":
            s = M.matmul(q, A.transpose(k, (0, 2, 1)))
            return s if self.scale is None else M.multiply(s, self.scale)
        z = M.add(A.expand_dims(q, -2), A.expand_dims(k, -3))
        if self.scale is not None:
            z = M.multiply(self.scale, z)
        return M.multiply(self.concat_score_weight, R.reduce_sum(M.tanh(z), axis=-1))

    def get_config(self):
        config = super().get_config()
        config.update({"use_scale": self.use_scale, "score_mode": self.score_mode})
        return config


class AdditiveAttention(_BaseDenseAttention):
    """Additive (Bahdanau) attention: scores ``sum(scale * tanh(q + k), -1)`` with a learned
    ``scale`` vector (``use_scale=True``).

    >>> import tapeflow as tf
    >>> q, v = tf.ones((2, 3, 4)), tf.ones((2, 5, 4))
    >>> tf.keras.layers.AdditiveAttention()([q, v]).shape.as_list()
    [2, 3, 4]
    """

    def __init__(self, use_scale=True, dropout=0.0, seed=None, **kwargs):
        super().__init__(dropout=dropout, seed=seed, **kwargs)
        self.use_scale = bool(use_scale)

    def build(self, input_shape):
        dim = int(input_shape[0][-1])
        self.scale = self.add_weight(shape=(dim,), initializer="glorot_uniform", name="scale") \
            if self.use_scale else None
        self.built = True

    def _scores(self, q, k):
        t = M.tanh(M.add(A.expand_dims(q, -2), A.expand_dims(k, -3)))
        if self.scale is not None:
            t = M.multiply(self.scale, t)
        return R.reduce_sum(t, axis=-1)

    def get_config(self):
        config = super().get_config()
        config["use_scale"] = self.use_scale
        return config


__all__ = ["MultiHeadAttention", "GroupedQueryAttention", "GroupQueryAttention", "Attention", "AdditiveAttention"]
