"""Keras 3.15.1 layer arguments: ``MultiHeadAttention``/``GroupQueryAttention(use_gate=, sliding_window=)``,
``BatchNormalization(renorm=, renorm_clipping=, renorm_momentum=)`` and ``LayerNormalization(rms_scaling=)``.

Against real Keras (``fixtures/keras3_layer_options.{json,npz}`` and ``fixtures/keras3_layer_options/*.weights.h5``,
written by ``fixtures/make_keras3_layer_options.py``): outputs, attention scores, gradients of ``sum(y * r)``,
BN's statistics after a training call, variables after 3 SGD steps of ``fit``, configs, and the weight files both
ways. The new code paths are also checked against float64 central differences.
"""
import json
import os
import warnings

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tests._oracle import require, require_module
from tests.keras._layer_grad import check_layer_gradients

HERE = os.path.join(os.path.dirname(__file__), "..", "fixtures")
JSON, NPZ = os.path.join(HERE, "keras3_layer_options.json"), os.path.join(HERE, "keras3_layer_options.npz")
H5_DIR = os.path.join(HERE, "keras3_layer_options")
require("the Keras 3.15.1 layer-option fixtures", os.path.exists(JSON) and os.path.exists(NPZ),
        "/tmp/tfenv/bin/python tests/fixtures/make_keras3_layer_options.py")
FIX = json.load(open(JSON))
ARR = np.load(NPZ)
CASES = FIX["cases"]
ATTN = sorted(k for k, c in CASES.items() if "q" in c)
NORM = sorted(k for k, c in CASES.items() if "x" in c)
NEW_KEYS = {"MultiHeadAttention": ("use_gate", "sliding_window"), "GroupQueryAttention": ("use_gate", "sliding_window"),
            "BatchNormalization": ("renorm", "renorm_clipping", "renorm_momentum"),
            "LayerNormalization": ("rms_scaling",)}
RTOL, ATOL = 1e-5, 1e-6


def close(actual, desired, what, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(desired), rtol=rtol, atol=atol, err_msg=what)


def make_layer(case, **overrides):
    rec = CASES[case]
    config = {**rec["config"], **overrides}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rms_scaling=True is deprecated (Keras warns too)
        return getattr(keras.layers, rec["class"]).from_config(config)


def attention_args(case, dtype=np.float32):
    rec = CASES[case]
    q, v = ARR[rec["q"]].astype(dtype), ARR[rec["v"]].astype(dtype)
    call = dict(rec["call"])
    if rec["mask"]:
        call["attention_mask"] = ARR[rec["attention_mask"]]
    return q, (v if rec["kind"] == "cross" else q), call


def set_w0(layer, case):
    rec = CASES[case]
    ours = [w.path.split(layer.name + "/", 1)[1] for w in layer.weights]  # (a model may prefix its own name)
    assert ours == [p.split("/", 1)[1] for p in rec["paths"]]
    assert [list(w.shape) for w in layer.weights] == rec["shapes"]
    assert [bool(w.trainable) for w in layer.weights] == rec["trainable"]
    layer.set_weights([ARR[k] for k in rec["w0"]])


def check_config(layer, case):
    want, got = CASES[case]["config"], layer.get_config()
    for k in NEW_KEYS[CASES[case]["class"]]:
        assert k in got and got[k] == want[k], (k, got.get(k), want[k])
    for k, v in want.items():  # every key Keras writes, except the serialized dtype policy
        if k != "dtype":
            assert k in got, k
            assert json.loads(json.dumps(got[k])) == v, (k, got[k], v)
    again = type(layer).from_config(json.loads(json.dumps(got)))
    assert again.get_config() == got
    assert keras.layers.deserialize(keras.layers.serialize(layer)).get_config() == got


# -- one call: outputs, scores, gradients, statistics ----------------------------------------------------
@pytest.mark.parametrize("case", ATTN)
def test_attention_matches_keras(case):
    rec = CASES[case]
    layer = make_layer(case)
    q, v, call = attention_args(case)
    layer(q, v, **call)
    set_w0(layer, case)
    qt, vt = tf.constant(q), tf.constant(v)
    with tf.GradientTape() as tape:
        tape.watch([qt, vt])
        y = layer(qt, vt, **call) if rec["kind"] == "cross" else layer(qt, qt, **call)
        loss = tf.reduce_sum(y * tf.constant(ARR[rec["r"]]))
    grads = tape.gradient(loss, [qt, vt] + list(layer.trainable_weights))
    close(y.numpy(), ARR[rec["y"]], "output")
    close(grads[0].numpy(), ARR[rec["g_inputs"][0]], "d/dquery")
    if rec["kind"] == "cross":
        close(grads[1].numpy(), ARR[rec["g_inputs"][1]], "d/dvalue")
    for w, g, k in zip(layer.trainable_weights, grads[2:], rec["g_weights"]):
        close(g.numpy(), ARR[k], f"d/d{w.path}")
    _, scores = layer(q, v, return_attention_scores=True, **call)
    close(scores.numpy(), ARR[rec["scores"]], "scores")
    check_config(layer, case)


