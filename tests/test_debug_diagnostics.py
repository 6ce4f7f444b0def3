"""tapeflow.debug: whole-model gradient check, check_numerics, gradient-norm and activation callbacks,
histograms."""
import subprocess
import sys
import warnings

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.autodiff import tape as tape_mod

keras = tf.keras


def small_model(act="tanh"):
    tf.random.set_seed(0)
    return keras.Sequential([keras.layers.Dense(5, activation=act, input_shape=(4,), name="hidden"),
                             keras.layers.Dense(3, activation="softmax", name="out")])


def data(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype(np.float32), np.eye(3)[rng.integers(0, 3, n)].astype(np.float32)


# -- whole-model gradient check ---------------------------------------------------------------
def test_model_gradient_check_passes_and_reports_every_weight():
    m = small_model()
    m.compile("sgd", "categorical_crossentropy")
    x, y = data()
    before = [w.copy() for w in m.get_weights()]
    report = tf.debug.check_gradients(m, x, y)
    assert report.ok
    assert [r.name for r in report.results] == [v.path for v in m.trainable_weights]
    assert all(r.max_rel_error < 1e-5 for r in report.results)
    assert report[m.trainable_weights[0].path].checked == 20  # small weights: every entry
    text = str(report)
    assert "hidden/kernel" in text and "max rel err" in text
    # the model is back in float32 with its weights untouched
    assert all(v.dtype == np.float32 for v in m.weights)
    assert m.layers[0].compute_dtype == "float32"
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))


def test_model_gradient_check_samples_large_weights_and_explicit_loss():
    tf.random.set_seed(1)
    m = keras.Sequential([keras.layers.Dense(64, activation="relu", input_shape=(8,)), keras.layers.Dense(1)])
    x = np.random.default_rng(2).standard_normal((4, 8))
    report = tf.debug.check_gradients(m, x, np.ones((4, 1)), loss="mse", max_entries=10)
    assert report.ok
    assert report.results[0].checked == 10 and report.results[0].shape == (8, 64)


