"""ConvLSTM1D / ConvLSTM2D: Keras 3 reference outputs (tests/fixtures/keras3_conv_lstm.npz, written by
tests/fixtures/make_keras3_conv_lstm.py), weight layout and config, numerical gradients, dropout, errors,
training and .keras round trip."""
import json
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers as L

from _layer_grad import check_layer_gradients

FIX = np.load(os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras3_conv_lstm.npz"))
CASES = sorted({k.split("/")[0] for k in FIX.files if "/" in k})


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()
    yield


def test_fixture_covers_the_configurations():
    assert len(CASES) == 13
    kws = [json.loads(str(FIX[f"{c}/kwargs"])) for c in CASES]
    for key, value in [("padding", "same"), ("strides", 2), ("dilation_rate", 2), ("go_backwards", True),
                       ("return_state", True), ("return_sequences", True), ("data_format", "channels_first"),
                       ("use_bias", False), ("activation", "relu"), ("zero_output_for_mask", True)]:
        assert any(kw.get(key) == value for kw in kws), key


@pytest.mark.parametrize("case", CASES)
def test_matches_keras(case):
    kw = json.loads(str(FIX[f"{case}/kwargs"]))
    cls = L.ConvLSTM2D if case.startswith("c2") else L.ConvLSTM1D
    layer = cls(**kw)
    x = FIX[f"{case}/x"]
    call = {}
    if f"{case}/h0" in FIX.files:
        call["initial_state"] = [FIX[f"{case}/h0"], FIX[f"{case}/c0"]]
    if f"{case}/mask" in FIX.files:
        call["mask"] = FIX[f"{case}/mask"]
    layer(x, **call)
    weights = [FIX[f"{case}/w{i}"] for i in range(3) if f"{case}/w{i}" in FIX.files]
    assert [tuple(w.shape) for w in layer.get_weights()] == [w.shape for w in weights]
    layer.set_weights(weights)
    y = layer(x, **call)
    ys = y if isinstance(y, list) else [y]
    expected = [FIX[f"{case}/y{i}"] for i in range(3) if f"{case}/y{i}" in FIX.files]
    assert len(ys) == len(expected)
    for got, want in zip(ys, expected):
        assert got.dtype == tf.float32
        np.testing.assert_allclose(got.numpy(), want, atol=1e-5, rtol=0)


def test_weights_paths_init_and_config_match_keras():
    layer = L.ConvLSTM2D(4, 3, name="conv_lstm2d")
    layer(np.zeros((1, 3, 5, 5, 2), "float32"))
    assert [w.path for w in layer.weights] == FIX["paths_2d"].tolist()
    assert [w.shape.as_list() for w in layer.weights] == [[3, 3, 2, 16], [3, 3, 4, 16], [16]]
    np.testing.assert_array_equal(layer.get_weights()[2], FIX["init_bias"])  # unit_forget_bias
    no_ufb = L.ConvLSTM2D(4, 3, unit_forget_bias=False)
    no_ufb(np.zeros((1, 2, 5, 5, 2), "float32"))
    assert not no_ufb.get_weights()[2].any()
    for ours, key in ((layer, "config_2d"), (L.ConvLSTM1D(2, 3, name="conv_lstm1d"), "config_1d")):
        theirs = json.loads(str(FIX[key]))
        mine = ours.get_config()
        assert set(mine) == set(theirs)
        for k, v in theirs.items():
            if not isinstance(v, dict):
                assert mine[k] == v, k
        rebuilt = type(ours).from_config(theirs)  # a Keras-written config loads
        assert rebuilt.get_config() == mine
    assert layer.filters == 4 and layer.kernel_size == (3, 3) and layer.padding == "valid"


def test_default_initializers_shapes_and_symbolic():
    inp = keras.Input((None, 6, 6, 1))
    out, h, c = L.ConvLSTM2D(4, 3, strides=2, padding="same", return_state=True)(inp)
    assert out.shape.as_list() == [None, 3, 3, 4] and h.shape.as_list() == c.shape.as_list() == [None, 3, 3, 4]
    seq = L.ConvLSTM1D(3, 2, return_sequences=True, data_format="channels_first")(keras.Input((4, 2, 6)))
    assert seq.shape.as_list() == [None, 4, 3, 5]


@pytest.mark.parametrize("cls,kw,shape", [
    (L.ConvLSTM2D, dict(filters=2, kernel_size=2, padding="same", return_sequences=True), (2, 3, 3, 3, 2)),
    (L.ConvLSTM2D, dict(filters=2, kernel_size=(2, 1), strides=2, go_backwards=True, activation="relu",
                        data_format="channels_first"), (1, 2, 2, 4, 3)),
    (L.ConvLSTM1D, dict(filters=2, kernel_size=2, dilation_rate=2, padding="same", return_sequences=True,
                        use_bias=False), (2, 3, 5, 1)),
])
def test_numerical_gradients(cls, kw, shape):
    layer = cls(dtype="float64", bias_initializer="random_normal", recurrent_initializer="glorot_uniform", **kw)
    x = np.random.default_rng(1).normal(size=shape)
    check_layer_gradients(layer, x, max_entries=25)


def test_gradients_under_mask_and_initial_state():
    rng = np.random.default_rng(2)
    layer = L.ConvLSTM1D(2, 3, padding="same", dtype="float64", return_sequences=True)
    x = tf.constant(rng.normal(size=(2, 3, 4, 1)))
    h0 = tf.Variable(rng.normal(size=(2, 4, 2)))
    mask = np.array([[True, False, True], [False, True, True]])
    with tf.GradientTape() as tape:
        y = layer(x, initial_state=[h0, tf.zeros((2, 4, 2), "float64")], mask=mask)
        loss = tf.reduce_sum(y * y)
    g = tape.gradient(loss, h0).numpy()

    def f(h):
        y = layer(x, initial_state=[tf.constant(h), tf.zeros((2, 4, 2), "float64")], mask=mask).numpy()
        return float(np.sum(y * y))
    h, eps, num = h0.numpy(), 1e-6, np.zeros_like(g)
    for idx in np.ndindex(*h.shape):
        up, down = h.copy(), h.copy()
        up[idx] += eps
        down[idx] -= eps
        num[idx] = (f(up) - f(down)) / (2 * eps)
    np.testing.assert_allclose(g, num, atol=1e-6, rtol=1e-5)
    # masked first step of sample 1 repeats zeros (Keras: no previous output yet)
    assert not y.numpy()[1, 0].any()


def test_dropout_semantics():
    x = np.random.default_rng(3).normal(size=(2, 3, 5, 5, 2)).astype("float32")
    layer = L.ConvLSTM2D(3, 3, padding="same", dropout=0.5, recurrent_dropout=0.5, seed=1, return_sequences=True)
    infer = layer(x, training=False).numpy()
    np.testing.assert_array_equal(layer(x).numpy(), infer)
    assert not np.allclose(layer(x, training=True).numpy(), infer)
    # recurrent dropout acts on h only: with one step from a zero state it changes nothing
    rec = L.ConvLSTM2D(3, 3, padding="same", recurrent_dropout=0.7, seed=1)
    np.testing.assert_allclose(rec(x[:, :1], training=True).numpy(), rec(x[:, :1], training=False).numpy(),
                               atol=1e-6)
    assert layer.get_config()["dropout"] == 0.5 and layer.get_config()["seed"] == 1


def test_dropout_masks_one_per_gate_shared_over_time(monkeypatch):
    x = np.random.default_rng(4).normal(size=(2, 3, 4, 4, 2)).astype("float32")
    layer = L.ConvLSTM2D(3, 3, padding="same", dropout=0.4, seed=2, return_sequences=True)
    layer(x)
    masks = layer.cell.dropout_masks(0.4, (2, 1, 4, 4, 2), np.float32)
    assert masks.shape == (4, 2, 1, 4, 4, 2) and not np.array_equal(masks[0], masks[1])
    assert set(np.unique(masks)) <= {0.0, np.float32(1 / 0.6)}
    # with the four gate masks made equal, training == inference on the masked input (mask shared by all steps)
    same = np.repeat(masks[:1], 4, axis=0)
    monkeypatch.setattr(layer.cell, "dropout_masks", lambda rate, shape, dtype: same if rate else None)
    np.testing.assert_allclose(layer(x, training=True).numpy(), layer(x * same[0], training=False).numpy(),
                               atol=1e-6)


def test_bad_input_errors_name_layer_and_argument():
    with pytest.raises(ValueError, match="padding"):
        L.ConvLSTM2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match="ConvLSTM2D.*kernel_size"):
        L.ConvLSTM2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match="strides"):
        L.ConvLSTM1D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="stateful"):
        L.ConvLSTM2D(2, 3, stateful=True)
    with pytest.raises(ValueError, match="dropout"):
        L.ConvLSTM2D(2, 3, dropout=1.5)
    layer = L.ConvLSTM2D(2, 3, name="clstm")
    with pytest.raises(ValueError, match="clstm.*5.*4|clstm.*rank"):
        layer(np.zeros((1, 3, 5, 5), "float32"))
    layer = L.ConvLSTM2D(2, 3, name="clstm2")
    with pytest.raises(ValueError, match=r"clstm2.*initial_state.*\(1, 3, 3, 2\)"):
        layer(np.zeros((1, 2, 5, 5, 1), "float32"), initial_state=[np.zeros((1, 5, 5, 2))] * 2)