@pytest.mark.parametrize("case", NORM)
def test_normalization_matches_keras(case):
    rec = CASES[case]
    layer = make_layer(case)
    x = ARR[rec["x"]]
    layer.build(x.shape)
    set_w0(layer, case)
    training = rec["class"] == "BatchNormalization"
    if training:
        close(layer(x, training=False).numpy(), ARR[rec["y_inf"]], "inference output")
        for w, k in zip(layer.weights, rec["w0"]):
            close(w.numpy(), ARR[k], f"{w.path} (inference must not update it)", rtol=0, atol=0)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt, training=training)
        loss = tf.reduce_sum(y * tf.constant(ARR[rec["r"]]))
    grads = tape.gradient(loss, [xt] + list(layer.trainable_weights))
    close(y.numpy(), ARR[rec["y"]], "output")
    close(grads[0].numpy(), ARR[rec["g_inputs"][0]], "d/dx", atol=1e-5)
    for w, g, k in zip(layer.trainable_weights, grads[1:], rec["g_weights"]):
        close(g.numpy(), ARR[k], f"d/d{w.path}", atol=1e-5)
    for w, k in zip(layer.weights, rec["after"]):
        close(w.numpy(), ARR[k], f"{w.path} after one training call")
    check_config(layer, case)


# -- fit and weight files ------------------------------------------------------------------------------------
def build_model(case):
    rec = CASES[case]
    layer = make_layer(case)
    if "x" in rec:
        x = ARR[rec["x"]]
        return keras.Sequential([keras.Input(x.shape[1:]), layer]), layer, x
    q, v, call = attention_args(case)
    qi = keras.Input(q.shape[1:])
    ins, vi, kw = [qi], qi, {k: c for k, c in call.items() if k != "attention_mask"}
    inputs = [q]
    if rec["kind"] == "cross":
        vi = keras.Input(v.shape[1:])
        ins.append(vi)
        inputs.append(v)
    if rec["mask"]:
        mi = keras.Input(call["attention_mask"].shape[1:], dtype="bool")
        ins.append(mi)
        kw["attention_mask"] = mi
        inputs.append(call["attention_mask"])
    return keras.Model(ins, layer(qi, vi, **kw)), layer, inputs


def h5_layout(path):
    h5py = require_module("h5py")
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, tuple(o.shape)) if isinstance(o, h5py.Dataset) else None)
        names = {}
        f.visititems(lambda n, o: names.__setitem__(n, o.attrs.get("name")) if n.endswith("vars") else None)
    return out, names


@pytest.mark.parametrize("case", sorted(CASES))
def test_fit_and_weight_files_match_keras(case, tmp_path):
    rec = CASES[case]
    model, layer, inputs = build_model(case)
    set_w0(layer, case)
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    target = ARR[rec["fit"]["target"]]
    model.fit(inputs, target, batch_size=len(target), epochs=3, shuffle=False, verbose=0)
    for w, k in zip(layer.weights, rec["fit"]["after"]):
        close(w.numpy(), ARR[k], f"{w.path} after 3 SGD steps of fit")
    close(model.predict(inputs, verbose=0), ARR[rec["fit"]["pred"]], "prediction after fit")

    keras_file = os.path.join(H5_DIR, f"{case}.weights.h5")
    fresh, fresh_layer, _ = build_model(case)
    fresh.load_weights(keras_file)  # Keras's file into tapeflow
    for w, k in zip(fresh_layer.weights, rec["fit"]["after"]):
        close(w.numpy(), ARR[k], f"{w.path} loaded from Keras's weights file", rtol=0, atol=0)
    ours = str(tmp_path / "ours.weights.h5")
    model.save_weights(ours)  # tapeflow's file has Keras's layout
    keras_layout, keras_names = h5_layout(keras_file)
    our_layout, our_names = h5_layout(ours)
    layer_only = {k: s for k, s in keras_layout.items() if k.startswith("layers/")}
    assert {k: s for k, s in our_layout.items() if k.startswith("layers/")} == layer_only
    for k, name in keras_names.items():
        if k in our_names and k.startswith("layers/") and k.count("/") > 2:  # the sub-layers' names
            assert our_names[k] == name, (k, our_names[k], name)
    again, again_layer, _ = build_model(case)
    again.load_weights(ours)
    for w, v in zip(again_layer.weights, layer.weights):
        close(w.numpy(), v.numpy(), f"{w.path} through tapeflow's file", rtol=0, atol=0)


# -- float64 central differences for the new code paths -------------------------------------------------
class _Attend(keras.layers.Layer):
    """``x -> inner(x, x or fixed value, **call)`` so the layer checker sees one input."""

    def __init__(self, inner, value, call, **kwargs):
        super().__init__(dtype="float64", **kwargs)
        self.inner, self.value, self.call_kwargs = inner, value, call

    def call(self, x):
        return self.inner(x, x if self.value is None else self.value, **self.call_kwargs)


