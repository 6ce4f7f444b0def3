"""Attention layers: Keras 3 fixtures (weight layout), PyTorch nn.MultiheadAttention oracle, numerical
gradients, masking rules, Attention/AdditiveAttention formulas, and a Transformer encoder block."""
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.debug import check_gradients
from tapeflow.keras import layers as L

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras3_rnn")


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()
    yield


def _load(name):
    d = np.load(os.path.join(FIX, f"{name}.npz"))
    return d, [d[f"w{i}"] for i in range(8)]


def test_mha_weights_layout_and_order():
    mha = L.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=4, output_shape=5)
    q, v, k = np.zeros((2, 4, 6), "float32"), np.zeros((2, 3, 7), "float32"), np.zeros((2, 3, 5), "float32")
    assert tuple(mha(q, v, k).shape) == (2, 4, 5)
    assert [w.path for w in mha.weights] == [f"multi_head_attention/{p}/{n}" for p in
                                             ("query", "key", "value", "attention_output") for n in ("kernel", "bias")]
    assert [tuple(w.shape) for w in mha.weights] == [(6, 3, 2), (3, 2), (5, 3, 2), (3, 2), (7, 3, 4), (3, 4),
                                                     (3, 4, 5), (5,)]


@pytest.mark.parametrize("name", ["mha_self", "mha_cross_mask", "mha_causal"])
def test_mha_matches_keras3_fixture(name):
    d, weights = _load(name)
    if name == "mha_self":
        mha = L.MultiHeadAttention(num_heads=2, key_dim=3)
        args, kw = (d["x0"], d["x0"]), {"return_attention_scores": True}
    elif name == "mha_cross_mask":
        mha = L.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=4, output_shape=5)
        args, kw = (d["x0"], d["x1"], d["x2"]), {"attention_mask": d["attention_mask"],
                                                  "return_attention_scores": True}
    else:
        mha = L.MultiHeadAttention(num_heads=2, key_dim=2)
        args, kw = (d["x0"], d["x0"]), {"use_causal_mask": True}
    mha(*args)
    mha.set_weights(weights)
    out = mha(*args, **kw)
    outs = out if isinstance(out, tuple) else (out,)
    for i, o in enumerate(outs):
        np.testing.assert_allclose(o.numpy(), d[f"y{i}"], rtol=1e-5, atol=1e-5)


def _to_torch_mha(torch, mha, d, n):
    w = [v.numpy().astype(np.float64) for v in mha.weights]
    m = torch.nn.MultiheadAttention(d, n, batch_first=True).double()
    with torch.no_grad():
        m.in_proj_weight.copy_(torch.tensor(np.concatenate([w[i].reshape(d, -1).T for i in (0, 2, 4)])))
        m.in_proj_bias.copy_(torch.tensor(np.concatenate([w[i].reshape(-1) for i in (1, 3, 5)])))
        m.out_proj.weight.copy_(torch.tensor(w[6].reshape(-1, d).T))
        m.out_proj.bias.copy_(torch.tensor(w[7]))
    return m


