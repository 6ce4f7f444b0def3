"""A Transformer encoder block (MultiHeadAttention + residual + LayerNormalization + feed-forward),
as in the spec, trained on a toy task that needs attention across positions.

Task: each sequence holds 10 random tokens; the label says whether the first token appears again
later in the sequence. The token at position 0 must be compared with every other position, which is
what self-attention does (a learned position embedding lets it tell position 0 from the rest).

Run: ``python examples/transformer_encoder.py`` (prints the test accuracy).
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import tapeflow as tf  # noqa: E402

layers = tf.keras.layers
VOCAB, SEQ, D_MODEL, HEADS, FF_DIM = 12, 10, 32, 4, 64


def make_data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, VOCAB, size=(n, SEQ))
    y = rng.integers(0, 2, size=n)
    for i in range(n):
        others = [t for t in range(1, VOCAB) if t != x[i, 0]]
        x[i, 1:] = rng.choice(others, SEQ - 1)       # first token absent elsewhere...
        if y[i]:
            x[i, rng.integers(1, SEQ)] = x[i, 0]      # ...unless the label is 1
    return x.astype("int64"), y.astype("int64")


class PositionEmbedding(layers.Layer):
    """Add a learned vector per position (a custom layer: build + add_weight + call)."""

    def build(self, input_shape):
        self.pos = self.add_weight(shape=tuple(input_shape[1:]), initializer="random_normal", name="pos")

    def call(self, x):
        return x + self.pos


def transformer_block(x, attn, ff_dim):
    """The spec's encoder block: self-attention, Add + LayerNorm, feed-forward, Add + LayerNorm."""
    attn_out = attn(x, x, x)
    x1 = layers.Add()([x, attn_out])
    x2 = layers.LayerNormalization()(x1)
    ff = layers.Dense(ff_dim, activation="relu")(x2)
    ff = layers.Dense(x.shape[-1])(ff)  # back to d_model so the residual can be added
    x3 = layers.Add()([x2, ff])
    return layers.LayerNormalization()(x3)


def build_model():
    tokens = tf.keras.Input((SEQ,), dtype="int64")
    x = layers.Embedding(VOCAB, D_MODEL)(tokens)
    x = PositionEmbedding()(x)
    x = transformer_block(x, layers.MultiHeadAttention(num_heads=HEADS, key_dim=D_MODEL // HEADS), FF_DIM)
    first = layers.Lambda(lambda t: t[:, 0])(x)
    out = layers.Dense(2, activation="softmax")(first)
    return tf.keras.Model(tokens, out)


def main(epochs=20, verbose=1):
    tf.random.set_seed(0)
    x, y = make_data(3000, 0)
    xt, yt = make_data(1000, 1)
    model = build_model()
    model.compile(optimizer=tf.keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=64, epochs=epochs, verbose=verbose)
    acc = float((model.predict(xt, verbose=0).argmax(-1) == yt).mean())
    if verbose:
        print(f"test accuracy: {acc:.3f}")
    return acc


if __name__ == "__main__":
    main()
