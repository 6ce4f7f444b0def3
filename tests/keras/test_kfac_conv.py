"""K-FAC for Conv2D layers (KFC, Grosse & Martens 2016): the factors against explicit loops over examples and
output locations, the update against an explicit Kronecker-product solve, convergence against SGD, and the
behaviour for layers it does not precondition."""
import warnings

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import optimizers as O
from tapeflow.keras.optimizers import kfac_blocks

_MSE = tf.keras.losses.MeanSquaredError()


def _cnn(input_shape, seed=0, **conv_kwargs):
    tf.random.set_seed(seed)
    conv = tf.keras.layers.Conv2D(**{"filters": 3, "kernel_size": 2, "activation": "tanh", **conv_kwargs})
    return tf.keras.Sequential([tf.keras.Input(input_shape), conv, tf.keras.layers.Flatten(),
                                tf.keras.layers.Dense(2)]), conv


def _data(model, n, seed=1):
    rs = np.random.default_rng(seed)
    x = rs.normal(size=(n,) + tuple(model.inputs[0].shape[1:])).astype("float32")
    return x, rs.normal(size=(n, 2)).astype("float32")


def _tape_preacts(model, conv, x, y):
    """The conv's pre-activations z and dloss/dz (a tape watching z), and the gradients of the variables."""
    cf = conv.data_format == "channels_first"
    with tf.GradientTape() as tape:
        h = tf.constant(x)
        for layer in model.layers:
            if layer is not conv:
                h = layer(h)
                continue
            z = tf.nn.conv2d(h, conv.kernel, conv.strides, conv.padding.upper(), dilations=conv.dilation_rate,
                             data_format="NCHW" if cf else "NHWC")
            if conv.bias is not None:
                z = z + (tf.reshape(conv.bias, (-1, 1, 1)) if cf else conv.bias)
            tape.watch(z)
            h = conv.activation(z)
        loss = _MSE(y, h)
    dz, *grads = tape.gradient(loss, [z] + model.trainable_variables)
    z, dz = z.numpy().astype(np.float64), dz.numpy().astype(np.float64)
    if cf:
        z, dz = z.transpose(0, 2, 3, 1), dz.transpose(0, 2, 3, 1)
    return z, dz, [g.numpy().astype(np.float64) for g in grads]


