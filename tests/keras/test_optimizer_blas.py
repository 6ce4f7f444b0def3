"""Large variables are updated by BLAS axpby (SGD, Adam, AdamW, RMSprop): bitwise NumPy's numbers."""
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.backend import blas
from tapeflow.keras import optimizers as O

CASES = [
    lambda: O.SGD(0.05), lambda: O.SGD(0.05, momentum=0.9), lambda: O.SGD(0.05, momentum=0.9, nesterov=True),
    lambda: O.Adam(0.01), lambda: O.Adam(0.01, amsgrad=True), lambda: O.AdamW(0.01, weight_decay=0.1),
    lambda: O.RMSprop(0.01), lambda: O.RMSprop(0.01, momentum=0.5, centered=True),
    lambda: O.RMSprop(0.01, momentum=0.5),
]
SHAPES = [(130, 140), (140,), (3, 60, 100)]  # two above blas.MIN_LEVEL1 elements, one below


def _run(make, dtype, steps=6):
    rng = np.random.default_rng(1)
    vs = [tf.Variable(rng.normal(size=s).astype(dtype)) for s in SHAPES]
    opt = make()
    for _ in range(steps):
        opt.apply_gradients(zip([tf.constant(rng.normal(size=s).astype(dtype)) for s in SHAPES], vs))
    return [v.numpy() for v in vs] + [s.numpy() for s in opt.variables]


def test_openblas_level1_is_found():
    if not blas.available():
        if os.environ.get("TAPEFLOW_REQUIRE_ORACLE"):
            pytest.fail("NumPy's OpenBLAS was not found: optimizers fall back to slower NumPy updates")
        pytest.skip("NumPy is not linked to OpenBLAS here")
    assert blas.axpby_function(np.float32) is not None and blas.axpby_function(np.float64) is not None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_blas_update_matches_numpy(case, dtype, monkeypatch):
    if not blas.available():
        pytest.skip("no OpenBLAS")
    calls = []
    real = blas._load()[2]
    spied = {k: (lambda f: lambda *a: calls.append(a[0]) or f(*a))(f) for k, f in real.items()}
    monkeypatch.setattr(blas, "_lib", blas._load()[:2] + (spied,))
    with_blas = _run(CASES[case], dtype)
    assert calls and min(calls) >= blas.MIN_LEVEL1, "large variables must go through axpby, small ones not"
    monkeypatch.setattr(blas, "_lib", ())
    numpy_only = _run(CASES[case], dtype)
    # bitwise: axpby rounds alpha*x and beta*y as NumPy does, and axpy only serves alpha = +-1 (no product
    # to round). A fused multiply-add would drift a long SGD run away from Keras's and PyTorch's numbers.
    for a, b in zip(with_blas, numpy_only):
        np.testing.assert_array_equal(a, b)


def test_axpby_refuses_what_blas_cannot_do():
    y = np.ones(4, np.float32)
    assert not blas.axpby(1.0, np.ones(4), 1.0, y)                       # mixed types
    assert not blas.axpby(1.0, np.ones(8, np.float32)[::2], 1.0, y)      # not contiguous
    assert not blas.axpby(1.0, np.ones(4, np.int32), 1.0, np.ones(4, np.int32))
    assert (y == 1).all()
    x = np.arange(20000, dtype=np.float32)
    y = np.ones(20000, np.float32)
    blas.axpby_into(2.0, x, 3.0, y, np.empty_like(x))
    np.testing.assert_array_equal(y, 2 * x + 3)