def test_fit_reduces_loss_and_keras_file_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3, 6, 6, 1)).astype("float32")
    y = x.mean(axis=(1, 2, 3, 4))[:, None] * 4.0
    tf.random.set_seed(0)
    model = keras.Sequential([keras.Input((3, 6, 6, 1)), L.ConvLSTM2D(4, 3, padding="same"), L.Flatten(),
                              L.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    hist = model.fit(x, y, epochs=6, batch_size=8, verbose=0).history["loss"]
    assert hist[-1] < 0.7 * hist[0]
    path = str(tmp_path / "clstm.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.layers[0]).__name__ == "ConvLSTM2D"
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


# -- ConvLSTM3D (fixture keys "c3:<case>:<item>") ---------------------------------------------------
CASES_3D = sorted({k.split(":")[1] for k in FIX.files if k.startswith("c3:")})


def _c3(case, item):
    return FIX[f"c3:{case}:{item}"]


def test_conv_lstm3d_fixture_covers_the_configurations():
    assert len(CASES_3D) == 5
    kws = [json.loads(str(_c3(c, "kwargs"))) for c in CASES_3D]
    for key, value in [("padding", "same"), ("strides", 2), ("dilation_rate", 2), ("go_backwards", True),
                       ("return_state", True), ("data_format", "channels_first"), ("use_bias", False)]:
        assert any(kw.get(key) == value for kw in kws), key
    assert any(f"c3:{c}:mask" in FIX.files for c in CASES_3D) and any(f"c3:{c}:h0" in FIX.files for c in CASES_3D)


@pytest.mark.parametrize("case", CASES_3D)
def test_conv_lstm3d_matches_keras(case):
    keys = set(FIX.files)
    layer = L.ConvLSTM3D(**json.loads(str(_c3(case, "kwargs"))))
    x = _c3(case, "x")
    call = {}
    if f"c3:{case}:h0" in keys:
        call["initial_state"] = [_c3(case, "h0"), _c3(case, "c0")]
    if f"c3:{case}:mask" in keys:
        call["mask"] = _c3(case, "mask")
    layer(x, **call)
    weights = [_c3(case, f"w{i}") for i in range(3) if f"c3:{case}:w{i}" in keys]
    assert [tuple(w.shape) for w in layer.get_weights()] == [w.shape for w in weights]
    layer.set_weights(weights)
    y = layer(x, **call)
    ys = y if isinstance(y, list) else [y]
    expected = [_c3(case, f"y{i}") for i in range(3) if f"c3:{case}:y{i}" in keys]
    assert len(ys) == len(expected)
    for got, want in zip(ys, expected):
        assert got.dtype == tf.float32 and tuple(got.shape) == want.shape
        np.testing.assert_allclose(got.numpy(), want, atol=1e-5, rtol=0)
    shapes = layer.compute_output_shape(x.shape)
    first = shapes[0] if isinstance(shapes[0], (list, tuple)) else shapes
    assert tuple(first)[1:] == expected[0].shape[1:]


def test_conv_lstm3d_weights_config_and_symbolic():
    layer = L.ConvLSTM3D(2, 3, name="conv_lstm3d")
    layer(np.zeros((1, 3, 4, 4, 4, 2), "float32"))
    assert [w.path for w in layer.weights] == FIX["paths_3d"].tolist()
    theirs = json.loads(str(FIX["config_3d"]))
    mine = layer.get_config()
    assert set(mine) == set(theirs)
    for k, v in theirs.items():
        if not isinstance(v, dict):
            assert mine[k] == v, k
    assert L.ConvLSTM3D.from_config(theirs).get_config() == mine
    out, h, c = L.ConvLSTM3D(3, 2, strides=2, padding="same", return_state=True)(keras.Input((None, 4, 6, 6, 1)))
    assert out.shape.as_list() == h.shape.as_list() == c.shape.as_list() == [None, 2, 3, 3, 3]
    with pytest.raises(ValueError, match="c3d.*rank 6"):
        L.ConvLSTM3D(2, 3, name="c3d")(np.zeros((1, 3, 5, 5, 1), "float32"))
    with pytest.raises(ValueError, match="ConvLSTM3D.*kernel_size"):
        L.ConvLSTM3D(2, (3, 3))


def test_conv_lstm3d_numerical_gradients_and_dropout():
    layer = L.ConvLSTM3D(2, 2, padding="same", return_sequences=True, dtype="float64",
                         bias_initializer="random_normal", recurrent_initializer="glorot_uniform")
    check_layer_gradients(layer, np.random.default_rng(3).normal(size=(1, 2, 3, 3, 2, 1)), max_entries=15)
    drop = L.ConvLSTM3D(2, 2, dropout=0.5, recurrent_dropout=0.5, seed=1)
    x = np.ones((2, 2, 3, 3, 3, 1), "float32")
    assert not np.allclose(drop(x, training=True).numpy(), drop(x, training=False).numpy())


def test_conv_lstm3d_fit_and_keras_file_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 2, 3, 4, 4, 1)).astype("float32")
    y = x.mean(axis=(1, 2, 3, 4, 5))[:, None] * 4.0
    tf.random.set_seed(0)
    model = keras.Sequential([keras.Input((2, 3, 4, 4, 1)), L.ConvLSTM3D(3, 2, padding="same"), L.Flatten(),
                              L.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    hist = model.fit(x, y, epochs=6, batch_size=6, verbose=0).history["loss"]
    assert hist[-1] < 0.7 * hist[0]
    path = str(tmp_path / "clstm3.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.layers[0]).__name__ == "ConvLSTM3D"
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
