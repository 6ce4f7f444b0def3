"""BatchNormalization, LayerNormalization, GroupNormalization: Keras 3 semantics, gradients, PyTorch."""
import json

import numpy as np
import pytest
from _layer_grad import check_layer_gradients

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers
from tapeflow.ops.norm_ops import fused_normalize

rng = np.random.default_rng(3)


@pytest.fixture(autouse=True)
def _fresh():
    keras.backend.clear_session()
    yield


def rand(*shape):
    return rng.standard_normal(shape)


# -- BatchNormalization: weights, modes, moving statistics ------------------------------------
def test_batchnorm_weights_order_shapes_and_trainability():
    bn = layers.BatchNormalization()
    bn(np.ones((2, 3, 3, 5), dtype=np.float32))
    assert [(w.name, tuple(w.shape)) for w in bn.weights] == [
        ("gamma", (5,)), ("beta", (5,)), ("moving_mean", (5,)), ("moving_variance", (5,))]
    assert [w.name for w in bn.trainable_weights] == ["gamma", "beta"]
    assert [w.name for w in bn.non_trainable_weights] == ["moving_mean", "moving_variance"]
    np.testing.assert_array_equal(bn.moving_variance.numpy(), np.ones(5))
    nb = layers.BatchNormalization(axis=1, center=False)
    nb(np.ones((2, 4, 3, 3), dtype=np.float32))
    assert [(w.name, tuple(w.shape)) for w in nb.weights] == [
        ("gamma", (4,)), ("moving_mean", (4,)), ("moving_variance", (4,))]


def test_batchnorm_training_uses_batch_stats_and_updates_moving_keras_rule():
    x = rand(8, 3, 3, 4).astype(np.float32) * 2 + 1
    bn = layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
    bn(x[:1])
    gamma, beta = rand(4), rand(4)
    mm0, mv0 = rand(4), np.abs(rand(4)) + 0.5
    bn.set_weights([gamma, beta, mm0, mv0])
    y = bn(x, training=True).numpy()
    mean, var = x.mean((0, 1, 2)), x.var((0, 1, 2))  # biased variance
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3) * gamma + beta, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.numpy(), mm0 * 0.9 + mean * 0.1, rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), mv0 * 0.9 + var * 0.1, rtol=1e-5)
    # inference: the moving statistics, and nothing moves
    mm, mv = bn.moving_mean.numpy(), bn.moving_variance.numpy()
    y2 = bn(x, training=False).numpy()
    np.testing.assert_allclose(y2, (x - mm) / np.sqrt(mv + 1e-3) * gamma + beta, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), mm)
    np.testing.assert_allclose(bn(x).numpy(), y2)  # training defaults to False outside fit


def test_frozen_batchnorm_runs_in_inference_mode():
    x = rand(6, 4).astype(np.float32) + 3
    bn = layers.BatchNormalization()
    bn(x)
    bn.trainable = False
    before = [w.numpy() for w in bn.weights]
    y = bn(x, training=True).numpy()
    np.testing.assert_allclose(y, x / np.sqrt(1 + 1e-3), rtol=1e-5)
    for w, b in zip(bn.weights, before):
        np.testing.assert_array_equal(w.numpy(), b)
    assert bn.trainable_weights == [] and len(bn.non_trainable_weights) == 4


