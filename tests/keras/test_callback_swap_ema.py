"""SwapEMAWeights against Keras 3.15.1's fit (tests/fixtures/make_keras3_swap_ema.py writes the numbers)."""
import json
import os

import numpy as np
import pytest

import tapeflow as tf

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras3_swap_ema.json")
with open(FIXTURE) as f:
    K = json.load(f)
D = {k: np.array(v, np.float32) for k, v in K["data"].items() if k != "w"}
W = [np.array(w, np.float32) for w in K["data"]["w"]]


def _model(use_ema=True):
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(3, activation="tanh"),
                                 tf.keras.layers.Dense(1)])
    model.set_weights(W)
    model.compile(optimizer=tf.keras.optimizers.SGD(0.05, momentum=0.5, use_ema=use_ema, ema_momentum=0.8),
                  loss="mse")
    return model


def _fit(model, callbacks):
    return model.fit(D["x"], D["y"], batch_size=8, epochs=3, validation_data=(D["xv"], D["yv"]), shuffle=False,
                     verbose=0, callbacks=callbacks)


@pytest.mark.parametrize("case", ["none", "swap", "swap_on_epoch"])
def test_history_and_final_weights_equal_keras(case):
    model = _model()
    cbs = [] if case == "none" else [tf.keras.callbacks.SwapEMAWeights(swap_on_epoch=case == "swap_on_epoch")]
    h = _fit(model, cbs)
    want = K[case]
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(h.history[key], want["history"][key], rtol=2e-5, err_msg=key)
    for got, ref in zip(model.get_weights(), want["weights"]):
        np.testing.assert_allclose(got, np.array(ref), rtol=1e-5, atol=1e-6)


def test_validation_sees_the_averages_and_training_the_raw_weights():
    model, cb = _model(), tf.keras.callbacks.SwapEMAWeights()
    model.fit(D["x"], D["y"], batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[cb])
    opt = model.optimizer
    raw = [v.numpy().copy() for v in model.trainable_variables]
    avg = [a.numpy().copy() for a in opt._model_variables_moving_average]
    seen = []
    probe = tf.keras.callbacks.LambdaCallback(
        on_test_begin=lambda logs: seen.append([v.numpy().copy() for v in model.trainable_variables]))
    model.evaluate(D["xv"], D["yv"], verbose=0, callbacks=[cb, probe])
    for s, a in zip(seen[0], avg):
        np.testing.assert_array_equal(s, a)
    for v, r in zip(model.trainable_variables, raw):        # swapped back after evaluate
        np.testing.assert_array_equal(v.numpy(), r)
    model.predict(D["xv"], verbose=0, callbacks=[cb])
    for v, r in zip(model.trainable_variables, raw):        # and after predict (Keras 3.15.1 forgets this one)
        np.testing.assert_array_equal(v.numpy(), r)


def test_needs_an_optimizer_with_use_ema():
    model = _model(use_ema=False)
    with pytest.raises(ValueError, match="use_ema=True"):
        _fit(model, [tf.keras.callbacks.SwapEMAWeights()])
