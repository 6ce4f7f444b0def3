"""The rest of tf.math (math_more.py, ops/special_ops.py) against TensorFlow 2's values
(``fixtures/tf_math_more.npz``, written by ``fixtures/make_tf_math_more.py``); gradients checked."""
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.debug import check_gradients

F = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "tf_math_more.npz"))
X, P, A, B, DATA, IDS = F["x"], F["p"], F["a"], F["b"], F["data"], F["ids"]

CASES = {
    "lgamma": lambda: tf.math.lgamma(X), "digamma": lambda: tf.math.digamma(X),
    "polygamma1": lambda: tf.math.polygamma(1, X), "polygamma2": lambda: tf.math.polygamma(2, X[2:]),
    "lbeta": lambda: tf.math.lbeta(np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 4.0]])), "ndtri": lambda: tf.math.ndtri(P),
    "erfcinv": lambda: tf.math.erfcinv(P * 2), "i0e": lambda: tf.math.bessel_i0e(X),
    "i1e": lambda: tf.math.bessel_i1e(X), "xlogy": lambda: tf.math.xlogy(A, np.abs(B)),
    "xlog1py": lambda: tf.math.xlog1py(A, np.abs(B)), "xdivy": lambda: tf.math.xdivy(A, B),
    "mul_no_nan": lambda: tf.math.multiply_no_nan(B, A), "recip_no_nan": lambda: tf.math.reciprocal_no_nan(A),
    "cumlse": lambda: tf.math.cumulative_logsumexp(X, reverse=True),
    "cumprod": lambda: tf.math.cumprod(X[:5], exclusive=True), "polyval": lambda: tf.math.polyval([1., -2., .5], X),
}
CASES.update({f"useg_{n}": (lambda n=n: getattr(tf.math, "unsorted_segment_" + n)(DATA, IDS, 5))
              for n in ("sum", "mean", "max", "min", "prod", "sqrt_n")})
CASES.update({f"seg_{n}": (lambda n=n: getattr(tf.math, "segment_" + n)(DATA, np.sort(IDS)))
              for n in ("sum", "mean", "max", "min", "prod")})


@pytest.mark.parametrize("key", sorted(CASES))
def test_matches_tensorflow(key):
    rtol = 1e-6 if key.startswith("polygamma") else 1e-10   # TensorFlow computed those in float32
    np.testing.assert_allclose(CASES[key]().numpy(), F[key], rtol=rtol, atol=1e-12)


def test_segment_max_gradient_is_shared_by_ties_as_tensorflow():
    v = tf.Variable(DATA)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.math.unsorted_segment_max(v, IDS, 5) * np.arange(10.0).reshape(5, 2))
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), F["useg_max_grad"])


GRADS = {
    "lgamma": lambda x: tf.math.lgamma(x + 3.0), "digamma": lambda x: tf.math.digamma(x + 3.0),
    "polygamma": lambda x: tf.math.polygamma(1, x + 3.0), "xlogy": lambda x: tf.math.xlogy(x, x * x + 1.0),
    "segment_mean": lambda x: tf.math.unsorted_segment_mean(x, [0, 2, 0, 1], 3),
    "segment_min": lambda x: tf.math.unsorted_segment_min(x, [0, 2, 0, 1], 3),
    "cumlse": lambda x: tf.math.cumulative_logsumexp(x, axis=0), "atan2": lambda x: tf.math.atan2(x, x + 3.0),
    "cumprod": lambda x: tf.math.cumprod(x, axis=1, reverse=True),
}


@pytest.mark.parametrize("name", sorted(GRADS))
def test_gradients(name):
    check_gradients(GRADS[name], np.random.default_rng(2).permutation(8).reshape(4, 2) * 0.3 - 1.0)


def test_predicates_and_errors():
    assert tf.math.invert_permutation([3, 0, 2, 1]).numpy().tolist() == [1, 3, 2, 0]
    assert bool(tf.math.is_non_decreasing([1, 1, 2])) and not bool(tf.math.is_strictly_increasing([1, 1, 2]))
    with pytest.raises(ValueError, match="segment_sum: segment_ids must be sorted"):
        tf.math.segment_sum(DATA, IDS)
    with pytest.raises(ValueError, match="is not a permutation"):
        tf.math.invert_permutation([0, 0])