@pytest.mark.parametrize("case", ["mha_gate_mask", "mha_gate_window_causal_mask", "mha_window_cross_mask_nobias",
                                  "gqa_gate_window_causal"])
def test_attention_gradients_numerically(case):
    rec = CASES[case]
    layer = make_layer(case, dtype="float64")
    q, v, call = attention_args(case, np.float64)
    check_layer_gradients(_Attend(layer, v if rec["kind"] == "cross" else None, call), q, max_entries=12)


@pytest.mark.parametrize("case", ["bn_renorm", "bn_renorm_clip", "bn_renorm_noscale_axis1", "bn_renorm_nocenter_4d"])
def test_renorm_gradients_numerically(case, monkeypatch):
    """Keras holds r and d constant (stop-gradient): freeze them at the point's values, then differentiate."""
    layer = make_layer(case, dtype="float64")
    x = ARR[CASES[case]["x"]].astype(np.float64)
    layer.build(x.shape)
    layer.set_weights([ARR[k].astype(np.float64) for k in CASES[case]["w0"]])
    axes = layer._reduction_axes
    r, d = layer._renorm_correction(x.mean(axis=axes), x.var(axis=axes))
    clip = CASES[case]["config"]["renorm_clipping"]
    if clip:  # the clipping is exercised: some correction sits at a bound
        bounds = [clip.get("rmin"), clip.get("rmax")]
        assert any(np.isclose(r, b).any() for b in bounds if b is not None) or \
            ("dmax" in clip and np.isclose(np.abs(d), clip["dmax"]).any())
    monkeypatch.setattr(layer, "_renorm_correction", lambda mean, var: (r, d))
    check_layer_gradients(layer, x, training=True, max_entries=16)


@pytest.mark.parametrize("case", ["ln_rms", "ln_rms_axes_noscale"])
def test_rms_scaling_gradients_numerically(case):
    layer = make_layer(case, dtype="float64")
    check_layer_gradients(layer, ARR[CASES[case]["x"]].astype(np.float64))


def test_renorm_with_a_mask_counts_only_unmasked_steps():
    x = np.random.default_rng(3).normal(size=(2, 5, 3))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    bn = keras.layers.BatchNormalization(renorm=True, renorm_momentum=0.5, momentum=0.5, dtype="float64")
    y = bn(x, training=True, mask=mask)
    kept = x[mask]
    assert np.allclose(bn.renorm_mean.numpy(), 0.5 * kept.mean(0), atol=1e-6)
    assert np.allclose(bn.moving_stddev.numpy(), 0.5 + 0.5 * np.sqrt(kept.var(0) + 1e-3), atol=1e-6)
    r = np.sqrt(kept.var(0) + 1e-3)  # renorm_stddev starts at 1, renorm_mean at 0
    assert np.allclose(y.numpy()[mask], (kept - kept.mean(0)) / r * r + kept.mean(0), atol=1e-6)


def test_invalid_arguments_are_named():
    with pytest.raises(ValueError, match="sliding_window.*positive integer"):
        keras.layers.MultiHeadAttention(num_heads=2, key_dim=2, sliding_window=0)
    with pytest.raises(ValueError, match="invalid keys for `renorm_clipping`.*rmix"):
        keras.layers.BatchNormalization(renorm=True, renorm_clipping={"rmix": 1.0})
    with pytest.raises(ValueError, match="rmax >= rmin"):
        keras.layers.BatchNormalization(renorm=True, renorm_clipping={"rmax": 0.5, "rmin": 2.0})
    with pytest.raises(ValueError, match="dmax >= 0"):
        keras.layers.BatchNormalization(renorm=True, renorm_clipping={"dmax": -1.0})
    # renorm=False leaves renorm_clipping as given (Keras does not check it then)
    assert keras.layers.BatchNormalization(renorm_clipping={"rmix": 1}).get_config()["renorm_clipping"] == {"rmix": 1}
    with pytest.warns(UserWarning, match="rms_scaling=True is deprecated"):
        keras.layers.LayerNormalization(rms_scaling=True)


def test_a_keras_model_file_with_every_option_loads_and_saves(tmp_path):
    rec = FIX["model"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = keras.models.load_model(os.path.join(H5_DIR, "all_options.keras"))
    assert [w.path for w in model.weights] == rec["paths"]
    for w, k in zip(model.weights, rec["weights"]):
        close(w.numpy(), ARR[k], w.path, rtol=0, atol=0)
    x = ARR[rec["x"]]
    close(model.predict(x, verbose=0), ARR[rec["pred"]], "prediction of the loaded model")
    mha, bn, ln = (model.get_layer(n) for n in ("mha", "bn", "ln"))
    assert (mha.use_gate, mha.sliding_window, ln.rms_scaling, bn.renorm) == (True, 2, True, True)
    assert bn.get_config()["renorm_clipping"] == {"rmax": 2.0, "dmax": 1.0}
    path = str(tmp_path / "again.keras")
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = keras.models.load_model(path)
    close(again.predict(x, verbose=0), ARR[rec["pred"]], "prediction after tapeflow's save/load")
