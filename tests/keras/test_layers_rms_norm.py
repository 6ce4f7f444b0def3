"""RMSNormalization and keras.ops.rms_normalization / layer_normalization.

Expected values were printed by Keras 3.15.1 for the same calls; gradients are checked against PyTorch's
``F.rms_norm`` and numerically.
"""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.debug import check_gradients
from tests._oracle import require_torch

X = (np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 10) / 7


def test_last_axis_with_a_scale_matches_keras():
    layer = keras.layers.RMSNormalization()
    layer(X)
    assert [tuple(w.shape) for w in layer.weights] == [(4,)] and layer.weights[0].path == "rms_normalization/scale"
    layer.set_weights([np.array([0.5, 1.0, 1.5, 2.0], np.float32)])
    expected = [[[-0.583212, -1.049781, -1.399708, -1.632993], [-0.646996, -1.078326, -1.293992, -1.293992],
                 [-0.816483, -0.816483, 0.0, 1.632966]],
                [[0.272165, 0.816495, 1.63299, 2.72165], [0.395628, 0.923132, 1.582513, 2.373769],
                 [0.432742, 0.952033, 1.557872, 2.25026]]]
    np.testing.assert_allclose(layer(X).numpy(), expected, atol=2e-6)


def test_two_axes_and_epsilon_match_keras():
    layer = keras.layers.RMSNormalization(axis=[1, 2], epsilon=0.1)
    y = layer(X).numpy()
    assert tuple(layer.weights[0].shape) == (3, 4)
    np.testing.assert_allclose(y[0, 0], [-1.642511, -1.47826, -1.314009, -1.149758], atol=2e-6)
    np.testing.assert_allclose(y[1, 2], [1.169877, 1.286865, 1.403853, 1.52084], atol=2e-6)
    assert layer.get_config()["axis"] == [1, 2] and layer.get_config()["epsilon"] == 0.1
    again = keras.layers.RMSNormalization.from_config(layer.get_config())
    again(X)
    np.testing.assert_allclose(again(X).numpy(), y)


def test_ops_match_keras():
    gamma, beta = np.array([1., 2., 3., 4.], np.float32), np.array([0., 0.5, 0., -0.5], np.float32)
    np.testing.assert_allclose(keras.ops.layer_normalization(X, gamma=gamma, beta=beta).numpy()[0, 0],
                               [-1.341639, -0.394426, 1.341639, 4.866552], atol=1e-5)
    np.testing.assert_allclose(keras.ops.layer_normalization(X, gamma=gamma, rms_scaling=True).numpy()[0, 1],
                               [-5.366553, -8.944255, -10.733107, -10.733106], atol=1e-4)
    np.testing.assert_allclose(keras.ops.layer_normalization(X, axis=1).numpy()[0, :, 0],
                               [-1.224744, 0.0, 1.224745], atol=1e-5)
    np.testing.assert_allclose(keras.ops.rms_normalization(X, axis=(1, 2)).numpy()[1, 0],
                               [0.242239, 0.363358, 0.484478, 0.605597], atol=2e-6)


def test_gradients_match_torch_and_finite_differences():
    torch = require_torch()
    rng = np.random.default_rng(0)
    x, scale, up = rng.normal(size=(3, 5, 6)), rng.normal(size=(6,)), rng.normal(size=(3, 5, 6))
    xv, sv = tf.Variable(x), tf.Variable(scale)
    with tf.GradientTape() as tape:
        y = keras.ops.rms_normalization(xv, scale=sv, epsilon=1e-3)
        loss = tf.reduce_sum(y * up)
    gx, gs = tape.gradient(loss, [xv, sv])
    tx, ts = torch.tensor(x, requires_grad=True), torch.tensor(scale, requires_grad=True)
    ty = torch.nn.functional.rms_norm(tx, (6,), ts, 1e-3)
    (ty * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gs.numpy(), ts.grad.numpy(), rtol=1e-9, atol=1e-12)
    check_gradients(lambda a, s: keras.ops.rms_normalization(a, scale=s, axis=(1, 2), epsilon=1e-2),
                    rng.normal(size=(2, 3, 4)), rng.normal(size=(3, 4)))


def test_trains_saves_and_reloads(tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(64, 8)).astype(np.float32), rng.normal(size=(64, 1)).astype(np.float32)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16), keras.layers.RMSNormalization(),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    hist = model.fit(x, y, epochs=5, batch_size=16, verbose=0).history["loss"]
    assert hist[-1] < hist[0]
    path = str(tmp_path / "m.keras")
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))


def test_bad_axis_names_the_layer():
    with pytest.raises(ValueError, match='"rms_normalization.*axis 3 is out of bounds'):
        keras.layers.RMSNormalization(axis=3)(X)