def _brute_force(conv, x, z, dz):
    """(A, G, patches, W_bar) from loops over examples i and output locations t: A = mean_{i,t} a_bar a_bar^T,
    G = (1/N) sum_{i,t} g g^T with g = N dloss/dz (per-example gradients of the batch-mean loss)."""
    if conv.data_format == "channels_first":
        x = x.transpose(0, 2, 3, 1)
    x = x.astype(np.float64)
    n, h, w, c = x.shape
    (kh, kw), (sh, sw), (dh, dw) = conv.kernel_size, conv.strides, conv.dilation_rate
    keh, kew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if conv.padding == "same":
        ho, wo = -(-h // sh), -(-w // sw)
        top, left = max((ho - 1) * sh + keh - h, 0) // 2, max((wo - 1) * sw + kew - w, 0) // 2
    else:
        ho, wo, top, left = (h - keh) // sh + 1, (w - kew) // sw + 1, 0, 0
    assert dz.shape == (n, ho, wo, conv.filters)
    patches, gs = [], []
    for i in range(n):
        for r in range(ho):
            for q in range(wo):
                patch = []
                for ki in range(kh):
                    for kj in range(kw):
                        for ch in range(c):
                            row, col = r * sh + ki * dh - top, q * sw + kj * dw - left
                            patch.append(x[i, row, col, ch] if 0 <= row < h and 0 <= col < w else 0.0)
                if conv.bias is not None:
                    patch.append(1.0)
                patches.append(patch)
                gs.append(n * dz[i, r, q])
    patches, gs = np.array(patches), np.array(gs)
    a_factor = sum(np.outer(a, a) for a in patches) / (n * ho * wo)
    g_factor = sum(np.outer(g, g) for g in gs) / n
    w_bar = conv.kernel.numpy().astype(np.float64).reshape(-1, conv.filters)
    if conv.bias is not None:
        w_bar = np.vstack([w_bar, conv.bias.numpy().astype(np.float64)])
    np.testing.assert_allclose(patches @ w_bar, z.reshape(-1, conv.filters), rtol=1e-5, atol=1e-5)
    return a_factor, g_factor, patches, w_bar


_VARIANTS = {
    "valid": dict(input_shape=(5, 4, 2)),
    "stride2_same": dict(input_shape=(5, 6, 2), kernel_size=3, strides=2, padding="same"),
    "dilation2_same": dict(input_shape=(5, 5, 2), kernel_size=(2, 3), dilation_rate=2, padding="same"),
    "dilation2_valid_nobias": dict(input_shape=(6, 5, 1), dilation_rate=(2, 1), use_bias=False),
    "stride2_valid_relu": dict(input_shape=(6, 6, 2), kernel_size=3, strides=(2, 1), activation="relu"),
    "channels_first_same": dict(input_shape=(2, 5, 4), padding="same", data_format="channels_first"),
}


@pytest.mark.parametrize("variant", list(_VARIANTS))
def test_conv_factors_match_loops_over_examples_and_locations(variant):
    kwargs = dict(_VARIANTS[variant])
    model, conv = _cnn(kwargs.pop("input_shape"), seed=2, **kwargs)
    x, y = _data(model, 3)
    z, dz, _ = _tape_preacts(model, conv, x, y)
    a_ref, g_ref, _, _ = _brute_force(conv, x, z, dz)
    opt = O.KFAC(model, learning_rate=0.1, damping=0.01, momentum=0.0)
    opt.train_step(x, y, _MSE)
    f = opt.factors[id(conv)]
    assert f["block"].__class__.__name__ == "Conv2DBlock"
    np.testing.assert_allclose(f["A"], a_ref, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(f["G"], g_ref, rtol=1e-4, atol=1e-9)
    assert "call" not in conv.__dict__


def test_conv_factors_do_not_depend_on_the_im2col_chunk_size(monkeypatch):
    model, conv = _cnn((6, 6, 2), seed=3, kernel_size=3, padding="same")
    x, y = _data(model, 5)
    facs = []
    for chunk in (1 << 21, 2 * 6 * 6 * 9 * 2):         # one chunk, then 2 examples per chunk (the last one 1)
        monkeypatch.setattr(kfac_blocks, "_CHUNK_ELEMENTS", chunk)
        opt = O.KFAC(model, learning_rate=0.1, momentum=0.0)
        _, _, records = opt.forward_and_gradients(x, y, _MSE)
        opt.update_factors(records)
        facs.append(opt.factors[id(conv)])
    for key in ("A", "G"):                           # float32 chunk products: equal to ~1e-7 of the scale
        ref = facs[0][key]
        np.testing.assert_allclose(facs[1][key], ref, rtol=1e-5, atol=1e-6 * np.abs(ref).max())


@pytest.mark.parametrize("damping_mode", ["factored", "simple"])
def test_conv_update_is_the_kronecker_inverse_applied_to_the_flat_gradient(damping_mode):
    """vec(update) = (A_damped (x) G_damped)^-1 vec(grad_W_bar), solved with the explicit 27 x 27 Kronecker
    product (row-major vec of the (kh*kw*in + 1, out) matrix), then reshaped to Keras's (kh, kw, in, out)."""
    model, conv = _cnn((4, 4, 2), seed=4, strides=2, padding="same")
    x, y = _data(model, 3, seed=5)
    z, dz, grads = _tape_preacts(model, conv, x, y)
    a_ref, g_ref, patches, _ = _brute_force(conv, x, z, dz)
    grad_w_bar = patches.T @ dz.reshape(-1, conv.filters)     # sum over examples and locations of a_bar dL/dz^T
    np.testing.assert_allclose(grad_w_bar[:-1].reshape(conv.kernel.shape), grads[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(grad_w_bar[-1], grads[1], rtol=1e-5, atol=1e-7)
    lam, lr = 0.05, 0.3
    if damping_mode == "factored":
        pi = np.sqrt((np.trace(a_ref) / len(a_ref)) / (np.trace(g_ref) / len(g_ref)))
        da, dg = pi * np.sqrt(lam), np.sqrt(lam) / pi
    else:
        da = dg = lam
    fisher = np.kron(a_ref + da * np.eye(len(a_ref)), g_ref + dg * np.eye(len(g_ref)))
    assert fisher.shape == (27, 27)
    update = np.linalg.solve(fisher, grad_w_bar.ravel()).reshape(grad_w_bar.shape)
    kernel0, bias0 = conv.kernel.numpy().astype(np.float64), conv.bias.numpy().astype(np.float64)
    opt = O.KFAC(model, learning_rate=lr, damping=lam, damping_mode=damping_mode, momentum=0.0)
    opt.train_step(x, y, _MSE)
    np.testing.assert_allclose(conv.kernel.numpy(), kernel0 - lr * update[:-1].reshape(kernel0.shape),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(conv.bias.numpy(), bias0 - lr * update[-1], rtol=1e-4, atol=1e-6)


def test_kfac_trains_a_small_cnn_faster_than_sgd():
    rs = np.random.default_rng(0)
    x = rs.normal(size=(64, 6, 6, 2)).astype("float32")
    teacher, _ = _cnn((6, 6, 2), seed=9, filters=4, kernel_size=3)
    y = teacher(x).numpy()
    results = {}
    for name in ("kfac", "sgd"):
        model, _ = _cnn((6, 6, 2), seed=1, filters=4, kernel_size=3)
        if name == "kfac":
            opt = O.KFAC(model, learning_rate=0.1, damping=0.03, momentum=0.5, inv_update_interval=5)
            for _ in range(30):
                opt.train_step(x, y, _MSE)
        else:
            opt = O.SGD(learning_rate=0.1, momentum=0.5)
            for _ in range(30):
                opt.minimize(lambda: _MSE(y, model(x)), model.trainable_variables)
        results[name] = float(_MSE(y, model(x)))
    assert results["kfac"] < 0.2 * results["sgd"], results


def test_grouped_conv_gets_momentum_sgd_with_a_warning():
    tf.random.set_seed(6)
    grouped = tf.keras.layers.Conv2D(4, 2, groups=2)
    dense = tf.keras.layers.Dense(2)
    model = tf.keras.Sequential([tf.keras.Input((4, 4, 2)), grouped, tf.keras.layers.Flatten(), dense])
    x, y = _data(model, 4)
    kernel0 = grouped.kernel.numpy().astype(np.float64)
    with tf.GradientTape() as tape:
        loss = _MSE(y, model(x))
    grad_kernel = tape.gradient(loss, grouped.kernel).numpy()
    opt = O.KFAC(model, learning_rate=0.5, damping=0.01, momentum=0.0)
    with pytest.warns(UserWarning, match=r"Conv2D layer '.*' has groups=2; K-FAC supports groups=1 only"):
        opt.train_step(x, y, _MSE)
    assert set(opt.factors) == {id(dense)}
    np.testing.assert_allclose(grouped.kernel.numpy(), kernel0 - 0.5 * grad_kernel, rtol=1e-5, atol=1e-7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # the warning is given once per layer
        opt.train_step(x, y, _MSE)
    alone = tf.keras.Sequential([tf.keras.Input((4, 4, 2)), tf.keras.layers.Conv2D(2, 2, groups=2)])
    with pytest.warns(UserWarning, match="groups=2"), \
            pytest.raises(ValueError, match="no trainable Dense or Conv2D layer that K-FAC can precondition"):
        O.KFAC(alone).train_step(x, np.zeros((4, 3, 3, 2), "float32"), _MSE)


def test_layer_overriding_call_is_not_preconditioned():
    tf.random.set_seed(7)
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.DropConnectDense(4, drop_rate=0.5),
                                 tf.keras.layers.Dense(2)])
    opt = O.KFAC(model, learning_rate=0.1, momentum=0.0)
    with pytest.warns(UserWarning, match="DropConnectDense, which overrides call"):
        opt.train_step(np.ones((4, 3), "float32"), np.zeros((4, 2), "float32"), _MSE)
    assert set(opt.factors) == {id(model.layers[1])}
