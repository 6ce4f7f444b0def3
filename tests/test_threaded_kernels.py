"""Kernels split over batch rows on the intra-op threads give bitwise the one-thread results."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.autodiff import tape as tape_mod
from tapeflow.backend import threads


@pytest.fixture
def many_threads(monkeypatch):
    monkeypatch.setattr(threads, "MIN_WORK", 1)
    threads.set_intra_op_threads(3)
    yield
    threads.set_intra_op_threads(0)


def _pool_grad(x, **kw):
    xv = tf.constant(x)
    with tf.GradientTape() as t:
        t.watch(xv)
        y = tf.nn.max_pool2d(xv, **kw)
        loss = tf.reduce_sum(y * tf.constant(np.arange(y.numpy().size, dtype=np.float32).reshape(y.shape)))
    return t.gradient(loss, xv).numpy()


CASES = [dict(ksize=2, strides=2, padding="VALID"),      # tiled, exact
         dict(ksize=2, strides=2, padding="VALID"),      # tiled, remainder row/column (odd size below)
         dict(ksize=3, strides=2, padding="SAME"),       # overlapping windows with padding
         dict(ksize=(2, 3), strides=(1, 2), padding="VALID")]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_threaded_max_pool_gradient_is_bitwise_serial(case, many_threads, monkeypatch):
    rng = np.random.default_rng(case)
    size = 9 if case == 1 else 8
    x = np.maximum(rng.normal(size=(5, size, size, 3)), 0).astype(np.float32)  # relu zeros: ties everywhere
    calls = []
    real = threads.run
    monkeypatch.setattr(threads, "run", lambda tasks: calls.append(len(tasks)) or real(tasks))
    threaded = _pool_grad(x, **CASES[case])
    assert calls and max(calls) == 3, "the pooling gradient never ran on the pool"
    threads.set_intra_op_threads(1)
    serial = _pool_grad(x, **CASES[case])
    np.testing.assert_array_equal(threaded, serial)
    # and both agree with the Tensor VJP (the reference path, no array twins)
    monkeypatch.setattr(tape_mod, "_FORCE_TENSOR_VJPS", True)
    np.testing.assert_array_equal(_pool_grad(x, **CASES[case]), serial)


def test_each_window_sends_its_gradient_to_one_first_maximum(many_threads):
    x = np.zeros((4, 4, 4, 1), np.float32)   # every window a four-way tie: the top-left tap takes it
    g = _pool_grad(x, ksize=2, strides=2, padding="VALID")
    np.testing.assert_array_equal(g[:, ::2, ::2, 0].ravel(), np.arange(16, dtype=np.float32))
    g[:, ::2, ::2] = 0
    assert not g.any()


def test_parallel_ranges_covers_every_row_once(many_threads):
    seen = np.zeros(10, int)

    def fill(lo, hi):
        seen[lo:hi] += 1
    threads.parallel_ranges(10, fill, work=10)
    assert seen.tolist() == [1] * 10