class BuggyScale(keras.layers.Layer):
    """A custom layer whose hand-written gradient for its weight is wrong by a factor of 2."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, x):
        @tf.custom_gradient
        def scale(x, w):
            def grad(dy):
                return dy * w, 2.0 * tf.reduce_sum(dy * x, axis=0)  # planted bug: factor 2
            return x * w, grad
        return scale(x, self.w)


def test_model_gradient_check_catches_a_wrong_custom_layer_gradient():
    tf.random.set_seed(0)
    m = keras.Sequential([keras.layers.Dense(4, input_shape=(4,), name="d"), BuggyScale(name="buggy"),
                          keras.layers.Dense(1)])
    x, _ = data()
    with pytest.raises(tf.debug.GradientCheckError, match="buggy/w") as e:
        tf.debug.check_gradients(m, x, np.zeros((6, 1)), loss="mse")
    report = e.value.report
    failing = {r.name.split("/")[-2] for r in report.failures}
    assert failing == {"buggy"}
    r = tf.debug.check_gradients(m, x, np.zeros((6, 1)), loss="mse", raise_on_failure=False)
    assert not r.ok and "FAIL" in str(r)


def test_function_form_still_works():
    errs = tf.debug.check_gradients(lambda a: tf.tanh(a) * a, np.array([0.3, -1.2]))
    assert max(errs) < 1e-6


# -- check_numerics ---------------------------------------------------------------------------
def test_check_numerics_names_op_and_layer():
    m = keras.Sequential([keras.layers.Dense(2, input_shape=(2,), name="first", kernel_initializer="ones"),
                          keras.layers.Lambda(lambda t: tf.math.log(t), name="bad_log")])
    x = np.array([[-1.0, -2.0]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m(x)  # disabled: NaN passes silently
        tf.debug.enable_check_numerics()
        try:
            with pytest.raises(tf.debug.CheckNumericsError) as e:
                m(x)
        finally:
            tf.debug.disable_check_numerics()
    assert e.value.op == "log" and e.value.layer == "bad_log"
    assert "'log'" in str(e.value) and "bad_log" in str(e.value)
    assert tape_mod._numerics is None and not tf.debug.is_check_numerics_enabled()


def test_check_numerics_catches_a_gradient():
    x = tf.Variable([0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with tf.debug.check_numerics_scope():
            with tf.GradientTape() as t:
                y = tf.reduce_sum(tf.sqrt(x))  # finite forward, infinite gradient at 0
            with pytest.raises(tf.debug.CheckNumericsError) as e:
                t.gradient(y, x)
    assert e.value.backward and e.value.op == "sqrt"
    assert tape_mod._numerics is None


# -- GradientNorms ----------------------------------------------------------------------------
class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epoch_logs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_logs.append(dict(logs))


def test_gradient_norms_logged_per_layer_and_match_direct_computation():
    m = small_model()
    m.compile(keras.optimizers.SGD(0.0), "categorical_crossentropy")  # lr 0: weights stay put
    x, y = data(n=8)
    cb = keras.callbacks.GradientNorms(freq=1)
    rec = Recorder()  # stands for TensorBoard: a callback listed after GradientNorms sees the values
    h = m.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False, callbacks=[cb, rec])
    assert {"grad_norm/hidden", "grad_norm/out"} <= set(h.history)
    assert "grad_norm/hidden" in rec.epoch_logs[0]
    direct = tf.debug.gradient_norms(m, x, y)
    assert h.history["grad_norm/out"][-1] == pytest.approx(direct["out"], rel=1e-5)
    assert len(cb.steps) == 2 and not m._trainer_record_grads


def test_gradient_norms_freq_and_warnings():
    tf.random.set_seed(0)
    m = keras.Sequential([keras.layers.Dense(4, input_shape=(3,), name="dead_in"),
                          keras.layers.Dense(4, kernel_initializer="zeros", name="zero_w"),
                          keras.layers.Dense(1, name="big")])
    m.compile(keras.optimizers.SGD(0.0), "mse")
    x = np.ones((8, 3), np.float32)
    cb = keras.callbacks.GradientNorms(freq=2)
    with pytest.warns(RuntimeWarning, match="vanishing gradient in layer 'dead_in'"):
        m.fit(x, np.ones((8, 1)), batch_size=2, epochs=1, verbose=0, callbacks=[cb])
    assert [s for s, _ in cb.steps] == [0, 2]
    with pytest.warns(RuntimeWarning, match="exploding gradient in layer '(big|zero_w)'"):
        m.fit(x * 1e4, np.full((8, 1), 1e6), batch_size=8, epochs=1, verbose=0,
              callbacks=[keras.callbacks.GradientNorms()])


# -- ActivationStats --------------------------------------------------------------------------
def test_activation_stats_flags_dead_relu_units():
    tf.random.set_seed(0)
    m = keras.Sequential([keras.layers.Dense(6, activation="relu", input_shape=(4,), bias_initializer=
                                             keras.initializers.Constant(-100.0), name="dead_relu"),
                          keras.layers.Dense(1, name="head")])
    m.compile("sgd", "mse")
    x, _ = data(n=16)
    cb = keras.callbacks.ActivationStats(x)
    with pytest.warns(RuntimeWarning, match="(?s)dead_relu.*LeakyReLU or PReLU"):
        h = m.fit(x, np.ones((16, 1)), epochs=1, verbose=0, callbacks=[cb])
    assert h.history["dead_frac/dead_relu"] == [1.0]
    assert h.history["act_mean/dead_relu"] == [0.0]
    assert "act_var/head" in h.history
    stats = tf.debug.activation_stats(m, x)
    assert stats["dead_relu"]["dead_fraction"] == 1.0 and stats["dead_relu"]["relu"]


def test_activation_stats_healthy_model_no_warning():
    m = small_model(act="relu")
    x, _ = data(n=32)
    stats = tf.debug.activation_stats(m, x)
    assert set(stats) == {"hidden", "out"}
    assert stats["out"]["mean"] == pytest.approx(1 / 3, rel=1e-5)  # softmax rows sum to 1
    assert "call" not in m.layers[0].__dict__  # the capture wrapper is removed


# -- histograms -------------------------------------------------------------------------------
def test_weight_and_activation_histograms_are_arrays():
    m = small_model()
    hists = tf.debug.weight_histograms(m, bins=7)
    assert set(hists) == {v.path for v in m.weights}
    counts, edges = hists[m.layers[0].kernel.path]
    assert counts.sum() == 20 and len(edges) == 8
    x, _ = data()
    ah = tf.debug.activation_histograms(m, x, bins=5)
    assert ah["out"][0].sum() == 18


def test_plots_need_matplotlib_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install tapeflow\[plots\]"):
        tf.debug.plot_weight_histograms(small_model())


def test_import_tapeflow_does_not_import_matplotlib():
    code = "import sys, tapeflow, tapeflow.debug; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
