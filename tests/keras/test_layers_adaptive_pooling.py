"""Adaptive pooling layers and ops: values printed by Keras 3.15.1; values and gradients against PyTorch."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras.layers.adaptive_pooling import adaptive_bins
from tests._oracle import require_torch

X2 = (np.arange(2 * 5 * 7 * 3, dtype=np.float32).reshape(2, 5, 7, 3) % 11) / 3 - 1
X1 = (np.arange(2 * 3 * 10, dtype=np.float32).reshape(2, 3, 10) % 7) / 2
X3 = (np.arange(1 * 4 * 5 * 6 * 2, dtype=np.float32).reshape(1, 4, 5, 6, 2) % 13) / 4


def test_values_match_keras():
    y = keras.layers.AdaptiveAveragePooling2D((3, 4))(X2).numpy()
    assert y.shape == (2, 3, 4, 3)
    np.testing.assert_allclose(y[0, :, :, 0], [[0.25, 0.83333, 0.38889, 0.66667], [0.66667, 0.33333, 0.7037, 0.16667],
                                               [1.08333, 0.44444, 0.61111, -0.33333]], atol=1e-5)
    layer = keras.layers.AdaptiveMaxPooling2D(2)
    np.testing.assert_allclose(layer(X2).numpy()[1, :, :, 2], [[2.33333, 2.33333], [2.33333, 2.33333]], atol=1e-5)
    assert layer.get_config()["output_size"] == (2, 2) and layer.get_config()["data_format"] == "channels_last"
    layer = keras.layers.AdaptiveAveragePooling1D(4, data_format="channels_first")
    np.testing.assert_allclose(layer(X1).numpy()[0], [[0.5, 1.5, 1.83333, 0.5], [2.0, 1.83333, 1.0, 2.0],
                                                      [1.16667, 1.0, 2.5, 1.16667]], atol=1e-5)
    assert layer.get_config()["output_size"] == (4,)
    y = keras.layers.AdaptiveMaxPooling1D(6)(np.transpose(X1, (0, 2, 1))).numpy()
    np.testing.assert_allclose(y[1, :, 1], [3.0, 3.0, 1.0, 2.0, 3.0, 3.0])
    y = keras.layers.AdaptiveAveragePooling3D((2, 3, 4))(X3).numpy()
    np.testing.assert_allclose(y[0, 1, :, :, 1], [[1.3125, 1.0, 2.0, 1.6875], [1.47917, 1.16667, 1.625, 1.85417],
                                                  [1.375, 1.46875, 1.25, 1.75]], atol=1e-5)
    y = keras.layers.AdaptiveMaxPooling3D(2, data_format="channels_first")(np.transpose(X3, (0, 4, 1, 2, 3))).numpy()
    np.testing.assert_allclose(y[0, 0], [[[3.0, 3.0], [3.0, 3.0]], [[3.0, 3.0], [3.0, 2.75]]])


def test_bins_are_pytorchs():
    assert adaptive_bins(10, 4) == [(0, 3), (2, 5), (5, 8), (7, 10)]
    assert adaptive_bins(2, 3) == [(0, 1), (0, 2), (1, 2)]    # more cells than inputs: bins overlap
    assert adaptive_bins(6, 6) == [(i, i + 1) for i in range(6)]


@pytest.mark.parametrize("rank,shape,size", [(1, (2, 11, 3), (4,)), (2, (2, 7, 9, 2), (3, 5)),
                                             (2, (1, 3, 2, 2), (5, 4)), (3, (1, 5, 4, 6, 2), (2, 3, 4))])
@pytest.mark.parametrize("mode", ["average", "max"])
def test_values_and_gradients_match_torch(rank, shape, size, mode):
    torch = require_torch()
    rng = np.random.default_rng(rank)
    x = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.01   # distinct values: no max ties
    up = rng.normal(size=(shape[0],) + size + (shape[-1],))
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        op = keras.ops.adaptive_average_pool if mode == "average" else keras.ops.adaptive_max_pool
        y = op(xv, size)
        loss = tf.reduce_sum(y * up)
    g = tape.gradient(loss, xv).numpy()
    tx = torch.tensor(np.moveaxis(x, -1, 1), requires_grad=True)
    fn = getattr(torch.nn.functional, f"adaptive_{'avg' if mode == 'average' else 'max'}_pool{rank}d")
    ty = fn(tx, size)
    (ty * torch.tensor(np.moveaxis(up, -1, 1))).sum().backward()
    np.testing.assert_allclose(y.numpy(), np.moveaxis(ty.detach().numpy(), 1, -1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g, np.moveaxis(tx.grad.numpy(), 1, -1), rtol=1e-12, atol=1e-12)


def test_in_a_model_trains_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.random((32, 9, 9, 2)).astype(np.float32), rng.integers(0, 3, 32)
    model = keras.Sequential([keras.Input((None, None, 2)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.AdaptiveAveragePooling2D(2), keras.layers.Flatten(),
                              keras.layers.Dense(3)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    hist = model.fit(x, y, epochs=4, batch_size=8, verbose=0).history["loss"]
    assert hist[-1] < hist[0]
    assert model.predict(rng.random((2, 13, 6, 2)), verbose=0).shape == (2, 3)   # any input size
    path = str(tmp_path / "m.keras")
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="AdaptiveMaxPooling2D.*output_size.*tuple of 2"):
        keras.layers.AdaptiveMaxPooling2D((1, 2, 3))
    with pytest.raises(ValueError, match="output_size.*>= 1"):
        keras.layers.AdaptiveAveragePooling1D(0)
    with pytest.raises(ValueError, match="adaptive_max_pool: expected inputs of rank 3, 4 or 5"):
        keras.ops.adaptive_max_pool(np.ones((2, 3)), 1)
