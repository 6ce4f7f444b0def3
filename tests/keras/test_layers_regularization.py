"""Noise / dropout variants, ActivityRegularization, DropConnectDense and StochasticDepth."""
import json

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers

ALPHA, SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


@pytest.fixture(autouse=True)
def _fresh():
    keras.backend.clear_session()
    tf.random.set_seed(0)
    yield


RANDOM_LAYERS = [
    lambda: layers.SpatialDropout1D(0.4), lambda: layers.SpatialDropout2D(0.4), lambda: layers.AlphaDropout(0.3),
    lambda: layers.GaussianNoise(0.5), lambda: layers.GaussianDropout(0.3), lambda: layers.StochasticDepth(0.4),
    lambda: layers.DropConnectDense(3, drop_rate=0.5)]


def _input_for(layer):
    if isinstance(layer, layers.SpatialDropout2D):
        return np.ones((4, 3, 3, 5), dtype=np.float32)
    return np.random.default_rng(1).standard_normal((4, 6, 5)).astype(np.float32)


@pytest.mark.parametrize("make", RANDOM_LAYERS)
def test_identity_at_inference_and_repeatable_with_set_seed(make):
    layer = make()
    x = _input_for(layer)
    y_inf = layer(x, training=False).numpy()
    if not isinstance(layer, layers.DropConnectDense):
        np.testing.assert_array_equal(y_inf, x)
    tf.random.set_seed(7)
    a = layer(x, training=True).numpy()
    b = layer(x, training=True).numpy()
    tf.random.set_seed(7)
    a2 = layer(x, training=True).numpy()
    np.testing.assert_array_equal(a, a2)
    assert not np.array_equal(a, b)
    assert not np.array_equal(a, y_inf)
    cfg = layer.get_config()
    assert type(layer).from_config(json.loads(json.dumps(cfg))).get_config() == cfg


def test_spatial_dropout_drops_whole_channels_and_rescales():
    y = layers.SpatialDropout2D(0.5)(np.ones((64, 4, 4, 8), dtype=np.float32), training=True).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert (y == y[:, :1, :1, :]).all()  # one draw per (sample, channel)
    assert 0.35 < (y[:, 0, 0] == 0).mean() < 0.65
    y1 = layers.SpatialDropout1D(0.5)(np.ones((64, 5, 8), dtype=np.float32), training=True).numpy()
    assert (y1 == y1[:, :1]).all() and set(np.unique(y1)) <= {0.0, 2.0}
    yc = layers.SpatialDropout2D(0.5, data_format="channels_first")(np.ones((8, 6, 3, 3), np.float32), training=True)
    assert (yc.numpy() == yc.numpy()[:, :, :1, :1]).all()


def test_alpha_dropout_keras_formula_and_selu_statistics():
    rate = 0.2
    x = np.random.default_rng(2).standard_normal((200000,)).astype(np.float32)
    y = layers.AlphaDropout(rate)(x, training=True).numpy()
    alpha_p = -ALPHA * SCALE
    a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * rate
    kept = np.isclose(y, a * x + b, atol=1e-5)
    dropped = np.isclose(y, a * alpha_p + b, atol=1e-5)
    assert (kept | dropped).all()
    assert abs(dropped.mean() - rate) < 0.01
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01  # zero mean, unit variance kept


def test_gaussian_noise_and_dropout_statistics():
    x = np.full((200000,), 2.0, dtype=np.float32)
    n = layers.GaussianNoise(0.3)(x, training=True).numpy() - 2
    assert abs(n.mean()) < 0.005 and abs(n.std() - 0.3) < 0.005
    d = layers.GaussianDropout(0.2)(x, training=True).numpy() / 2
    assert abs(d.mean() - 1) < 0.005 and abs(d.std() - np.sqrt(0.2 / 0.8)) < 0.005


def test_activity_regularization_adds_l1_l2_loss():
    layer = layers.ActivityRegularization(l1=0.1, l2=0.01)
    x = np.array([[1.0, -2.0, 3.0]], dtype=np.float32)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0]), 0.1 * 6 + 0.01 * 14, rtol=1e-6)
    assert layer.get_config()["l1"] == 0.1 and "activity_regularizer" not in layer.get_config()


def test_dropconnect_dense_masks_kernel_entries():
    layer = layers.DropConnectDense(4, drop_rate=0.5, use_bias=False, kernel_initializer="ones")
    x = np.eye(3, dtype=np.float32)
    dense_out = layer(x, training=False).numpy()
    np.testing.assert_array_equal(dense_out, np.ones((3, 4)))  # inference: plain Dense
    y = layer(x, training=True).numpy()  # rows of eye(3) read the masked kernel back
    assert set(np.unique(y)) <= {0.0, 2.0} and 0 < (y == 0).sum() < 12
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(layer(x, training=True))
    g = tape.gradient(total, layer.kernel).numpy()
    assert set(np.unique(g)) <= {0.0, 2.0}  # no gradient to dropped entries
    assert [w.name for w in layer.weights] == ["kernel"]
    mean = np.mean([layer(x, training=True).numpy() for _ in range(400)], axis=0)
    np.testing.assert_allclose(mean, dense_out, atol=0.15)  # unbiased in expectation


def test_stochastic_depth_row_mode_like_torchvision():
    x = np.random.default_rng(3).standard_normal((2000, 3, 2)).astype(np.float32)
    sd = layers.StochasticDepth(rate=0.25)
    y = sd(x, training=True).numpy()
    dropped = (y == 0).all(axis=(1, 2))
    kept = np.isclose(y, x / 0.75, rtol=1e-6).all(axis=(1, 2))
    assert (dropped | kept).all()  # each sample's branch is dropped or scaled by 1/survival
    assert abs(dropped.mean() - 0.25) < 0.04
    shortcut = np.ones_like(x)
    y2 = sd([shortcut, x], training=True).numpy()
    rows = (y2 == 1).all(axis=(1, 2)) | np.isclose(y2, 1 + x / 0.75, rtol=1e-5, atol=1e-5).all(axis=(1, 2))
    assert rows.all()
    np.testing.assert_array_equal(sd([shortcut, x], training=False).numpy(), shortcut + x)
    batch = layers.StochasticDepth(survival_probability=0.5, mode="batch")(x, training=True).numpy()
    assert (batch == 0).all() or np.allclose(batch, 2 * x)
    assert layers.StochasticDepth(survival_probability=0.8).rate == pytest.approx(0.2)


def test_stochastic_depth_in_functional_residual_block_trains():
    inp = keras.Input((8,))
    h = layers.Dense(8, activation="relu")(inp)
    out = layers.StochasticDepth(0.2)([inp, h])
    model = keras.Model(inp, layers.Dense(1)(out))
    model.compile("adam", "mse")
    x = np.random.default_rng(4).standard_normal((64, 8)).astype(np.float32)
    hist = model.fit(x, x.sum(1, keepdims=True), epochs=3, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()


def test_bad_rates_are_refused():
    with pytest.raises(ValueError, match="rate"):
        layers.SpatialDropout2D(1.5)
    with pytest.raises(ValueError, match="rate"):
        layers.GaussianDropout(1.0)
    with pytest.raises(ValueError, match="mode"):
        layers.StochasticDepth(0.1, mode="cols")
