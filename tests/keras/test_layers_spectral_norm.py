"""SpectralNormalization: the normalized kernel, vector_u and outputs Keras 3.15.1 computed for the same
weights (printed by it), weight order and roles, a GAN-style training run, and config round trips."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import layers as L

KERAS_DENSE = {  # Dense(3) wrapped, power_iterations=2, one training call
    "y": [[-0.48652052879333496, -0.0754348635673523, -0.19153329730033875],
          [1.2320119142532349, 0.7370291948318481, -0.16537009179592133]],
}


def _dense_case():
    r = np.random.default_rng(0)
    kernel, u, x = (r.normal(size=s).astype("float32") for s in ((4, 3), (1, 3), (2, 4)))
    sn = L.SpectralNormalization(L.Dense(3), power_iterations=2)
    sn.build((None, 4))
    sn.layer.kernel.assign(kernel)
    sn.vector_u.assign(u)
    return sn, kernel, x


def test_matches_keras_and_the_power_method():
    sn, kernel, x = _dense_case()
    assert [w.name for w in sn.weights] == ["kernel", "vector_u", "bias"]           # Keras's order
    assert [w.trainable for w in sn.weights] == [True, False, True]
    y = sn(x, training=True).numpy()
    np.testing.assert_allclose(y, KERAS_DENSE["y"], rtol=1e-5, atol=1e-6)
    sigma = np.linalg.svd(kernel, compute_uv=False)[0]                              # two iterations: close to it
    np.testing.assert_allclose(sn.layer.kernel.numpy() * sigma, kernel, rtol=0.05)
    np.testing.assert_array_equal(sn(x).numpy(), y)                                 # inference: no update
    np.testing.assert_allclose(sn(x).numpy(), x @ sn.layer.kernel.numpy(), rtol=1e-6, atol=1e-6)


def test_conv_kernel_and_convergence():
    sn = L.SpectralNormalization(L.Conv2D(5, 3), power_iterations=30)
    y = sn(np.random.default_rng(1).normal(size=(1, 6, 6, 2)).astype("float32"), training=True)
    assert y.shape == (1, 4, 4, 5) and sn.vector_u.shape == (1, 5)
    top = np.linalg.svd(sn.layer.kernel.numpy().reshape(-1, 5), compute_uv=False)[0]
    assert abs(top - 1.0) < 1e-3
    zero = L.SpectralNormalization(L.Dense(2, kernel_initializer="zeros"))
    zero(np.ones((1, 3), "float32"), training=True)
    assert not zero.layer.kernel.numpy().any()                                      # left alone, no NaN


def test_trains_in_fit_and_round_trips(tmp_path):
    model = tf.keras.Sequential([L.Input((8,)), L.SpectralNormalization(L.Dense(16, activation="relu")),
                                 L.SpectralNormalization(L.Dense(1))])
    x = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model.compile("adam", tf.keras.losses.BinaryCrossentropy(from_logits=True))
    loss = model.fit(x, y, epochs=10, batch_size=16, verbose=0).history["loss"]
    assert loss[-1] < loss[0]
    path = str(tmp_path / "sn.keras")
    model.save(path)
    again = tf.keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    layer = model.layers[0]
    assert L.SpectralNormalization.from_config(layer.get_config()).get_config() == layer.get_config()


def test_errors():
    with pytest.raises(ValueError, match="power_iterations must be a positive integer"):
        L.SpectralNormalization(L.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match="has no 'kernel' nor 'embeddings'"):
        L.SpectralNormalization(L.ReLU())(np.ones((1, 2), "float32"))
