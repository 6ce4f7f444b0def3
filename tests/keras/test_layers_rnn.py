"""Recurrent layers: Keras's own literal numbers, Keras 3 fixtures (weights layout), PyTorch oracle
(forward and gradients), numerical gradient checks, shapes, masking and the fused/loop paths."""
import os

import numpy as np
import pytest

import tapeflow as tf
import tapeflow.autodiff.tape as tape_mod
from tapeflow import keras
from tapeflow.keras import initializers as I
from tapeflow.keras import layers as L

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras3_rnn")


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()
    yield


def const_layer(cls, units, **kw):
    return cls(units, kernel_initializer=I.Constant(0.01), recurrent_initializer=I.Constant(0.02),
               bias_initializer=I.Constant(0.03), **kw)


SEQ72 = np.arange(72).reshape((3, 6, 4)).astype("float32")
SEQ24 = np.arange(24).reshape((2, 4, 3)).astype("float32")
SEQ24B = np.arange(24).reshape((2, 3, 4)).astype("float32")
M_LSTM = np.array([[True, True, True, False], [True, True, False, False]])
M_GRU = np.array([[True, True, False, True], [True, False, False, True]])
H0_2 = np.arange(4).reshape((2, 2)).astype("float32")

# (layer, units, layer kwargs, input, call kwargs, expected) -- numbers from keras/src/layers/rnn/*_test.py
KERAS_LITERALS = [
    ("lstm", L.LSTM, 3, {}, SEQ72, {}, [[0.6288687] * 3, [0.86899155] * 3, [0.9460773] * 3]),
    ("lstm-back", L.LSTM, 3, {"go_backwards": True}, SEQ72, {}, [[0.35622165] * 3, [0.74789524] * 3, [0.8872726] * 3]),
    ("lstm-no-forget-bias", L.LSTM, 3, {"unit_forget_bias": False}, SEQ72, {},
     [[0.57019705] * 3, [0.8661914] * 3, [0.9459622] * 3]),
    ("lstm-no-bias", L.LSTM, 3, {"use_bias": False}, SEQ72, {}, [[0.54986924] * 3, [0.86226785] * 3, [0.9443936] * 3]),
    ("lstm-init", L.LSTM, 2, {}, SEQ24, {"initial_state": [H0_2, H0_2]}, [[0.20574439, 0.3558822], [0.64930826, 0.66276]]),
    ("lstm-init-back", L.LSTM, 2, {"go_backwards": True}, SEQ24, {"initial_state": [H0_2, H0_2]},
     [[0.13281618, 0.2790356], [0.5839337, 0.5992567]]),
    ("lstm-mask", L.LSTM, 2, {}, SEQ24, {"mask": M_LSTM}, [[0.11755939] * 2, [0.28556206] * 2]),
    ("lstm-mask-seq", L.LSTM, 2, {"return_sequences": True}, SEQ24, {"mask": M_LSTM},
     [[[0.01588910] * 2, [0.05552048] * 2, [0.11755939] * 2, [0.11755939] * 2],
      [[0.14185596] * 2, [0.28556206] * 2, [0.28556206] * 2, [0.28556206] * 2]]),
    ("lstm-mask-zero-out", L.LSTM, 2, {"return_sequences": True, "zero_output_for_mask": True}, SEQ24,
     {"mask": M_LSTM}, [[[0.01588910] * 2, [0.05552048] * 2, [0.11755939] * 2, [0.0] * 2],
                        [[0.14185596] * 2, [0.28556206] * 2, [0.0] * 2, [0.0] * 2]]),
    ("lstm-mask-back", L.LSTM, 2, {"go_backwards": True}, SEQ24,
     {"mask": np.array([[False, True, True, True], [False, False, True, True]])},
     [[0.15341201] * 2, [0.3844719] * 2]),
    ("gru", L.GRU, 3, {}, SEQ72, {}, [[0.5217289] * 3, [0.6371659] * 3, [0.39384964] * 3]),
    ("gru-back", L.GRU, 3, {"go_backwards": True}, SEQ72, {}, [[0.24406259] * 3, [0.611516] * 3, [0.3928808] * 3]),
    ("gru-reset-before", L.GRU, 3, {"reset_after": False}, SEQ72, {},
     [[0.51447755] * 3, [0.6426879] * 3, [0.40208298] * 3]),
    ("gru-no-bias", L.GRU, 3, {"use_bias": False}, SEQ72, {}, [[0.49988455] * 3, [0.64701194] * 3, [0.4103359] * 3]),
    ("gru-init", L.GRU, 2, {}, SEQ24, {"initial_state": H0_2}, [[0.23774096, 0.33508456], [0.83659905, 1.0227708]]),
    ("gru-init-back", L.GRU, 2, {"go_backwards": True}, SEQ24, {"initial_state": H0_2},
     [[0.13486053, 0.23261218], [0.78257304, 0.9691353]]),
    ("gru-mask", L.GRU, 2, {}, SEQ24, {"mask": M_GRU}, [[0.19393763] * 2, [0.30818558] * 2]),
    ("gru-mask-seq", L.GRU, 2, {"return_sequences": True}, SEQ24, {"mask": M_GRU},
     [[[0.03606692] * 2, [0.09497581] * 2, [0.09497581] * 2, [0.19393763] * 2],
      [[0.16051409] * 2, [0.16051409] * 2, [0.16051409] * 2, [0.30818558] * 2]]),
    ("gru-mask-zero-out", L.GRU, 2, {"return_sequences": True, "zero_output_for_mask": True}, SEQ24, {"mask": M_GRU},
     [[[0.03606692] * 2, [0.09497581] * 2, [0.0] * 2, [0.19393763] * 2],
      [[0.16051409] * 2, [0.0] * 2, [0.0] * 2, [0.30818558] * 2]]),
    ("gru-mask-back", L.GRU, 2, {"go_backwards": True}, SEQ24, {"mask": M_GRU}, [[0.11669192] * 2, [0.28380975] * 2]),
    ("srnn", L.SimpleRNN, 4, {}, SEQ24B, {}, [[0.405432] * 4, [0.73605347] * 4]),
    ("srnn-back", L.SimpleRNN, 4, {"go_backwards": True}, SEQ24B, {}, [[0.11144729] * 4, [0.5528889] * 4]),
    ("srnn-init", L.SimpleRNN, 4, {}, SEQ24, {"initial_state": np.arange(8).reshape((2, 4)).astype("float32")},
     [[0.33621645] * 4, [0.6262637] * 4]),
    ("srnn-init-back", L.SimpleRNN, 4, {"go_backwards": True}, SEQ24,
     {"initial_state": np.arange(8).reshape((2, 4)).astype("float32")}, [[0.07344437] * 4, [0.43043602] * 4]),
    ("srnn-mask", L.SimpleRNN, 4, {}, SEQ24, {"mask": M_GRU}, [[0.32951632] * 4, [0.61799484] * 4]),
    ("srnn-mask-seq", L.SimpleRNN, 2, {"return_sequences": True}, SEQ24, {"mask": M_GRU},
     [[[0.0599281] * 2, [0.15122814] * 2, [0.15122814] * 2, [0.32394567] * 2],
      [[0.3969304] * 2, [0.3969304] * 2, [0.3969304] * 2, [0.608085] * 2]]),
]


