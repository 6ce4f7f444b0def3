"""Compiled models against the real Keras 3.15.1 (``tests/fixtures/make_keras3_compiled.py``): models Keras
trained and saved (four optimizers, one on a schedule; a loss object; two metrics) load compiled in tapeflow,
evaluate to Keras's numbers and train on one more epoch to Keras's history and weights (the optimizer state
carries over); the same model compiled in tapeflow writes Keras's compile_config (Keras loads tapeflow's files
and trains on identically: checked by hand with the generator's Keras, as CI has no TensorFlow)."""
import json
import os

import numpy as np
import pytest

import tapeflow as tf

keras = tf.keras
HERE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "keras3_compiled")
with open(os.path.join(HERE, "reference.json"), encoding="utf-8") as _f:
    REF = json.load(_f)
DATA = np.load(os.path.join(HERE, "data.npz"))
SINGLE = sorted(n for n in REF if n != "multi_output")


@pytest.mark.parametrize("name", SINGLE)
def test_a_model_keras_trained_evaluates_and_trains_on_as_in_keras(name):
    _evaluates_and_trains_on(keras.models.load_model(os.path.join(HERE, f"{name}.keras")), DATA["x"], DATA["y"],
                             REF[name])


def _evaluates_and_trains_on(m, x, y, want):
    got = m.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(got) == sorted(want["evaluate"])
    for k, v in want["evaluate"].items():
        np.testing.assert_allclose(got[k], v, rtol=2e-6, atol=1e-7, err_msg=k)
    history = m.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0).history
    for k, v in want["history"].items():
        np.testing.assert_allclose(history[k], v, rtol=2e-6, atol=1e-7, err_msg=k)
    for a, b in zip(m.get_weights(), want["weights"]):
        np.testing.assert_allclose(a, np.array(b, "float32"), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", SINGLE)
def test_the_compile_config_is_kerass(name):
    keras.backend.clear_session()
    m = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)])
    m.compile(_builders().optimizers(keras)[name], keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=1)])
    ours = json.loads(json.dumps(m.get_compile_config(), default=lambda o: list(o) if isinstance(o, tuple) else o))
    want = REF[name]["compile_config"]
    assert ours == want  # optimizer names included: Keras's defaults ("adam_w", "rm_sprop")


def _builders():
    import importlib.util
    spec = importlib.util.spec_from_file_location("keras3_compiled_model", os.path.join(HERE, "model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_dict_output_model_loads_trains_on_and_compiles_as_keras():
    data = np.load(os.path.join(HERE, "data_multi.npz"))
    x, y = data["x"], {"reg": data["y1"], "cls": data["y2"]}
    want = REF["multi_output"]
    m = keras.models.load_model(os.path.join(HERE, "multi_output.keras"))
    assert [layer.name for layer in m.layers] == want["layers"]  # dict outputs in key order: "cls", "reg"
    _evaluates_and_trains_on(m, x, y, want)
    gen = _builders()
    keras.backend.clear_session()
    mine = gen.multi_output(keras)
    assert [layer.name for layer in mine.layers] == want["layers"]
    gen.compile_multi(keras, mine)
    mine.fit(x, y, epochs=1, batch_size=8, verbose=0)  # (compile names its metrics "cls_auc" for the logs)
    ours = json.loads(json.dumps(mine.get_compile_config(), default=lambda o: list(o) if isinstance(o, tuple) else o))
    assert ours == want["compile_config"]  # the metric saved as the user named it ("auc")
