"""The rest of tf.nn (ops/nn_extra.py): values printed by TensorFlow 2 for the same calls; gradients checked."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.debug import check_gradients

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 4, 4, 3)).astype(np.float32)
Z = (RNG.random((5,)) > 0.5).astype(np.float32)
LOGITS = RNG.normal(size=5).astype(np.float32)


def close(a, b, atol=2e-5):
    np.testing.assert_allclose(np.asarray(a), b, atol=atol, rtol=1e-5)


def test_values_match_tensorflow():
    close(tf.nn.batch_normalization(X[0, 0], 0.5, 2.0, 0.1, 3.0, 1e-3).numpy()[3], [-3.64409, -2.28223, -0.87275])
    close(float(tf.nn.l2_loss(X)), 44.547638, atol=1e-4)
    close(tf.nn.weighted_cross_entropy_with_logits(Z, LOGITS, 2.5).numpy(),
          [0.790097, 1.946662, 0.293799, 1.222063, 3.814084])
    t, c = np.array([0., 1., 2., 5.], np.float32), np.array([0.1, -0.3, 0.7, 1.2], np.float32)
    close(tf.nn.log_poisson_loss(t, c).numpy(), [1.105171, 1.040818, 0.613753, -2.679883])
    close(tf.nn.log_poisson_loss(t, c, compute_full_loss=True).numpy(), [1.105171, 1.040818, 1.265559, 2.090964])
    close(tf.nn.crelu(X[0, 0, :2]).numpy()[1], [0.1049, 0.0, 0.3616, 0.0, 0.53567, 0.0], atol=1e-4)
    close(tf.nn.local_response_normalization(X, depth_radius=1, bias=2.0, alpha=0.5, beta=0.75).numpy()[0, 0, 0],
          [0.074297, -0.072595, 0.352869])
    assert tf.nn.depth_to_space(np.arange(16.).reshape(1, 1, 2, 8), 2).numpy().reshape(-1).tolist() == [
        0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15]
    assert tf.nn.space_to_depth(np.arange(32.).reshape(1, 4, 4, 2), 2).numpy()[0, 1, 0].tolist() == [
        16, 17, 18, 19, 24, 25, 26, 27]
    out, arg = tf.nn.max_pool_with_argmax(X, 3, 2, "SAME")
    assert arg.numpy()[1, :, :, 1].tolist() == [[31, 31], [31, 31]]
    close(out.numpy()[1, 0, 0], [1.80163, 2.00239, 1.82201])
    assert tf.nn.max_pool_with_argmax(X, 2, 2, "VALID", include_batch_in_index=True)[1].numpy()[1, :, :, 0].tolist() \
        == [[48, 66], [87, 78]]
    values, idx = tf.nn.top_k([[1., 3., 3., 2.]], 2)
    assert values.numpy().tolist() == [[3, 3]] and idx.numpy().tolist() == [[1, 2]]
    assert float(tf.nn.zero_fraction([0., 1., 0., 2.])) == 0.5
    assert float(tf.nn.compute_average_loss([1., 2., 3.], global_batch_size=6)) == 1.0
    count, m, v, _ = tf.nn.sufficient_statistics(X, [0, 1, 2])
    assert float(count) == 32.0
    mean, var = tf.nn.normalize_moments(count, m, v, None)
    close(mean.numpy(), [-0.09636, 0.08942, 0.35935])
    close(var.numpy(), [1.25912, 0.71387, 0.66483])


GRADS = {
    "batch_normalization": lambda x: tf.nn.batch_normalization(x, 0.3, 1.7, 0.1, 2.0, 1e-3),
    "weighted_ce": lambda x: tf.nn.weighted_cross_entropy_with_logits(np.ones_like(x) * 0.3, x, 2.5),
    "log_poisson_full": lambda x: tf.nn.log_poisson_loss(np.full_like(x, 3.0), x, compute_full_loss=True),
    "lrn": lambda x: tf.nn.local_response_normalization(x, depth_radius=1, bias=2.0, alpha=0.5, beta=0.75),
    "depth_to_space": lambda x: tf.nn.depth_to_space(tf.reshape(x, (1, 2, 3, 4)), 2),
    "space_to_depth": lambda x: tf.nn.space_to_depth(tf.reshape(x, (1, 2, 6, 2)), 2),
    "top_k": lambda x: tf.nn.top_k(x, 2)[0],
    "crelu": lambda x: tf.nn.crelu(x),
    "weighted_moments": lambda x: tf.nn.weighted_moments(x, [1], np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]))[1],
}


@pytest.mark.parametrize("name", sorted(GRADS))
def test_gradients(name):
    x = np.random.default_rng(1).permutation(24).reshape(4, 6) * 0.1 - 1.15   # distinct, away from 0
    check_gradients(GRADS[name], x)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="depth_to_space: channels \\(3\\) must be divisible by block_size\\^2"):
        tf.nn.depth_to_space(np.ones((1, 2, 2, 3)), 2)
    with pytest.raises(ValueError, match="pool: pooling_type must be 'MAX' or 'AVG'"):
        tf.nn.pool(np.ones((1, 4, 4, 1)), [2, 2], "SUM")
