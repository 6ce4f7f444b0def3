"""GroupQueryAttention: weights, outputs and scores against real Keras 3.15.1 (``fixtures/keras3_gqa.json``,
written by ``fixtures/make_keras3_gqa.py``), gradients against finite differences."""
import json
import os

import numpy as np
import pytest

from tapeflow import keras
from tests.keras._layer_grad import check_layer_gradients

FIXTURE = json.load(open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras3_gqa.json")))
Q, V = np.array(FIXTURE["q"], np.float32), np.array(FIXTURE["v"], np.float32)
MASK = np.array([[[1, 1, 0, 1, 0]] * 4, [[0, 1, 1, 1, 1]] * 4], bool)
CALLS = {"basic": ({}, V), "gate_window_causal": ({"use_causal_mask": True}, Q),
         "nobias_mask": ({"attention_mask": MASK}, V)}
KEYS = ("head_dim", "num_query_heads", "num_key_value_heads", "use_bias", "use_gate", "sliding_window")


@pytest.mark.parametrize("case", sorted(CALLS))
def test_matches_keras(case):
    want = FIXTURE["cases"][case]
    layer = keras.layers.GroupQueryAttention(**{k: want["config"][k] for k in KEYS})
    kwargs, value = CALLS[case]
    layer(Q, value)
    assert [w.path.split("/", 1)[1] for w in layer.weights] == [p.split("/", 1)[1] for p in want["paths"]]
    assert [list(w.shape) for w in layer.weights] == want["shapes"]
    layer.set_weights([np.array(w, np.float32) for w in want["weights"]])
    y, scores = layer(Q, value, return_attention_scores=True, **kwargs)
    np.testing.assert_allclose(y.numpy(), want["y"], atol=3e-6)
    np.testing.assert_allclose(scores.numpy(), want["scores"], atol=1e-6)
    config = layer.get_config()
    for k in KEYS + ("dropout",):
        assert config[k] == want["config"][k], k
    assert "num_heads" not in config and "key_dim" not in config


def test_gradients():
    layer = keras.layers.GroupQueryAttention(head_dim=2, num_query_heads=4, num_key_value_heads=2, use_gate=True,
                                             sliding_window=2, dtype="float64")
    check_layer_gradients(_SelfAttention(layer), np.random.default_rng(0).normal(size=(2, 4, 3)))


class _SelfAttention(keras.layers.Layer):
    def __init__(self, inner, **kwargs):
        super().__init__(dtype="float64", **kwargs)
        self.inner = inner

    def call(self, x):
        return self.inner(x, x, use_causal_mask=True)


def test_masks_from_the_inputs_and_a_model_that_trains_saves_and_loads(tmp_path):
    rng = np.random.default_rng(1)
    tokens = rng.integers(1, 20, (32, 6))
    tokens[:, 4:] = 0
    inp = keras.Input((6,), dtype="int32")
    h = keras.layers.Embedding(20, 8, mask_zero=True)(inp)
    h = keras.layers.GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=1)(h, h)
    out = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(h))
    model = keras.Model(inp, out)
    model.compile(optimizer="adam", loss="mse")
    y = rng.normal(size=(32, 1)).astype(np.float32)
    hist = model.fit(tokens, y, epochs=5, batch_size=8, verbose=0).history["loss"]
    assert hist[-1] < hist[0]
    path = str(tmp_path / "gqa.keras")
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(tokens, verbose=0),
                               model.predict(tokens, verbose=0), rtol=1e-6)


def test_bad_head_counts_are_named():
    with pytest.raises(ValueError, match="num_query_heads.*divisible by.*num_key_value_heads"):
        keras.layers.GroupQueryAttention(head_dim=2, num_query_heads=3, num_key_value_heads=2)
    with pytest.raises(ValueError, match="sliding_window.*positive integer"):
        keras.layers.GroupQueryAttention(head_dim=2, num_query_heads=2, num_key_value_heads=1, sliding_window=0)