def test_batchnorm_in_fit_updates_moving_stats_and_is_not_trained_by_optimizer():
    tf.random.set_seed(0)
    x = rand(64, 5).astype(np.float32) * 3 + 2
    y = (x.sum(1) > 10).astype(np.int64)
    model = keras.Sequential([keras.Input((5,)), layers.BatchNormalization(), layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    expected = np.zeros(5)
    for _ in range(2):
        for s in range(0, 64, 16):
            expected = expected * 0.99 + x[s:s + 16].mean(0) * 0.01
    np.testing.assert_allclose(model.layers[0].moving_mean.numpy(), expected, rtol=1e-5)
    assert len(model.trainable_weights) == 4  # gamma, beta, kernel, bias: the moving stats are not trained


def test_batchnorm_mask_counts_only_unmasked_steps():
    x = rand(2, 4, 3).astype(np.float32)
    mask = np.array([[True, True, False, True], [True, False, False, True]])
    bn = layers.BatchNormalization(momentum=0.0)
    bn(x, training=True, mask=tf.constant(mask))
    sel = x[mask]
    np.testing.assert_allclose(bn.moving_mean.numpy(), sel.mean(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), sel.var(0), rtol=1e-3, atol=1e-6)


def test_norm_configs_round_trip():
    for layer in (layers.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-5, center=False),
                  layers.LayerNormalization(axis=[1, 2], epsilon=1e-6),
                  layers.GroupNormalization(groups=2, scale=False)):
        cfg = layer.get_config()
        assert type(layer).from_config(json.loads(json.dumps(cfg))).get_config() == cfg
        assert layers.deserialize(layers.serialize(layer)).get_config() == cfg


def test_layer_and_group_norm_weights():
    ln = layers.LayerNormalization(axis=[1, 2])
    ln(np.ones((2, 3, 4, 5), dtype=np.float32))
    assert [(w.name, tuple(w.shape)) for w in ln.weights] == [("gamma", (3, 4)), ("beta", (3, 4))]
    gn = layers.GroupNormalization(groups=3)
    gn(np.ones((2, 4, 6), dtype=np.float32))
    assert [(w.name, tuple(w.shape)) for w in gn.weights] == [("gamma", (6,)), ("beta", (6,))]
    with pytest.raises(ValueError, match="multiple of groups"):
        layers.GroupNormalization(groups=4)(np.ones((1, 2, 6), dtype=np.float32))


def test_fused_normalize_returns_moments():
    x = rand(5, 3)
    y, mean, var = fused_normalize(tf.constant(x), 1.0, 0.0, axes=0, epsilon=0.0)
    np.testing.assert_allclose(mean.ravel(), x.mean(0))
    np.testing.assert_allclose(var.ravel(), x.var(0))
    np.testing.assert_allclose(y.numpy(), (x - x.mean(0)) / x.std(0), rtol=1e-10)


# -- gradients ---------------------------------------------------------------------------------
@pytest.mark.parametrize("make,shape,training", [
    (lambda: layers.BatchNormalization(dtype="float64", gamma_initializer="random_normal",
                                       beta_initializer="random_normal"), (4, 3, 2, 3), True),
    (lambda: layers.BatchNormalization(dtype="float64", gamma_initializer="random_normal"), (4, 3), False),
    (lambda: layers.BatchNormalization(axis=1, dtype="float64", gamma_initializer="random_normal"), (3, 2, 4), True),
    (lambda: layers.LayerNormalization(dtype="float64", gamma_initializer="random_normal"), (3, 5), False),
    (lambda: layers.LayerNormalization(axis=[1, 2], dtype="float64", gamma_initializer="random_normal"),
     (2, 3, 4), False),
    (lambda: layers.GroupNormalization(groups=2, dtype="float64", gamma_initializer="random_normal",
                                       beta_initializer="random_normal"), (2, 3, 3, 4), False),
])
def test_gradients_match_central_differences(make, shape, training):
    check_layer_gradients(make(), rand(*shape) * 2 + 0.5, training=training)


def test_second_order_gradient_through_fused_normalize():
    x = tf.constant(rand(4, 3))
    g = tf.constant(rand(3))
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = fused_normalize(x, g, 0.0, axes=0)[0]
            loss = tf.reduce_sum(y * y * y)
        dx = inner.gradient(loss, x)
        s = tf.reduce_sum(dx * dx)
    d2 = outer.gradient(s, x).numpy()
    eps = 1e-6

    def s_np(xv):
        xt = tf.constant(xv)
        with tf.GradientTape() as t:
            t.watch(xt)
            yy = fused_normalize(xt, g, 0.0, axes=0)[0]
            ll = tf.reduce_sum(yy * yy * yy)
        return float(tf.reduce_sum(t.gradient(ll, xt) ** 2))
    xv = x.numpy().copy()
    num = np.zeros_like(xv)
    for i in np.ndindex(xv.shape):
        up, dn = xv.copy(), xv.copy()
        up[i] += eps
        dn[i] -= eps
        num[i] = (s_np(up) - s_np(dn)) / (2 * eps)
    np.testing.assert_allclose(d2, num, rtol=1e-5, atol=1e-6)


# -- PyTorch oracle ------------------------------------------------------------------------------
def test_batchnorm_training_matches_torch(torch):
    F = torch.nn.functional
    x = rand(6, 4, 5, 3) * 1.5 + 0.7
    n = 6 * 4 * 5
    bn = layers.BatchNormalization(dtype="float64")  # Keras momentum 0.99 == torch momentum 0.01
    bn(x[:1])
    gamma, beta, mm0, mv0 = rand(3), rand(3), rand(3), np.abs(rand(3)) + 0.5
    bn.set_weights([gamma, beta, mm0, mv0])
    xt = torch.tensor(x, requires_grad=True)
    g_t, b_t = torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)
    rm, rv = torch.tensor(mm0), torch.tensor(mv0)
    ty = F.batch_norm(xt.permute(0, 3, 1, 2), rm, rv, g_t, b_t, training=True, momentum=0.01, eps=1e-3)
    ty = ty.permute(0, 2, 3, 1)
    r = rand(*x.shape)
    (ty * torch.tensor(r)).sum().backward()
    xtf = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xtf)
        y = bn(xtf, training=True)
        loss = tf.reduce_sum(y * tf.constant(r))
    gx, gg, gb = tape.gradient(loss, [xtf, bn.gamma, bn.beta])
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gx.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(gg.numpy(), g_t.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(gb.numpy(), b_t.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(bn.moving_mean.numpy(), rm.numpy(), rtol=1e-12)
    # torch moves the variance with the unbiased batch variance, Keras with the biased one
    np.testing.assert_allclose(bn.moving_variance.numpy() - 0.99 * mv0,
                               (rv.numpy() - 0.99 * mv0) * (n - 1) / n, rtol=1e-10)
    # inference with the moving statistics
    ti = F.batch_norm(torch.tensor(x).permute(0, 3, 1, 2), rm, rv * 0 + torch.tensor(bn.moving_variance.numpy()),
                      torch.tensor(gamma), torch.tensor(beta), training=False, eps=1e-3).permute(0, 2, 3, 1)
    np.testing.assert_allclose(bn(x, training=False).numpy(), ti.numpy(), rtol=1e-10, atol=1e-10)


def test_layer_and_group_norm_match_torch(torch):
    F = torch.nn.functional
    x = rand(3, 4, 6) * 2 + 1
    ln = layers.LayerNormalization(dtype="float64")  # Keras eps 1e-3 (torch's default is 1e-5)
    ln(x)
    gamma, beta = rand(6), rand(6)
    ln.set_weights([gamma, beta])
    xt = torch.tensor(x, requires_grad=True)
    g_t, b_t = torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)
    ty = F.layer_norm(xt, (6,), g_t, b_t, eps=1e-3)
    r = rand(*x.shape)
    (ty * torch.tensor(r)).sum().backward()
    xtf = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xtf)
        y = ln(xtf)
        loss = tf.reduce_sum(y * tf.constant(r))
    grads = tape.gradient(loss, [xtf, ln.gamma, ln.beta])
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-10)
    for a, e in zip(grads, (xt.grad, g_t.grad, b_t.grad)):
        np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=1e-8, atol=1e-10)
    # GroupNormalization channels_last vs torch group_norm on NCHW (contiguous channel groups)
    x4 = rand(2, 3, 3, 6)
    gn = layers.GroupNormalization(groups=3, dtype="float64")
    gn(x4)
    gamma, beta = rand(6), rand(6)
    gn.set_weights([gamma, beta])
    xt = torch.tensor(x4, requires_grad=True)
    g_t, b_t = torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)
    ty = F.group_norm(xt.permute(0, 3, 1, 2), 3, g_t, b_t, eps=1e-3).permute(0, 2, 3, 1)
    r = rand(*x4.shape)
    (ty * torch.tensor(r)).sum().backward()
    xtf = tf.constant(x4)
    with tf.GradientTape() as tape:
        tape.watch(xtf)
        y = gn(xtf)
        loss = tf.reduce_sum(y * tf.constant(r))
    grads = tape.gradient(loss, [xtf, gn.gamma, gn.beta])
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-10)
    for a, e in zip(grads, (xt.grad, g_t.grad, b_t.grad)):
        np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=1e-8, atol=1e-10)