@pytest.mark.parametrize("path", ["fused", "cell-loop"])
@pytest.mark.parametrize("case", KERAS_LITERALS, ids=[c[0] for c in KERAS_LITERALS])
def test_keras_literal_outputs(case, path, monkeypatch):
    _, cls, units, kw, x, call_kw, expected = case
    if path == "cell-loop":  # force the generic cell loop: same numbers
        monkeypatch.setattr(L.RNN, "_standard", lambda self, training: False)
    layer = const_layer(cls, units, **kw)
    np.testing.assert_allclose(layer(x, **call_kw).numpy(), np.array(expected), rtol=1e-5, atol=1e-5)


# -- Keras 3 fixtures: weight shapes / order / gate layout ------------------------------------------
FIXTURE_LAYERS = {
    "lstm_seq": lambda: L.LSTM(4, return_sequences=True),
    "lstm_state_back": lambda: L.LSTM(4, return_state=True, go_backwards=True),
    "lstm_mask": lambda: L.LSTM(4, return_sequences=True),
    "gru_seq": lambda: L.GRU(4, return_sequences=True),
    "gru_state_mask": lambda: L.GRU(4, return_state=True),
    "gru_reset_before": lambda: L.GRU(4, return_sequences=True, reset_after=False),
    "simple_rnn_seq": lambda: L.SimpleRNN(4, return_sequences=True),
    "bidir_lstm_concat": lambda: L.Bidirectional(L.LSTM(3, return_sequences=True)),
    "bidir_gru_sum_mask": lambda: L.Bidirectional(L.GRU(3), merge_mode="sum"),
}


