"""tf.train.ExponentialMovingAverage against TensorFlow 2's printed values for the same calls."""
import numpy as np
import pytest

import tapeflow as tf


def test_num_updates_schedule_matches_tensorflow():
    w, step = tf.Variable([1.0, 2.0], name="w"), tf.Variable(0)
    ema = tf.train.ExponentialMovingAverage(0.9, num_updates=step)
    ema.apply([w])
    shadow = ema.average(w)
    assert shadow.numpy().tolist() == [1.0, 2.0] and not shadow.trainable and ema.name == "ExponentialMovingAverage"
    assert ema.average_name(w) == "w/ExponentialMovingAverage"
    want = [[1.8181818, 1.1818182], [2.7045455, 0.29545456], [3.6013987, -0.6013986]]   # TF 2 printed these
    for row in want:
        w.assign_add([1.0, -1.0])
        step.assign_add(1)
        ema.apply([w])
        np.testing.assert_allclose(ema.average(w).numpy(), row, rtol=1e-6)
    assert ema.average(w) is shadow


def test_float64_variables_and_errors():
    ema = tf.train.ExponentialMovingAverage(0.5)
    x = tf.Variable(1.0, dtype="float64")
    ema.apply([x])
    x.assign(3.0)
    ema.apply([x])
    assert float(ema.average(x)) == 2.0 and ema.average(x).dtype == "float64"
    assert ema.average(tf.Variable([1.0])) is None
    with pytest.raises(TypeError, match="does not support non-Variable tensors"):
        ema.apply([tf.constant(1.0)])
    with pytest.raises(TypeError, match="must be half, float, or double"):
        ema.apply([tf.Variable(1)])
    with pytest.raises(ValueError, match="pass var_list"):
        ema.apply()


def test_in_a_custom_loop_the_average_smooths_sgd_noise():
    rs = np.random.default_rng(0)
    w = tf.Variable([0.0])
    opt = tf.keras.optimizers.SGD(0.1)
    ema = tf.train.ExponentialMovingAverage(0.95, num_updates=opt.iterations)
    raw, avg = [], []
    for _ in range(300):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum((w - (2.0 + rs.normal())) ** 2)
        opt.apply_gradients([(tape.gradient(loss, w), w)])
        ema.apply([w])
        raw.append(float(w[0]))
        avg.append(float(ema.average(w)[0]))
    assert abs(np.mean(avg[100:]) - 2.0) < 0.1 and np.std(avg[100:]) < 0.5 * np.std(raw[100:])
