"""Learning-rate schedules against the expected values of Keras 3's
keras/src/optimizers/schedules/learning_rate_schedule_test.py."""
import json
import math

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import optimizers as O
from tapeflow.keras.optimizers import schedules


def close(value, expected, rtol=1e-6):
    np.testing.assert_allclose(float(value), expected, rtol=rtol, atol=1e-6)


CONFIGS = [
    schedules.ExponentialDecay(initial_learning_rate=0.05, decay_steps=10, decay_rate=0.96, staircase=True,
                               name="my_ed"),
    schedules.PiecewiseConstantDecay(boundaries=[10, 20], values=[1, 2, 3], name="my_pcd"),
    schedules.PolynomialDecay(initial_learning_rate=0.1, decay_steps=100, end_learning_rate=0.005, power=1.0,
                              cycle=False, name="my_ld"),
    schedules.InverseTimeDecay(initial_learning_rate=0.05, decay_steps=10, decay_rate=0.96, staircase=True,
                               name="my_itd"),
    schedules.CosineDecay(initial_learning_rate=0.05, decay_steps=10, alpha=0.1, warmup_target=0.2,
                          warmup_steps=2, name="my_cd"),
    schedules.CosineDecayRestarts(initial_learning_rate=0.05, first_decay_steps=10, alpha=0.1, t_mul=3.0,
                                  m_mul=4.0, name="my_cdr"),
]


@pytest.mark.parametrize("sched", CONFIGS, ids=lambda s: type(s).__name__)
def test_config_round_trip(sched):
    cfg = sched.get_config()
    again = type(sched).from_config(cfg)
    assert again.get_config() == cfg
    ser = schedules.serialize(sched)
    assert ser["class_name"] == type(sched).__name__ and ser["module"] == "keras.optimizers.schedules"
    back = schedules.deserialize(json.loads(json.dumps(ser)))
    assert type(back) is type(sched) and back.get_config() == cfg
    for step in (0, 1, 5, 12, 40):
        close(back(step), float(sched(step)))


def test_exponential_decay():
    close(schedules.ExponentialDecay(0.05, 10, 0.96)(5), 0.05 * 0.96 ** (5.0 / 10.0))
    step = tf.Variable(1.0)
    lr = schedules.ExponentialDecay(0.1, 3, 0.96, staircase=True)
    close(lr(step), 0.1)
    step.assign(2)
    close(lr(step), 0.1)
    step.assign(100)
    close(lr(step), 0.1 * 0.96 ** (100 // 3))
    assert lr(step).dtype == np.float32
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.9)


def test_piecewise_constant_decay():
    x = tf.Variable(-999.0)
    lr = schedules.PiecewiseConstantDecay([100, 110, 120], [1.0, 0.1, 0.01, 0.001])
    for value, expected in ((-999, 1.0), (100, 1.0), (105, 0.1), (110, 0.1), (120, 0.01), (999, 0.001)):
        x.assign(value)
        close(lr(x), expected)
    x64 = tf.Variable(np.int64(0), trainable=False)
    lr = schedules.PiecewiseConstantDecay([1, 2, 3], [0.4, 0.5, 0.6, 0.7])
    for value, expected in ((0, 0.4), (1, 0.4), (2, 0.5), (3, 0.6), (4, 0.7)):
        x64.assign(value)
        close(lr(x64), expected)
    with pytest.raises(ValueError, match="1 less than"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2])


@pytest.mark.parametrize("power", [1.0, 0.5])
def test_polynomial_decay(power):
    lr, end = 0.05, 0.001
    close(schedules.PolynomialDecay(lr, 10, 0.0, power=power)(5), lr * 0.5 ** power)
    close(schedules.PolynomialDecay(lr, 10, end, power=power)(10), end)
    close(schedules.PolynomialDecay(lr, 10, end, power=power)(5), (lr - end) * 0.5 ** power + end)
    close(schedules.PolynomialDecay(lr, 10, end, power=power)(15), end)
    close(schedules.PolynomialDecay(lr, 10, end, power=power, cycle=True)(15), (lr - end) * 0.25 ** power + end)
    close(schedules.PolynomialDecay(0.001, 10, cycle=True)(0), 0.001)