@pytest.mark.parametrize("name", sorted(FIXTURE_LAYERS))
def test_matches_keras3_fixture(name):
    d = np.load(os.path.join(FIX, f"{name}.npz"))
    layer = FIXTURE_LAYERS[name]()
    x = d["x0"]
    kw = {"mask": d["mask"]} if "mask" in d else {}
    layer(x, **kw)
    weights = [d[f"w{i}"] for i in range(len([k for k in d if k.startswith("w")]))]
    assert [tuple(w.shape) for w in layer.weights] == [w.shape for w in weights]
    layer.set_weights(weights)
    out = layer(x, training=False, **kw)
    outs = out if isinstance(out, list) else [out]
    expected = [d[f"y{i}"] for i in range(len([k for k in d if k.startswith("y")]))]
    assert len(outs) == len(expected)
    for o, e in zip(outs, expected):
        np.testing.assert_allclose(o.numpy(), e, rtol=1e-5, atol=1e-5)


def test_matches_keras3_fixture_initial_state():
    d = np.load(os.path.join(FIX, "lstm_initial_state.npz"))
    layer = L.LSTM(3)
    layer(d["x0"])
    layer.set_weights([d["w0"], d["w1"], d["w2"]])
    y = layer(d["x0"], initial_state=[d["x1"], d["x2"]])
    np.testing.assert_allclose(y.numpy(), d["y0"], rtol=1e-5, atol=1e-5)


# -- shapes ------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,n_states", [(L.LSTM, 2), (L.GRU, 1), (L.SimpleRNN, 1)])
@pytest.mark.parametrize("seq", [False, True])
@pytest.mark.parametrize("state", [False, True])
@pytest.mark.parametrize("back", [False, True])
def test_output_shapes(cls, n_states, seq, state, back):
    layer = cls(5, return_sequences=seq, return_state=state, go_backwards=back)
    x = np.random.default_rng(0).normal(size=(3, 7, 2)).astype("float32")
    mask = np.ones((3, 7), bool)
    mask[0, 4:] = False
    out = layer(x, mask=mask)
    outs = out if state else [out]
    assert len(outs) == 1 + (n_states if state else 0)
    assert tuple(outs[0].shape) == ((3, 7, 5) if seq else (3, 5))
    for s in outs[1:]:
        assert tuple(s.shape) == (3, 5)
    sym = cls(5, return_sequences=seq, return_state=state)(keras.Input((None, 2)))
    syms = sym if state else [sym]
    assert tuple(syms[0].shape) == ((None, None, 5) if seq else (None, 5))


def test_weights_names_and_initializers():
    tf.random.set_seed(1)
    lstm = L.LSTM(8)
    lstm(np.zeros((1, 2, 3), "float32"))
    assert [w.path for w in lstm.weights] == ["lstm/lstm_cell/kernel", "lstm/lstm_cell/recurrent_kernel",
                                              "lstm/lstm_cell/bias"]
    k, rk, b = lstm.get_weights()
    np.testing.assert_allclose(rk @ rk.T, np.eye(8), atol=1e-5)  # orthogonal rows (8 x 32)
    np.testing.assert_array_equal(b, np.r_[np.zeros(8), np.ones(8), np.zeros(16)])  # unit_forget_bias
    assert np.abs(k).max() <= np.sqrt(6 / (3 + 32))
    gru = L.GRU(4)
    gru(np.zeros((1, 2, 3), "float32"))
    assert [tuple(w.shape) for w in gru.weights] == [(3, 12), (4, 12), (2, 12)]


def test_masking_layer_feeds_the_mask():
    x = np.random.default_rng(2).normal(size=(2, 5, 3)).astype("float32")
    x[0, 3:] = 0.0
    x[1, 1] = 0.0
    model = keras.Sequential([keras.Input((5, 3)), L.Masking(0.0), L.LSTM(4, return_sequences=True)])
    lstm = model.layers[-1]
    y = model(x)
    mask = np.any(x != 0, axis=-1)
    np.testing.assert_allclose(y.numpy(), lstm(x, mask=mask).numpy(), rtol=1e-6)
    np.testing.assert_array_equal(y._keras_mask.numpy(), mask)
    assert not np.allclose(y.numpy(), lstm(x).numpy())
    # a masked step repeats the previous output (Keras), and states skip it
    np.testing.assert_allclose(y.numpy()[1, 1], y.numpy()[1, 0])