@pytest.mark.parametrize("masking", ["none", "padding", "causal"])
def test_mha_against_torch(masking, torch):
    rng = np.random.default_rng(0)
    d, n = 6, 2
    q, v = rng.normal(size=(3, 4, d)), rng.normal(size=(3, 5, d))
    if masking == "causal":
        v = rng.normal(size=(3, 4, d))
    mha = L.MultiHeadAttention(num_heads=n, key_dim=d // n, bias_initializer="random_normal", dtype="float64")
    mha(q, v)
    tm = _to_torch_mha(torch, mha, d, n)
    vmask = np.ones((3, v.shape[1]), bool)
    vmask[0, 3:] = False
    vmask[2, 0] = False
    kw, tkw = {}, {}
    if masking == "padding":
        kw["attention_mask"] = np.broadcast_to(vmask[:, None, :], (3, 4, 5))
        tkw["key_padding_mask"] = torch.tensor(~vmask)
    elif masking == "causal":
        kw["use_causal_mask"] = True
        tkw["attn_mask"] = torch.tensor(~np.tril(np.ones((4, 4), bool)))
    r = rng.normal(size=(3, 4, d))
    qt, vt = tf.constant(q), tf.constant(v)
    with tf.GradientTape() as tape:
        tape.watch([qt, vt])
        y, s = mha(qt, vt, return_attention_scores=True, **kw)
        loss = tf.reduce_sum(y * tf.constant(r))
    gq, gv, *gw = tape.gradient(loss, [qt, vt] + mha.trainable_weights)
    tq = torch.tensor(q, requires_grad=True)
    tv = torch.tensor(v, requires_grad=True)
    ty, ts = tm(tq, tv, tv, need_weights=True, average_attn_weights=False, **tkw)
    (ty * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(s.numpy(), ts.detach().numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(gq.numpy(), tq.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(gv.numpy(), tv.grad.numpy(), rtol=1e-8, atol=1e-10)
    gin = np.concatenate([gw[i].numpy().reshape(d, -1).T for i in (0, 2, 4)])
    np.testing.assert_allclose(gin, tm.in_proj_weight.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np.concatenate([gw[i].numpy().reshape(-1) for i in (1, 3, 5)]),
                               tm.in_proj_bias.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(gw[6].numpy().reshape(-1, d).T, tm.out_proj.weight.grad.numpy(), rtol=1e-8,
                               atol=1e-10)


def _check_weights_numeric(layer, call, eps=1e-6):
    r = np.random.default_rng(1).standard_normal(np.shape(call()))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(call() * tf.constant(r))
    grads = tape.gradient(y, layer.trainable_weights)
    for v, g in zip(layer.trainable_weights, grads):
        arr = v._value.reshape(-1)
        num = np.zeros(arr.size)
        for i in range(arr.size):
            old = arr[i]
            arr[i] = old + eps
            up = float(np.sum(call().numpy() * r))
            arr[i] = old - eps
            down = float(np.sum(call().numpy() * r))
            arr[i] = old
            num[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(g.numpy().reshape(-1), num, rtol=1e-5, atol=1e-8)


def test_mha_numeric_gradients_inputs_and_weights():
    rng = np.random.default_rng(2)
    q, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 2, 4))
    am = np.array([[[True, False], [True, True], [False, True]]] * 2)
    mha = L.MultiHeadAttention(num_heads=2, key_dim=2, value_dim=3, bias_initializer="random_normal",
                               dtype="float64")
    mha(q, v)
    check_gradients(lambda a, b: mha(a, b, attention_mask=am), q, v)
    check_gradients(lambda a: mha(a, a, use_causal_mask=True), q)
    _check_weights_numeric(mha, lambda: mha(tf.constant(q), tf.constant(v), attention_mask=am))


def test_mha_masks_from_keras_masks_and_fully_masked_rows():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 4, 6)).astype("float32")
    x[0, 2:] = 0.0
    masked = L.Masking(0.0)(x)
    mha = L.MultiHeadAttention(num_heads=2, key_dim=3)
    y, s = mha(masked, masked, return_attention_scores=True)
    keep = np.any(x != 0, -1)
    explicit = mha(x, x, attention_mask=keep[:, :, None] & keep[:, None, :])
    np.testing.assert_allclose(y.numpy(), explicit.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(y._keras_mask.numpy(), keep)
    # rows of masked queries are all-masked: Keras gives zero probabilities there
    np.testing.assert_array_equal(s.numpy()[0, :, 2:], 0.0)
    np.testing.assert_allclose(s.numpy()[0, :, :2].sum(-1), 1.0, rtol=1e-6)


def test_mha_causal_ignores_future():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(1, 5, 4)).astype("float32")
    mha = L.MultiHeadAttention(num_heads=1, key_dim=4)
    y1 = mha(x, x, use_causal_mask=True).numpy()
    x2 = x.copy()
    x2[0, 3:] += 10.0
    y2 = mha(x2, x2, use_causal_mask=True).numpy()
    np.testing.assert_allclose(y1[0, :3], y2[0, :3], rtol=1e-5)
    assert not np.allclose(y1[0, 3:], y2[0, 3:])


def test_mha_dropout_only_in_training():
    x = np.random.default_rng(5).normal(size=(2, 4, 6)).astype("float32")
    mha = L.MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.5)
    a = mha(x, x).numpy()
    np.testing.assert_allclose(mha(x, x, training=False).numpy(), a)
    assert not np.allclose(mha(x, x, training=True).numpy(), a)


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_attention_formulas_masks_and_gradients():
    rng = np.random.default_rng(6)
    q, v, k = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 4))
    att = L.Attention(dtype="float64")
    y, w = att([q, v, k], return_attention_scores=True)
    ref_w = _softmax(q @ k.transpose(0, 2, 1))
    np.testing.assert_allclose(w.numpy(), ref_w, rtol=1e-10)
    np.testing.assert_allclose(y.numpy(), ref_w @ v, rtol=1e-10)
    vm = np.array([[True, True, False, True, False], [True] * 5])
    qm = np.array([[True, False, True], [True, True, True]])
    y = att([q, v, k], mask=[qm, vm]).numpy()
    ref_w = _softmax(np.where(vm[:, None, :], q @ k.transpose(0, 2, 1), -1e9))
    np.testing.assert_allclose(y, np.where(qm[..., None], ref_w @ v, 0.0), rtol=1e-10)
    # concat scores with scale, and the causal mask
    att2 = L.Attention(use_scale=True, score_mode="concat", dtype="float64")
    w2 = att2([q, v], return_attention_scores=True, use_causal_mask=True)[1].numpy()
    s = np.tanh(q[:, :, None, :] + v[:, None, :, :]).sum(-1)
    np.testing.assert_allclose(w2, _softmax(np.where(np.tril(np.ones((3, 5), bool)), s, s - 1e9)), rtol=1e-10)
    check_gradients(lambda a, b: att2([a, b]), q, v)
    _check_weights_numeric(att2, lambda: att2([tf.constant(q), tf.constant(v)]))
    add = L.AdditiveAttention(dtype="float64")
    add([q, v])
    scale = add.get_weights()[0]
    s = (scale * np.tanh(q[:, :, None, :] + k[:, None, :, :])).sum(-1)
    np.testing.assert_allclose(add([q, v, k]).numpy(), _softmax(s) @ v, rtol=1e-10)
    check_gradients(lambda a, b: add([a, b]), q, v)
    _check_weights_numeric(add, lambda: add([tf.constant(q), tf.constant(v)]))


def test_transformer_encoder_block_trains():
    import importlib.util
    path = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "transformer_encoder.py")
    spec = importlib.util.spec_from_file_location("transformer_encoder", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    acc = mod.main(epochs=14, verbose=0)  # the task is learned after a plateau (~10 epochs)
    assert acc > 0.8
