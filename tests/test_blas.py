"""backend/blas.py: OpenBLAS's thread count and the level-1 calls optimizer updates use."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.backend import blas

pytestmark = pytest.mark.skipif(not blas.available(), reason="NumPy's BLAS is not OpenBLAS")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_and_scal_match_numpy(dtype):
    rs = np.random.RandomState(0)
    x, y = rs.rand(1000).astype(dtype), rs.rand(1000).astype(dtype)
    want = y + dtype(-0.3) * x
    tol = dict(rtol=1e-6, atol=1e-7) if dtype is np.float32 else dict(rtol=1e-14, atol=1e-16)  # fused rounding
    blas.axpy(-0.3, x, y)
    np.testing.assert_allclose(y, want, **tol)
    blas.scal(0.5, y)
    np.testing.assert_allclose(y, want * dtype(0.5), **tol)


def test_level1_refuses_what_blas_cannot_take():
    a = np.ones((4, 4), np.float32)
    assert blas.level1(a, a.copy())
    assert not blas.level1(a.astype(np.float16))          # no half-precision axpy
    assert not blas.level1(a[:, ::2].copy(), a[:, ::2])   # a strided view
    assert not blas.level1(a, a[:2])                      # sizes differ
    assert not blas.level1(np.float32(1.0))               # a NumPy scalar
    assert not blas.level1(a, a.astype(np.float64))       # mixed dtypes
    with pytest.raises(ValueError, match="same size"):
        blas.axpy(1.0, a[:2], a)


def test_slices_cut_on_align_match_the_whole_call_bitwise():
    rs = np.random.RandomState(1)
    x, y0 = rs.rand(10007).astype(np.float32), rs.rand(10007).astype(np.float32)
    whole = y0.copy()
    blas.axpy(-0.0123, x, whole)
    pieces = y0.copy()
    cuts = [0, blas.ALIGN, 17 * blas.ALIGN, 10007]
    for lo, hi in zip(cuts, cuts[1:]):
        blas.axpy(-0.0123, x[lo:hi], pieces[lo:hi])
    assert np.array_equal(whole, pieces)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_same_update_on_every_path(dtype, nesterov):
    # float32/64 take the BLAS path, float16 NumPy's; all follow Keras's velocity rule
    w0, g = np.array([1.0, -2.0, 3.0]), np.array([0.5, 0.25, -1.0])
    w = tf.Variable(w0.astype(dtype))
    opt = tf.keras.optimizers.SGD(0.1, momentum=0.9, nesterov=nesterov)
    v, want = np.zeros(3), w0.copy()
    for _ in range(3):
        opt.apply_gradients([(tf.constant(g.astype(dtype)), w)])
        v = 0.9 * v - 0.1 * g
        want = want + (0.9 * v - 0.1 * g if nesterov else v)
    np.testing.assert_allclose(w.numpy().astype(np.float64), want, rtol=1e-3 if dtype == "float16" else 1e-6)