@pytest.mark.parametrize("staircase", [False, True])
def test_inverse_time_decay(staircase):
    k, rate = 10, 0.96
    step = tf.Variable(0.0)
    lr = schedules.InverseTimeDecay(0.1, k, rate, staircase=staircase)
    for i in range(k + 1):
        expected = 0.1 / (1 + rate * (i // k)) if staircase else 0.1 / (1 + i / k * rate)
        close(lr(step), expected)
        step.assign(step + 1.0)


def np_cosine_decay(step, decay_steps, alpha=0.0):
    step = min(step, decay_steps)
    return (1.0 - alpha) * 0.5 * (1.0 + math.cos(math.pi * step / decay_steps)) + alpha


def test_cosine_decay():
    for step in range(0, 1500, 250):
        close(schedules.CosineDecay(1.0, 1000)(step), np_cosine_decay(step, 1000))
        close(schedules.CosineDecay(1.0, 1000, 0.1)(step), np_cosine_decay(step, 1000, 0.1))
        out64 = schedules.CosineDecay(np.float64(1.0), 1000)(step)
        assert out64.dtype == np.float64
        close(out64, np_cosine_decay(step, 1000))
        close(schedules.CosineDecay(0.0, 10, warmup_target=10.0, warmup_steps=1500)(step), step / 1500 * 10.0)
    for step in range(0, 3000, 250):
        lr = schedules.CosineDecay(0.0, 1000, warmup_target=10.0, warmup_steps=2000)
        expected = step / 2000 * 10.0 if step < 2001 else 10.0 * np_cosine_decay(step - 2000, 1000)
        close(lr(step), expected, rtol=1e-5)


def np_cosine_decay_restarts(step, decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0):
    fac = 1.0
    while step >= decay_steps:
        step -= decay_steps
        decay_steps *= t_mul
        fac *= m_mul
    return (1.0 - alpha) * fac * 0.5 * (1.0 + math.cos(math.pi * step / decay_steps)) + alpha


@pytest.mark.parametrize("kwargs", [{}, {"alpha": 0.1}, {"m_mul": 0.9}, {"t_mul": 1.0}])
def test_cosine_decay_restarts(kwargs):
    for step in range(0, 1500, 250):
        close(schedules.CosineDecayRestarts(1.0, 1000, **kwargs)(step), np_cosine_decay_restarts(step, 1000, **kwargs))
        close(schedules.CosineDecayRestarts(np.float64(1.0), 1000, **kwargs)(step),
              np_cosine_decay_restarts(step, 1000, **kwargs))


def test_custom_schedule_and_errors():
    class MySchedule(schedules.LearningRateSchedule):
        def __call__(self, step):
            return 0.1 / (int(step) + 1)

        def get_config(self):
            return {}

    w = tf.Variable([0.0])
    opt = O.SGD(learning_rate=MySchedule())
    opt.apply_gradients([(tf.constant([1.0]), w)])
    opt.apply_gradients([(tf.constant([1.0]), w)])
    np.testing.assert_allclose(w.numpy(), [-0.15], rtol=1e-6)
    restored = O.SGD.from_config(opt.get_config(), custom_objects={"MySchedule": MySchedule})
    assert isinstance(restored._learning_rate, MySchedule)
    with pytest.raises(NotImplementedError):
        schedules.LearningRateSchedule()(0)
    with pytest.raises(ValueError, match="Unknown"):
        schedules.deserialize({"class_name": "NoSuchDecay", "config": {}})


def test_optimizer_iterations_drive_schedule():
    """The Keras flow test: Adam with ExponentialDecay(0.05, 1, 0.9) evaluates the schedule at `iterations`."""
    opt = O.Adam(learning_rate=schedules.ExponentialDecay(initial_learning_rate=0.05, decay_steps=1, decay_rate=0.9))
    assert len(opt.variables) == 1 and int(opt.variables[0]) == 0
    w = tf.Variable([1.0])
    for step in range(12):
        close(opt.learning_rate, 0.05 * 0.9 ** step)
        opt.apply_gradients([(tf.constant([1.0]), w)])
    assert int(opt.variables[0]) == 12
