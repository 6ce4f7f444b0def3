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


def _optimizer(name):
    return {"adam": lambda: keras.optimizers.Adam(0.01),
            "sgd_nesterov": lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
            "rmsprop_centered": lambda: keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
            "adamw_schedule": lambda: keras.optimizers.AdamW(
                keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.9), weight_decay=0.01)}[name]()


@pytest.mark.parametrize("name", sorted(REF))
def test_a_model_keras_trained_evaluates_and_trains_on_as_in_keras(name):
    x, y = DATA["x"], DATA["y"]
    m = keras.models.load_model(os.path.join(HERE, f"{name}.keras"))
    want = REF[name]
    got = m.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(got) == sorted(want["evaluate"])
    for k, v in want["evaluate"].items():
        np.testing.assert_allclose(got[k], v, rtol=2e-6, atol=1e-7, err_msg=k)
    history = m.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0).history
    for k, v in want["history"].items():
        np.testing.assert_allclose(history[k], v, rtol=2e-6, atol=1e-7, err_msg=k)
    for a, b in zip(m.get_weights(), want["weights"]):
        np.testing.assert_allclose(a, np.array(b, "float32"), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(REF))
def test_the_compile_config_is_kerass(name):
    keras.backend.clear_session()
    m = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)])
    m.compile(_optimizer(name), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=1)])
    ours = json.loads(json.dumps(m.get_compile_config(), default=lambda o: list(o) if isinstance(o, tuple) else o))
    want = REF[name]["compile_config"]
    ours["optimizer"]["config"].pop("name")  # (tapeflow's default optimizer names differ: "adamw" vs "adam_w")
    want["optimizer"]["config"].pop("name")
    assert ours == want
