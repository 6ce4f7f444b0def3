"""tf.keras.mixed_precision: policies, dtype overrides, LossScaleOptimizer, compile's auto-wrap, accuracy.

Measured cost on the CPU (see benchmarks/mixed_precision.py): NumPy has no float16 GEMM, so
mixed_float16 trains several times *slower* than float32 here; its gain is memory (float16
activations are half the size). The tests check correctness, not speed.
"""

import numpy as np
import pytest

import tapeflow as tf
from _oracle import require_module

keras = tf.keras
mp = keras.mixed_precision


@pytest.fixture(autouse=True)
def reset_policy():
    yield
    mp.set_global_policy("float32")


def test_policy_attributes_and_errors():
    p = mp.Policy("mixed_float16")
    assert (p.name, p.compute_dtype, p.variable_dtype) == ("mixed_float16", "float16", "float32")
    assert mp.Policy("float32").compute_dtype == "float32"
    assert mp.global_policy().name == "float32"
    with pytest.raises(ValueError, match="mixed_float16"):
        mp.Policy("mixed_float8")
    assert mp.Policy.from_config(p.get_config()) == p


def test_global_policy_applies_to_new_layers_and_dtype_override():
    mp.set_global_policy("mixed_float16")
    assert mp.global_policy().compute_dtype == "float16"
    hidden = keras.layers.Dense(4, activation="relu")
    out = keras.layers.Dense(2, dtype="float32")
    act = keras.layers.Activation("softmax", dtype="float32")
    y = hidden(np.ones((3, 5), np.float32))
    assert y.dtype == np.float16
    assert hidden.kernel.dtype == np.float32 and hidden.variable_dtype == "float32"
    assert act(out(y)).dtype == np.float32 and out.compute_dtype == "float32"
    mp.set_global_policy("float32")
    assert keras.layers.Dense(2).compute_dtype == "float32"


def test_compile_wraps_optimizer_only_under_mixed_float16():
    mp.set_global_policy("mixed_float16")
    m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,)), keras.layers.Dense(1, dtype="float32")])
    m.compile("sgd", "mse")
    assert isinstance(m.optimizer, mp.LossScaleOptimizer)
    assert type(m.optimizer.inner_optimizer).__name__ == "SGD"
    m.compile("sgd", "mse", auto_scale_loss=False)
    assert type(m.optimizer).__name__ == "SGD"
    mp.set_global_policy("float32")
    m2 = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    m2.compile("sgd", "mse")
    assert type(m2.optimizer).__name__ == "SGD"


def test_loss_scale_optimizer_skips_nonfinite_steps_and_grows():
    opt = mp.LossScaleOptimizer(keras.optimizers.SGD(1.0), initial_scale=16.0, dynamic_growth_steps=2)
    w = tf.Variable([1.0, 1.0])
    opt.apply_gradients([(tf.constant([np.inf, 1.0]), w)])
    assert float(opt.dynamic_scale) == 8.0 and opt.last_step_skipped
    assert w.numpy().tolist() == [1.0, 1.0] and int(opt.iterations) == 0
    opt.apply_gradients([(tf.constant([np.nan, 0.0]), w)])
    assert float(opt.dynamic_scale) == 4.0
    opt.apply_gradients([(tf.constant([4.0, 8.0]), w)])  # unscaled: [1, 2]
    assert w.numpy().tolist() == [0.0, -1.0] and float(opt.dynamic_scale) == 4.0
    opt.apply_gradients([(tf.constant([0.0, 0.0]), w)])  # second good step in a row: the scale doubles
    assert float(opt.dynamic_scale) == 8.0 and int(opt.step_counter) == 0 and int(opt.iterations) == 2
    assert opt.scale_loss(tf.constant(2.0)).numpy() == 16.0


def test_loss_scale_optimizer_delegates_learning_rate_and_config():
    inner = keras.optimizers.Adam(0.01)
    opt = mp.LossScaleOptimizer(inner, initial_scale=2.0 ** 10)
    assert float(opt.learning_rate) == pytest.approx(0.01)
    opt.learning_rate = 0.5
    assert float(inner.learning_rate) == 0.5
    cfg = opt.get_config()
    again = mp.LossScaleOptimizer.from_config(cfg)
    assert again.initial_scale == 2.0 ** 10 and type(again.inner_optimizer).__name__ == "Adam"
    with pytest.raises(TypeError):
        mp.LossScaleOptimizer("adam")


def test_fit_scales_loss_and_gradients_match_unscaled():
    """train_step multiplies the loss by the scale and the optimizer divides: the update equals float32's."""
    x = np.random.default_rng(0).standard_normal((16, 3)).astype(np.float32)
    y = x.sum(1, keepdims=True)

    def run(opt):
        tf.random.set_seed(0)
        m = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
        m.compile(opt, "mse")
        m.fit(x, y, batch_size=16, epochs=3, verbose=0)
        return m.get_weights()
    plain = run(keras.optimizers.SGD(0.1))
    scaled = run(mp.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=1024.0))
    factor = run(keras.optimizers.SGD(0.1, loss_scale_factor=64.0))
    for a, b, c in zip(plain, scaled, factor):
        np.testing.assert_allclose(a, b, rtol=1e-5)
        np.testing.assert_allclose(a, c, rtol=1e-5)


def _task():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 20)).astype(np.float32)
    w = rng.standard_normal((20, 4))
    y = np.argmax(x @ w + 0.3 * rng.standard_normal((3000, 4)), 1)
    return x[:2400], y[:2400], x[2400:], y[2400:]


def _accuracy(policy):
    mp.set_global_policy(policy)
    tf.random.set_seed(1)
    m = keras.Sequential([keras.layers.Dense(64, activation="relu", input_shape=(20,)),
                          keras.layers.Dense(64, activation="relu"),
                          keras.layers.Dense(4), keras.layers.Activation("softmax", dtype="float32")])
    m.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    xt, yt, xv, yv = _task()
    m.fit(xt, yt, batch_size=64, epochs=6, verbose=0)
    mp.set_global_policy("float32")
    assert m.layers[0].kernel.dtype == np.float32
    return m, m.evaluate(xv, yv, verbose=0)[1]


def test_mixed_float16_trains_to_float32_accuracy():
    _, acc32 = _accuracy("float32")
    m16, acc16 = _accuracy("mixed_float16")
    assert isinstance(m16.optimizer, mp.LossScaleOptimizer)
    assert m16.optimizer.skipped_steps <= 3  # only the first steps may overflow at scale 2**15
    assert acc32 > 0.85
    assert abs(acc16 - acc32) <= 0.01, (acc32, acc16)


def test_mixed_bfloat16_policy():
    require_module("ml_dtypes", "pip install ml_dtypes (extra [mixed])")
    mp.set_global_policy("mixed_bfloat16")
    layer = keras.layers.Dense(3)
    y = layer(np.ones((2, 4), np.float32))
    assert y.dtype.name == "bfloat16" and layer.kernel.dtype == np.float32
    m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,)), keras.layers.Dense(1, dtype="float32")])
    m.compile("sgd", "mse")
    assert not isinstance(m.optimizer, mp.LossScaleOptimizer)  # bfloat16 needs no loss scaling


def test_bfloat16_without_ml_dtypes_names_the_package(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)
    with pytest.raises(TypeError, match="ml_dtypes"):
        mp.Policy("mixed_bfloat16")
