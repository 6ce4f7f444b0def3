"""ReversibleEmbedding: values printed by Keras 3.15.1 for the same weights and calls."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tests.keras._layer_grad import check_layer_gradients

EMB = np.array([[0.1257302165031433, -0.13210485875606537, 0.6404226422309875],
                [0.10490011423826218, -0.5356693863868713, 0.3615950644016266],
                [1.3040000200271606, 0.9470809698104858, -0.7037352323532104],
                [-1.2654215097427368, -0.6232744455337524, 0.04132597893476486],
                [-2.32503080368042, -0.218791663646698, -1.2459110021591187],
                [-0.7322673797607422, -0.5442590117454529, -0.3163001537322998]], np.float32)
REV = np.array([[0.4116305410861969, 1.042513370513916, -0.12853465974330902, 1.3664634227752686,
                 -0.6651946902275085, 0.35151007771492004],
                [0.9034701585769653, 0.0940122976899147, -0.7434992790222168, -0.9217253923416138,
                 -0.4577258229255676, 0.22019512951374054],
                [-1.0096181631088257, -0.20917557179927826, -0.15922501683235168, 0.5408455729484558,
                 0.21465912461280823, 0.35537269711494446]], np.float32)
H = np.array([[-0.6538286209106445, -0.12961363792419434, 0.7839754819869995],
              [1.4934310913085938, -1.2590655088424683, 1.5139237642288208]], np.float32)


def test_untied_soft_capped_reverse_matches_keras():
    layer = keras.layers.ReversibleEmbedding(6, 3, tie_weights=False, logit_soft_cap=2.0, mask_zero=True)
    out = layer(np.array([[1, 0, 5]]))
    assert [w.path for w in layer.weights] == ["reversible_embedding/embeddings",
                                               "reversible_embedding/reverse_embeddings"]
    assert out._keras_mask.numpy().tolist() == [[True, False, True]]
    layer.set_weights([EMB, REV])
    np.testing.assert_allclose(layer(H, reverse=True).numpy(), [
        [-1.058175, -0.808802, 0.055564, -0.346427, 0.639321, 0.020235],
        [-1.544304, 1.017348, 0.492752, 1.929457, -0.092073, 0.747649]], atol=2e-6)
    config = layer.get_config()
    assert (config["tie_weights"], config["logit_soft_cap"], config["reverse_dtype"]) == (False, 2.0, None)


def test_tied_reverse_matches_keras_and_shares_the_table():
    layer = keras.layers.ReversibleEmbedding(6, 3)
    layer(np.array([[1]]))
    layer.set_weights([EMB])
    assert len(layer.weights) == 1
    np.testing.assert_allclose(layer(H, reverse=True).numpy(), [
        [0.436992, 0.284325, -1.527058, 0.940552, 0.571766, 0.301349],
        [1.323649, 1.378531, -0.310404, -1.042512, -5.083014, -0.887188]], atol=2e-6)


class _RoundTrip(keras.layers.Layer):   # embed, then map back: gradients reach the table both ways
    def __init__(self, inner, **kwargs):
        super().__init__(dtype="float64", **kwargs)
        self.inner = inner

    def call(self, x):
        looked_up = self.inner(tf.constant(np.arange(8).reshape(2, 4) % 5))
        return self.inner(tf.nn.tanh(x) + looked_up, reverse=True)


@pytest.mark.parametrize("tie", [True, False])
def test_reverse_gradients(tie):
    layer = keras.layers.ReversibleEmbedding(5, 3, tie_weights=tie, logit_soft_cap=1.5, dtype="float64")
    layer(np.array([[0, 1]]))
    check_layer_gradients(_RoundTrip(layer), np.random.default_rng(0).normal(size=(2, 4, 3)))


def test_tied_language_model_trains_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 12, (64, 5))
    emb = keras.layers.ReversibleEmbedding(12, 8, name="tokens")
    inp = keras.Input((5,), dtype="int32")
    h = keras.layers.Dense(8, activation="tanh")(emb(inp))
    logits = emb(h, reverse=True)
    model = keras.Model(inp, logits)
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    hist = model.fit(ids, ids, epochs=6, batch_size=16, verbose=0).history["loss"]
    assert hist[-1] < hist[0] * 0.8
    assert len(model.trainable_weights) == 3            # the table, and the Dense's kernel and bias
    path = str(tmp_path / "lm.keras")
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(ids, verbose=0), model.predict(ids, verbose=0),
                               rtol=1e-6)


def test_reverse_input_width_is_checked():
    layer = keras.layers.ReversibleEmbedding(6, 3)
    layer(np.array([[1]]))
    with pytest.raises(ValueError, match="reverse=True takes inputs whose last axis is output_dim \\(3\\)"):
        layer(np.ones((2, 4), np.float32), reverse=True)
