"""The spec's section-3 network, differentiated by the tape and by hand.

Column-major, as the spec writes it (features x batch)::

    logits = W1 @ X + b1;  a = relu(logits);  logits_out = W2 @ a + b2
    probs = softmax(logits_out) over the class axis (axis 0)
    loss = -reduce_mean(y_true * log(probs))           # mean over all k*N entries

Hand-derived backward pass (N examples, k classes): with s_j = sum_i y_ij,
    dL/dlogits_out = (probs * s - y) / (k N)
    dW2 = dz2 @ a.T,   db2 = sum_j dz2,   da = W2.T @ dz2
    dz1 = da * (logits > 0),   dW1 = dz1 @ X.T,   db1 = sum_j dz1
The 1/(k N) (not 1/N) comes from reduce_mean averaging over every entry, classes included.
"""
import numpy as np
import pytest

import tapeflow as tf


def make_problem(dtype, d=5, h=7, k=4, n=6, soft_labels=False, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((d, n)).astype(dtype)
    if soft_labels:  # rows not summing to 1 exercise the s_j factor
        y = rng.random((k, n)).astype(dtype)
    else:
        y = np.eye(k, dtype=dtype)[:, rng.integers(0, k, n)]
    params = {"W1": rng.standard_normal((h, d)).astype(dtype) * 0.5, "b1": rng.standard_normal((h, 1)).astype(dtype),
              "W2": rng.standard_normal((k, h)).astype(dtype) * 0.5, "b2": rng.standard_normal((k, 1)).astype(dtype)}
    return X, y, params


def numpy_forward_backward(X, y, W1, b1, W2, b2):
    k, n = y.shape
    logits = W1 @ X + b1
    a = np.maximum(logits, 0)
    z2 = W2 @ a + b2
    e = np.exp(z2 - z2.max(axis=0, keepdims=True))
    p = e / e.sum(axis=0, keepdims=True)
    loss = -np.mean(y * np.log(p))
    dz2 = (p * y.sum(axis=0, keepdims=True) - y) / (k * n)
    dW2 = dz2 @ a.T
    db2 = dz2.sum(axis=1, keepdims=True)
    dz1 = (W2.T @ dz2) * (logits > 0)
    dW1 = dz1 @ X.T
    db1 = dz1.sum(axis=1, keepdims=True)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def tapeflow_forward_backward(X, y, params):
    v = {name: tf.Variable(val, name=name) for name, val in params.items()}
    X, y_true = tf.constant(X), tf.constant(y)
    with tf.GradientTape() as tape:
        logits = v["W1"] @ X + v["b1"]
        activations = tf.nn.relu(logits)
        logits_out = v["W2"] @ activations + v["b2"]
        probs = tf.nn.softmax(logits_out, axis=0)
        loss = -tf.reduce_mean(y_true * tf.math.log(probs))
    grads = tape.gradient(loss, v)
    return loss, grads, v


@pytest.mark.parametrize("soft_labels", [False, True])
def test_spec_network_gradients_equal_hand_backward_float64(soft_labels):
    X, y, params = make_problem(np.float64, soft_labels=soft_labels)
    loss, grads, _ = tapeflow_forward_backward(X, y, params)
    ref_loss, ref = numpy_forward_backward(X, y, **params)
    assert float(loss) == pytest.approx(ref_loss, rel=1e-12)
    for name in ("W1", "b1", "W2", "b2"):
        assert grads[name].shape == params[name].shape
        np.testing.assert_allclose(grads[name].numpy(), ref[name], rtol=1e-10, atol=1e-14, err_msg=name)


def test_spec_network_float32_and_dtypes():
    X, y, params = make_problem(np.float32, d=20, h=16, k=10, n=32, seed=3)
    loss, grads, _ = tapeflow_forward_backward(X, y, params)
    ref_loss, ref = numpy_forward_backward(*(a.astype(np.float64) for a in (X, y)),
                                           **{k_: p.astype(np.float64) for k_, p in params.items()})
    assert loss.dtype == np.float32
    assert float(loss) == pytest.approx(ref_loss, rel=1e-5)
    for name in params:
        assert grads[name].dtype == np.float32
        np.testing.assert_allclose(grads[name].numpy(), ref[name], rtol=1e-4, atol=1e-6, err_msg=name)


def test_spec_network_hand_backward_matches_central_differences():
    # guards the hand derivation itself (the 1/(kN) factor in particular)
    X, y, params = make_problem(np.float64, d=3, h=4, k=3, n=2, soft_labels=True, seed=5)
    _, ref = numpy_forward_backward(X, y, **params)
    eps = 1e-6
    for name in params:
        num = np.zeros_like(params[name])
        for i in np.ndindex(num.shape):
            plus = {k_: p.copy() for k_, p in params.items()}
            minus = {k_: p.copy() for k_, p in params.items()}
            plus[name][i] += eps
            minus[name][i] -= eps
            num[i] = (numpy_forward_backward(X, y, **plus)[0] - numpy_forward_backward(X, y, **minus)[0]) / (2 * eps)
        np.testing.assert_allclose(ref[name], num, rtol=1e-6, atol=1e-9, err_msg=name)


def test_spec_gradient_descent_update_lowers_the_loss():
    X, y, params = make_problem(np.float32, d=8, h=10, k=3, n=16, seed=7)
    loss0, grads, v = tapeflow_forward_backward(X, y, params)
    learning_rate = 0.5
    for name in ("W1", "b1", "W2", "b2"):
        v[name].assign_sub(learning_rate * grads[name])
    loss1, _, _ = tapeflow_forward_backward(X, y, {k_: var.numpy() for k_, var in v.items()})
    assert float(loss1) < float(loss0)
