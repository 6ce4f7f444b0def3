"""Chunked multi-threaded optimizer updates give bitwise the serial results."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.backend import threads
from tapeflow.keras import optimizers as O
from tapeflow.keras.optimizers import parallel

SHAPES = [(300, 70), (70,), (5, 7, 11), (), (0, 3), (1,)]

CASES = [
    lambda: O.SGD(0.05), lambda: O.SGD(0.05, momentum=0.9), lambda: O.SGD(0.05, momentum=0.9, nesterov=True),
    lambda: O.Adam(0.01), lambda: O.Adam(0.01, amsgrad=True), lambda: O.AdamW(0.01, weight_decay=0.1),
    lambda: O.RMSprop(0.01), lambda: O.RMSprop(0.01, momentum=0.5, centered=True), lambda: O.Nadam(0.01),
    lambda: O.Adagrad(0.05), lambda: O.Adadelta(1.0), lambda: O.Adamax(0.01), lambda: O.Lion(0.001),
    lambda: O.RAdam(0.01), lambda: O.AdaBelief(0.01, amsgrad=True), lambda: O.Ftrl(0.05, l1_regularization_strength=0.01),
]


def _run(make, n_threads, steps=7):
    threads.set_intra_op_threads(n_threads)
    try:
        rng = np.random.default_rng(0)
        vs = [tf.Variable(rng.normal(size=s).astype(np.float32)) for s in SHAPES]
        opt = make()
        for _ in range(steps):
            grads = [tf.constant(rng.normal(size=s).astype(np.float32)) for s in SHAPES]
            opt.apply_gradients(zip(grads, vs))
        return [v.numpy() for v in vs] + [s.numpy() for s in opt.variables]
    finally:
        threads.set_intra_op_threads(0)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_threaded_update_is_bitwise_serial(case, monkeypatch):
    monkeypatch.setattr(parallel, "MIN_TOTAL", 64)
    monkeypatch.setattr(parallel, "MIN_CHUNK", 16)
    calls = []
    real = parallel.parallel_update
    monkeypatch.setattr(parallel, "parallel_update", lambda *a: calls.append(real(*a)) or calls[-1])
    serial = _run(CASES[case], 1)
    assert calls and not any(calls), "one thread must not use the pool"
    calls.clear()
    threaded = _run(CASES[case], 3)
    assert calls and all(calls), "the threaded path never ran"
    for a, b in zip(serial, threaded):
        np.testing.assert_array_equal(a, b)


def test_custom_update_step_keeps_the_serial_path(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_TOTAL", 1)
    seen = []

    class Halve(O.Optimizer):
        def update_step(self, gradient, variable, learning_rate):
            seen.append(variable.name)
            variable.assign(variable * 0.5)

    threads.set_intra_op_threads(2)
    try:
        v = tf.Variable(np.ones(1000, np.float32), name="w")
        Halve(learning_rate=0.1).apply_gradients([(tf.ones(1000), v)])
    finally:
        threads.set_intra_op_threads(0)
    assert seen == ["w"] and float(v.numpy()[0]) == 0.5


def test_an_optimizer_without_an_update_rule_says_so():
    class Nothing(O.Optimizer):
        pass
    with pytest.raises(NotImplementedError, match="Nothing must implement update_step"):
        Nothing(learning_rate=0.1).apply_gradients([(tf.ones(3), tf.Variable(np.ones(3, np.float32)))])


def test_thread_count_settings(monkeypatch):
    monkeypatch.setenv("TAPEFLOW_NUM_THREADS", "3")
    assert threads.intra_op_threads() == 3
    tf.config.threading.set_intra_op_parallelism_threads(2)
    try:
        assert tf.config.threading.get_intra_op_parallelism_threads() == 2
        assert threads.intra_op_threads() == 2
    finally:
        tf.config.threading.set_intra_op_parallelism_threads(0)
    with pytest.raises(ValueError, match="integer >= 0"):
        tf.config.threading.set_intra_op_parallelism_threads(-1)
    assert threads.chunks(10, 3, 1) == [(0, 4), (4, 8), (8, 10)]
    assert threads.chunks(10, 3, 6) == [(0, 10)]
    assert threads.chunks(0, 3, 1) == []


def test_errors_in_a_worker_reach_the_caller():
    threads.set_intra_op_threads(2)
    try:
        def boom():
            raise RuntimeError("chunk failed")
        with pytest.raises(RuntimeError, match="chunk failed"):
            threads.run([boom, lambda: None])
    finally:
        threads.set_intra_op_threads(0)
