"""keras.ops on KerasTensors: a functional model built from keras.ops calls, as Keras 3 allows."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers, ops

RS = np.random.RandomState(0)
X = RS.rand(6, 5, 4).astype(np.float32)


def build():
    inp = keras.Input((5, 4))
    pooled = ops.concatenate([ops.mean(inp, axis=1), ops.max(inp, axis=1)], axis=-1)
    gated = ops.where(ops.greater(pooled, 0.5), pooled, ops.zeros_like(pooled))
    attn = ops.softmax(ops.matmul(inp, ops.transpose(inp, (0, 2, 1))), axis=-1)
    flat = ops.reshape(ops.matmul(attn, inp), (-1, 20))
    h = ops.squeeze(ops.expand_dims(ops.relu(gated) * 2.0 + ops.sigmoid(gated), 1), 1)
    return keras.Model(inp, layers.Dense(3)(ops.concatenate([h, flat], axis=-1)))


def reference(model, x):
    pooled = np.concatenate([x.mean(1), x.max(1)], -1)
    gated = np.where(pooled > 0.5, pooled, 0)
    s = x @ x.transpose(0, 2, 1)
    e = np.exp(s - s.max(-1, keepdims=True))
    flat = ((e / e.sum(-1, keepdims=True)) @ x).reshape(-1, 20)
    h = np.maximum(gated, 0) * 2 + 1 / (1 + np.exp(-gated))
    w, b = model.layers[-1].get_weights()
    return np.concatenate([h, flat], -1) @ w + b


def test_model_of_ops_matches_numpy_and_reports_shapes():
    keras.backend.clear_session()  # names as in a fresh session
    m = build()
    np.testing.assert_allclose(m(X).numpy(), reference(m, X), rtol=1e-5, atol=1e-6)
    kinds = [(op.name, op.output.shape.as_list()) for op in m.operations[1:3]]
    assert kinds == [("mean", [None, 4]), ("max", [None, 4])]


def test_config_and_keras_file_round_trip(tmp_path):
    m = build()
    again = keras.Model.from_config(m.get_config())
    again.set_weights(m.get_weights())
    np.testing.assert_array_equal(again(X).numpy(), m(X).numpy())
    m.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded(X).numpy(), m(X).numpy())


def fit(model):
    tf.random.set_seed(0)
    model.compile(optimizer="adam", loss="mse")
    x = RS.rand(64, 5, 4).astype(np.float32)
    y = RS.rand(64, 3).astype(np.float32)
    hist = model.fit(x, y, batch_size=16, epochs=5, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    return model


def test_fit_trains_through_the_ops_and_replays_them():
    inp = keras.Input((5, 4))
    attn = ops.softmax(ops.matmul(inp, ops.transpose(inp, (0, 2, 1))), axis=-1)
    h = ops.concatenate([ops.mean(inp, axis=1), ops.reshape(ops.matmul(attn, inp), (-1, 20))], axis=-1)
    assert fit(keras.Model(inp, layers.Dense(3)(h)))._trace_status == "replaying"
    # ops.greater computes its mask outside the primitives: the two recordings differ, the step stays eager
    assert "constant" in fit(build())._trace_status


def test_shape_of_a_keras_tensor_and_keyword_tensors():
    inp = keras.Input((5, 4))
    assert ops.shape(inp) == (None, 5, 4)
    assert ops.add(inp, x2=inp)._keras_history[0].class_name == "Add"  # bound by name, as Keras's function does
    with pytest.raises(TypeError, match="pass KerasTensors positionally"):
        ops.mish(inp, extra=inp)  # an op without Keras's layout keeps the rule