def test_config_round_trip():
    for layer in (L.LSTM(3, return_sequences=True, go_backwards=True, dropout=0.1, unit_forget_bias=False),
                  L.GRU(3, reset_after=False, return_state=True), L.SimpleRNN(2, activation="relu"),
                  L.RNN(L.LSTMCell(3), return_sequences=True), L.Bidirectional(L.GRU(2), merge_mode="ave"),
                  L.TimeDistributed(L.Dense(3)), L.Masking(-1.0)):
        x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
        y0 = layer(x)
        clone = L.deserialize(L.serialize(layer))
        clone(x)
        clone.set_weights(layer.get_weights())
        y1 = clone(x)
        for a, b in zip(y0 if isinstance(y0, list) else [y0], y1 if isinstance(y1, list) else [y1]):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
        assert clone.get_config() == layer.get_config() or type(layer) is L.Bidirectional


def test_stateful_is_refused():
    with pytest.raises(ValueError, match="stateful"):
        L.LSTM(2, stateful=True)


def test_bad_initial_state_shape():
    with pytest.raises(ValueError, match="initial state"):
        L.LSTM(2)(np.zeros((2, 3, 4), "float32"), initial_state=[np.zeros((2, 3)), np.zeros((2, 3))])


# -- gradients ---------------------------------------------------------------------------------
def _numeric_vs_tape(build, x, mask=None, eps=1e-6, rtol=1e-5, atol=1e-8, **call_kw):
    """Central differences over every input entry and weight entry of a float64 layer."""
    layer = build()
    xt = tf.constant(x)
    out = layer(xt, mask=mask, **call_kw)
    r = np.random.default_rng(5).standard_normal(np.shape(out[0] if isinstance(out, list) else out))

    def loss():
        o = layer(xt, mask=mask, **call_kw)
        o = o[0] if isinstance(o, list) else o
        return float(np.sum(o.numpy() * r))
    with tf.GradientTape() as tape:
        tape.watch(xt)
        o = layer(xt, mask=mask, **call_kw)
        o = o[0] if isinstance(o, list) else o
        y = tf.reduce_sum(o * tf.constant(r))
    grads = tape.gradient(y, [xt] + layer.trainable_weights)
    targets = [xt._value] + [v._value for v in layer.trainable_weights]
    for arr, g in zip(targets, grads):
        num = np.zeros(arr.shape)
        flat = arr.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            up = loss()
            flat[i] = old - eps
            down = loss()
            flat[i] = old
            num.reshape(-1)[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(g.numpy(), num, rtol=rtol, atol=atol)


GRAD_LAYERS = {
    "lstm": lambda: L.LSTM(3, return_sequences=True, bias_initializer="random_normal", dtype="float64"),
    "lstm-back-state": lambda: L.LSTM(2, return_state=True, go_backwards=True, dtype="float64"),
    "lstm-relu-loop": lambda: L.LSTM(2, activation="softsign", return_sequences=True, dtype="float64"),
    "gru": lambda: L.GRU(3, return_sequences=True, bias_initializer="random_normal", dtype="float64"),
    "gru-reset-before": lambda: L.GRU(2, reset_after=False, bias_initializer="random_normal", dtype="float64"),
    "srnn": lambda: L.SimpleRNN(3, return_sequences=True, bias_initializer="random_normal", dtype="float64"),
    "bidir": lambda: L.Bidirectional(L.LSTM(2, return_sequences=True, dtype="float64"), dtype="float64"),
    "rnn-cell": lambda: L.RNN(L.GRUCell(2, dtype="float64"), return_sequences=True, dtype="float64"),
}


@pytest.mark.parametrize("vjps", ["fast", "tensor"])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("name", sorted(GRAD_LAYERS))
def test_gradients_numeric(name, masked, vjps, monkeypatch):
    monkeypatch.setattr(tape_mod, "_FORCE_TENSOR_VJPS", vjps == "tensor")
    x = np.random.default_rng(3).normal(size=(2, 4, 2))
    mask = np.array([[True, False, True, True], [True, True, True, False]]) if masked else None
    _numeric_vs_tape(GRAD_LAYERS[name], x, mask=mask)


def test_fused_path_equals_cell_loop_with_gradients():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 6, 4)).astype("float32")
    mask = rng.random((3, 6)) > 0.3
    h0 = [rng.normal(size=(3, 5)).astype("float32") for _ in range(2)]
    for fused, loop in ((L.LSTM(5, return_sequences=True, go_backwards=True), L.RNN(L.LSTMCell(5), True, False, True)),
                        (L.GRU(5, return_sequences=True), L.RNN(L.GRUCell(5), return_sequences=True))):
        n = 2 if isinstance(fused, L.LSTM) else 1
        fused(x)
        loop(x)
        loop.set_weights(fused.get_weights())
        res = []
        for layer in (fused, loop):
            xt = tf.constant(x)
            with tf.GradientTape() as tape:
                tape.watch(xt)
                y = layer(xt, mask=mask, initial_state=h0[:n])
                loss = tf.reduce_sum(y * y)
            res.append([y.numpy()] + [g.numpy() for g in tape.gradient(loss, [xt] + layer.trainable_weights)])
        for a, b in zip(*res):
            np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


