"""tf.linalg's TensorFlow conventions (svd's (s, u, v), lower-triangle solves, logdet via Cholesky, band_part...)
against TensorFlow 2's values (``fixtures/tf_linalg.npz``, written by ``fixtures/make_tf_linalg.py``)."""
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.debug import check_gradients

F = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "tf_linalg.npz"))
A, SPD, B, M, C = F["a"], F["spd"], F["b"], F["m"], F["c"]


@pytest.mark.parametrize("key,fn", [
    ("solve_adj", lambda: tf.linalg.solve(A, B, adjoint=True)),
    ("tri_lower", lambda: tf.linalg.triangular_solve(A, B)),
    ("tri_upper_adj", lambda: tf.linalg.triangular_solve(A, B, lower=False, adjoint=True)),
    ("chol_solve", lambda: tf.linalg.cholesky_solve(tf.linalg.cholesky(SPD), B)),
    ("slogdet_s", lambda: tf.linalg.slogdet(A)[0]), ("slogdet_l", lambda: tf.linalg.slogdet(A)[1]),
    ("logdet", lambda: tf.linalg.logdet(SPD)), ("svd_s", lambda: tf.linalg.svd(M, compute_uv=False)),
    ("lstsq_l2", lambda: tf.linalg.lstsq(M, C, l2_regularizer=0.5)),
    ("diag", lambda: tf.linalg.diag(np.array([[1., 2.], [3., 4.]]))), ("diag_part", lambda: tf.linalg.diag_part(M)),
    ("set_diag", lambda: tf.linalg.set_diag(M, np.array([9., 8., 7.]))),
    ("band", lambda: tf.linalg.band_part(np.arange(16.).reshape(4, 4), 1, 0)),
    ("band2", lambda: tf.linalg.band_part(np.arange(16.).reshape(4, 4), -1, 2)),
    ("trace", lambda: tf.linalg.trace(A)), ("expm", lambda: tf.linalg.expm(A[0])),
    ("matvec", lambda: tf.linalg.matvec(A, B[..., 0])), ("normalize", lambda: tf.linalg.normalize(M, axis=1)[0]),
    ("norm", lambda: tf.linalg.normalize(M, axis=1)[1]), ("eigvalsh", lambda: tf.linalg.eigvalsh(SPD))])
def test_matches_tensorflow(key, fn):
    np.testing.assert_allclose(fn().numpy(), F[key], rtol=1e-9, atol=1e-10)


def test_svd_and_qr_conventions():
    s, u, v = tf.linalg.svd(M)
    assert [*u.shape.as_list(), *v.shape.as_list()] == F["svd_shapes"].tolist()
    np.testing.assert_allclose((u.numpy() * s.numpy()) @ v.numpy().T, F["svd_rec"], atol=1e-10)
    q, r = tf.linalg.qr(M)
    assert [*q.shape.as_list(), *r.shape.as_list()] == F["qr_shapes"].tolist()


EYE = np.eye(3)


@pytest.mark.parametrize("fn", [lambda x: tf.linalg.logdet(x @ tf.linalg.matrix_transpose(x) + 3.0 * EYE),
                                lambda x: tf.linalg.expm(x * 0.5), lambda x: tf.linalg.trace(x),
                                lambda x: tf.linalg.band_part(x, 1, 0),
                                lambda x: tf.linalg.set_diag(x, tf.linalg.diag_part(x) * 2.0),
                                lambda x: tf.linalg.triangular_solve(x + 3.0 * EYE, np.ones((3, 1)))])
def test_gradients(fn):
    check_gradients(fn, np.random.default_rng(1).normal(size=(3, 3)))
