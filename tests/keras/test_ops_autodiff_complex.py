"""keras.ops.jvp / tf.autodiff.ForwardAccumulator (forward mode through a double backward pass), against
torch.func.jvp; custom_gradient; complex views; and the completeness of keras.ops' sub-namespaces."""
import numpy as np
import pytest

import tapeflow as tf
from _oracle import require_torch
from tapeflow.keras import ops
from tapeflow.keras.ops import _namespaces

torch = require_torch()


def _t(a):
    return torch.tensor(np.asarray(a, np.float64))


CASES = {
    "tanh-matmul": (lambda x, w: ops.tanh(ops.matmul(x, w)), lambda x, w: torch.tanh(x @ w), [(3, 4), (4, 2)]),
    "softmax-sum": (lambda x, w: ops.sum(ops.softmax(x * w, axis=-1) ** 2, axis=0),
                    lambda x, w: (torch.softmax(x * w, -1) ** 2).sum(0), [(3, 5), (3, 5)]),
    "exp-log-mean": (lambda x, w: ops.mean(ops.log1p(ops.exp(x)) * ops.sigmoid(w)),
                     lambda x, w: (torch.nn.functional.softplus(x) * torch.sigmoid(w)).mean(), [(6,), (6,)]),
    "conv": (lambda x, w: ops.conv(x, w, padding="same"),
             lambda x, w: torch.nn.functional.conv2d(x.permute(0, 3, 1, 2), w.permute(3, 2, 0, 1),
                                                     padding="same").permute(0, 2, 3, 1), [(1, 5, 5, 2), (3, 3, 2, 4)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_jvp_matches_torch(name):
    ours, theirs, shapes = CASES[name]
    rs = np.random.default_rng(1)
    primals = [rs.normal(size=s) for s in shapes]
    tangents = [rs.normal(size=s) for s in shapes]
    out, tan = ops.jvp(ours, tuple(tf.constant(p) for p in primals), tuple(tf.constant(t) for t in tangents))
    t_out, t_tan = torch.func.jvp(theirs, tuple(_t(p) for p in primals), tuple(_t(t) for t in tangents))
    np.testing.assert_allclose(out.numpy(), t_out.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tan.numpy(), t_tan.numpy(), rtol=1e-9, atol=1e-11)


def test_jvp_has_aux_and_structured_outputs():
    def f(x):
        return {"sq": x * x, "sum": ops.sum(x)}, "aux"
    out, tan, aux = ops.jvp(f, (tf.constant([1.0, 2.0]),), (tf.constant([1.0, 1.0]),), has_aux=True)
    assert aux == "aux" and tan["sq"].numpy().tolist() == [2.0, 4.0] and float(tan["sum"]) == 2.0
    with pytest.raises(TypeError, match="tuples or lists"):
        ops.jvp(ops.sin, tf.constant(1.0), tf.constant(1.0))
    with pytest.raises(ValueError, match="tangent 0 has shape \\(3,\\)"):
        ops.jvp(ops.sin, (tf.constant([1.0, 2.0]),), (tf.constant([1.0, 2.0, 3.0]),))


def test_forward_accumulator_as_tensorflow():
    x = tf.constant([1.0, 2.0])
    with tf.autodiff.ForwardAccumulator(x, tf.constant([1.0, 0.0])) as acc:
        y, z = x * x, tf.constant(3.0)
        assert acc.jvp(y).numpy().tolist() == [2.0, 0.0]
        assert acc.jvp(z) is None
        assert float(acc.jvp(z, unconnected_gradients=tf.UnconnectedGradients.ZERO)) == 0.0
    w = tf.Variable([1.0, 2.0])
    with tf.autodiff.ForwardAccumulator([w], [tf.constant([0.0, 1.0])]) as acc:
        y = tf.reduce_sum(w ** 3)
    assert float(acc.jvp(y)) == 12.0             # 3 w^2 . t = 3 * 4
    assert acc.jvp(w * 2) is None                # computed after the block: not recorded, as in TF


def test_custom_gradient_keras_style():
    @ops.custom_gradient
    def log1pexp(x):
        e = ops.exp(x)

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1, e))
        return ops.log(1 + e), grad
    x = tf.constant([0.0, 100.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = log1pexp(x)
    assert tape.gradient(y, x).numpy().tolist() == [0.5, 1.0]


def test_complex_views_as_keras():
    v = ops.view_as_real(np.array([1 + 2j, 3 - 1j], np.complex64))
    assert v.numpy().tolist() == [[1.0, 2.0], [3.0, -1.0]] and v.dtype == "float32"
    c = ops.view_as_complex(np.array([[1.0, 2.0]], np.float32))
    assert c.numpy().tolist() == [1 + 2j] and c.dtype == "complex64"
    p = ops.polar(np.array([1.0, 2.0]), np.array([0.0, np.pi / 2]))
    np.testing.assert_allclose(p.numpy(), [1.0, 2j], atol=1e-15)
    assert p.dtype == "complex128" and ops.polar(np.float32(2.0), np.float32(0.0)).dtype == "complex64"
    with pytest.raises(ValueError, match="Last dimension of input must be size 2"):
        ops.view_as_complex(np.ones((2, 3)))


@pytest.mark.parametrize("sub,added", [("numpy", "divide_no_nan"), ("nn", "glu"), ("linalg", "jvp")])
def test_sub_namespaces_hold_every_keras_name(sub, added):
    mod = getattr(ops, sub)
    assert [n for n in getattr(_namespaces, sub.upper()) if not hasattr(mod, n)] == []
    assert getattr(mod, added) is getattr(ops, added)   # the keras.ops function itself, not a copy