def test_dropout_training_only_and_recurrent_dropout_path():
    x = np.random.default_rng(6).normal(size=(4, 5, 3)).astype("float32")
    for layer in (L.LSTM(4, dropout=0.5), L.GRU(4, dropout=0.3, recurrent_dropout=0.3)):
        y_inf = layer(x, training=False).numpy()
        np.testing.assert_allclose(layer(x).numpy(), y_inf)
        y_tr = layer(x, training=True).numpy()
        assert y_tr.shape == y_inf.shape and not np.allclose(y_tr, y_inf)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x, training=True))
        assert all(g is not None for g in tape.gradient(loss, layer.trainable_weights))


def test_lstm_trains_in_fit():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(128, 6, 2)).astype("float32")
    y = (x[:, :, 0].sum(1) > 0).astype("int64")
    tf.random.set_seed(0)
    model = keras.Sequential([keras.Input((6, 2)), L.LSTM(8), L.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=32, epochs=15, verbose=0)
    assert hist.history["accuracy"][-1] > 0.9


# -- PyTorch oracle ----------------------------------------------------------------------------
def _torch_grads(torch, module, x, r, after=lambda o: o):
    xt = torch.tensor(x, requires_grad=True)
    out = after(module(xt))
    (out * torch.tensor(r)).sum().backward()
    return out.detach().numpy(), xt.grad.numpy()


def _ours(layer, x, r):
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt)
        loss = tf.reduce_sum(y * tf.constant(r))
    grads = tape.gradient(loss, [xt] + layer.trainable_weights)
    return y.numpy(), [g.numpy() for g in grads]


def _gru_reorder(w, u):
    """Keras gate blocks z, r, h -> torch r, z, n (along the last axis)."""
    return np.concatenate([w[..., u:2 * u], w[..., :u], w[..., 2 * u:]], axis=-1)


