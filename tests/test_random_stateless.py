"""tf.random's stateless ops, Generator and gamma/poisson: determinism by seed, TensorFlow's shapes and dtypes,
and the moments of large draws."""
import numpy as np
import pytest

import tapeflow as tf


@pytest.mark.parametrize("op", [
    lambda s: tf.random.stateless_uniform([200, 3], s), lambda s: tf.random.stateless_normal([50], s),
    lambda s: tf.random.stateless_truncated_normal([50], s),
    lambda s: tf.random.stateless_categorical([[0.0, 1.0, 2.0]], 40, s),
    lambda s: tf.random.stateless_binomial([30], s, counts=10, probs=0.3),
    lambda s: tf.random.stateless_poisson([30], s, lam=4.0), lambda s: tf.random.stateless_gamma([30], s, 2.0),
    lambda s: tf.random.stateless_parameterized_truncated_normal([30], s, 1.0, 2.0, 0.0, 3.0)])
def test_stateless_ops_are_fixed_by_the_seed(op):
    a, b, c = op([3, 4]), op(tf.constant([3, 4])), op([4, 3])
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), c.numpy())


def test_shapes_dtypes_and_moments():
    u = tf.random.stateless_uniform([100000], [1, 2], minval=-2.0, maxval=4.0)
    assert u.dtype == tf.float32 and -2 <= float(tf.reduce_min(u)) and float(tf.reduce_max(u)) < 4
    assert abs(float(tf.reduce_mean(u)) - 1.0) < 0.03
    ints = tf.random.stateless_uniform([1000], [1, 2], minval=3, maxval=7, dtype=tf.int32)
    assert ints.dtype == tf.int32 and sorted(set(ints.numpy().tolist())) == [3, 4, 5, 6]
    t = tf.random.stateless_truncated_normal([20000], [5, 6], mean=1.0, stddev=0.5).numpy()
    assert t.min() >= 0.0 and t.max() <= 2.0
    p = tf.random.stateless_parameterized_truncated_normal([20000], [5, 6], 0.0, 1.0, -0.5, 0.25).numpy()
    assert p.min() >= -0.5 and p.max() <= 0.25
    g = tf.random.gamma([20000], [1.0, 4.0], beta=2.0, seed=3).numpy()
    assert g.shape == (20000, 2) and np.allclose(g.mean(0), [0.5, 2.0], atol=0.05)
    lam = tf.random.poisson([20000], [1.0, 6.0], seed=3).numpy()
    assert lam.shape == (20000, 2) and np.allclose(lam.mean(0), [1.0, 6.0], atol=0.08)
    draws = tf.random.stateless_categorical(np.log([[0.2, 0.8]]), 20000, [7, 8]).numpy()
    assert draws.dtype == np.int64 and abs(draws.mean() - 0.8) < 0.02


def test_generator():
    g1, g2 = tf.random.Generator.from_seed(11), tf.random.Generator.from_seed(11)
    np.testing.assert_array_equal(g1.uniform([5]).numpy(), g2.uniform([5]).numpy())
    np.testing.assert_array_equal(g1.normal([5]).numpy(), g2.normal([5]).numpy())
    assert not np.array_equal(g1.normal([5]).numpy(), g1.normal([5]).numpy())
    seeds = g1.make_seeds(3)
    assert seeds.shape.as_list() == [2, 3]
    a, b = g1.split(2)
    assert not np.array_equal(a.normal([4]).numpy(), b.normal([4]).numpy())
    assert tf.random.split([1, 2], 4).shape.as_list() == [4, 2]
    assert tf.random.fold_in([1, 2], 3).numpy().tolist() != tf.random.fold_in([1, 2], 4).numpy().tolist()
    assert isinstance(tf.random.get_global_generator(), tf.random.Generator)


def test_bad_seeds_are_named():
    with pytest.raises(ValueError, match="stateless_normal: seed must be a shape \\[2\\] integer tensor, got 3"):
        tf.random.stateless_normal([2], [1, 2, 3])
    with pytest.raises(ValueError, match="integer dtypes need both minval and maxval"):
        tf.random.stateless_uniform([2], [1, 2], minval=0, maxval=None, dtype=tf.int32)