@pytest.mark.parametrize("kind", ["lstm", "gru", "srnn", "bilstm"])
def test_against_torch(kind, torch):
    rng = np.random.default_rng(8)
    u, x = 5, rng.normal(size=(3, 7, 4))
    r = rng.normal(size=(3, 7, 2 * u if kind == "bilstm" else u))
    if kind == "lstm":
        layer = L.LSTM(u, return_sequences=True, bias_initializer="random_normal", dtype="float64")
        mod = torch.nn.LSTM(4, u, batch_first=True).double()
    elif kind == "gru":
        layer = L.GRU(u, return_sequences=True, bias_initializer="random_normal", dtype="float64")
        mod = torch.nn.GRU(4, u, batch_first=True).double()
    elif kind == "srnn":
        layer = L.SimpleRNN(u, return_sequences=True, bias_initializer="random_normal", dtype="float64")
        mod = torch.nn.RNN(4, u, batch_first=True).double()
    else:
        layer = L.Bidirectional(L.LSTM(u, return_sequences=True, bias_initializer="random_normal", dtype="float64"),
                                dtype="float64")
        mod = torch.nn.LSTM(4, u, batch_first=True, bidirectional=True).double()
    layer(x)
    ws = layer.get_weights()
    with torch.no_grad():
        for d, suffix in enumerate([""] + (["_reverse"] if kind == "bilstm" else [])):
            k, rk, b = ws[3 * d:3 * d + 3]
            if kind == "gru":  # bias (2, 3u): [input bias; recurrent bias]
                k, rk, bi, bh = _gru_reorder(k, u), _gru_reorder(rk, u), _gru_reorder(b[0], u), _gru_reorder(b[1], u)
            else:
                bi, bh = b, np.zeros_like(b)
            getattr(mod, "weight_ih_l0" + suffix).copy_(torch.tensor(k.T))
            getattr(mod, "weight_hh_l0" + suffix).copy_(torch.tensor(rk.T))
            getattr(mod, "bias_ih_l0" + suffix).copy_(torch.tensor(bi))
            getattr(mod, "bias_hh_l0" + suffix).copy_(torch.tensor(bh))
    y_t, gx_t = _torch_grads(torch, mod, x, r, after=lambda o: o[0])
    y, grads = _ours(layer, x, r)
    np.testing.assert_allclose(y, y_t, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(grads[0], gx_t, rtol=1e-9, atol=1e-10)
    # weight gradients, mapped back to the Keras layout
    tg = {n: p.grad.numpy() for n, p in mod.named_parameters()}
    for d, suffix in enumerate([""] + (["_reverse"] if kind == "bilstm" else [])):
        gk, grk, gb = grads[1 + 3 * d:4 + 3 * d]
        ti, th = tg["weight_ih_l0" + suffix].T, tg["weight_hh_l0" + suffix].T
        bi, bh = tg["bias_ih_l0" + suffix], tg["bias_hh_l0" + suffix]
        if kind == "gru":
            np.testing.assert_allclose(_gru_reorder(gk, u), ti, rtol=1e-8, atol=1e-10)
            np.testing.assert_allclose(_gru_reorder(grk, u), th, rtol=1e-8, atol=1e-10)
            np.testing.assert_allclose(_gru_reorder(gb[0], u), bi, rtol=1e-8, atol=1e-10)
            np.testing.assert_allclose(_gru_reorder(gb[1], u), bh, rtol=1e-8, atol=1e-10)
        else:
            np.testing.assert_allclose(gk, ti, rtol=1e-8, atol=1e-10)
            np.testing.assert_allclose(grk, th, rtol=1e-8, atol=1e-10)
            np.testing.assert_allclose(gb, bi, rtol=1e-8, atol=1e-10)


def test_time_distributed_matches_dense_per_step():
    x = np.random.default_rng(9).normal(size=(2, 4, 3)).astype("float32")
    td = L.TimeDistributed(L.Dense(5, activation="tanh"))
    y = td(x).numpy()
    k, b = td.get_weights()
    np.testing.assert_allclose(y, np.tanh(x @ k + b), rtol=1e-5, atol=1e-6)
    mask = np.array([[True, True, False, False], [True, True, True, True]])
    assert np.array_equal(td(x, mask=mask)._keras_mask, mask)


def test_bidirectional_merge_modes_and_states():
    x = np.random.default_rng(10).normal(size=(2, 4, 3)).astype("float32")
    outs = {}
    for mode in ("concat", "sum", "mul", "ave", None):
        keras.backend.clear_session()
        tf.random.set_seed(0)
        bi = L.Bidirectional(L.LSTM(3, return_sequences=True, return_state=True), merge_mode=mode)
        outs[mode] = bi(x)
    f, b = outs[None][0].numpy(), outs[None][1].numpy()
    assert len(outs[None]) == 6 and len(outs["concat"]) == 5
    np.testing.assert_allclose(outs["concat"][0].numpy(), np.concatenate([f, b], -1), rtol=1e-6)
    np.testing.assert_allclose(outs["sum"][0].numpy(), f + b, rtol=1e-6)
    np.testing.assert_allclose(outs["mul"][0].numpy(), f * b, rtol=1e-6)
    np.testing.assert_allclose(outs["ave"][0].numpy(), (f + b) / 2, rtol=1e-6)
    # backward half: reversed back to input order, its last-processed step is t=0
    np.testing.assert_allclose(b[:, 0], outs[None][4].numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="merge_mode"):
        L.Bidirectional(L.LSTM(2), merge_mode="max")


def test_embedding_mask_zero_feeds_lstm():
    model = keras.Sequential([keras.Input((5,), dtype="int64"), L.Embedding(10, 4, mask_zero=True), L.LSTM(3)])
    x = np.array([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0]])
    emb, lstm = model.layers
    np.testing.assert_allclose(model(x).numpy(), lstm(emb(x), mask=x != 0).numpy(), rtol=1e-6)
    assert not np.allclose(model(x).numpy(), lstm(emb(x).numpy()).numpy())
