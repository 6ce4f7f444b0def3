"""keras.activations, initializers, regularizers, constraints: Keras 3 names, defaults and values."""
import math

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import activations, constraints, initializers, regularizers

X = np.array([-4.0, -1.0, -0.5, 0.0, 0.5, 1.0, 4.0], dtype=np.float32)


def _np(fn, x=X, **kw):
    return fn(tf.constant(x), **kw).numpy()


def _erf(v):
    return np.array([math.erf(float(t)) for t in np.ravel(v)]).reshape(np.shape(v))


# -- activations -------------------------------------------------------------------------
@pytest.mark.parametrize("name, expected", [
    ("relu", np.maximum(X, 0)),
    ("relu6", np.clip(X, 0, 6)),
    ("leaky_relu", np.where(X > 0, X, 0.2 * X)),
    ("elu", np.where(X > 0, X, np.expm1(X))),
    ("selu", 1.0507009873554805 * np.where(X > 0, X, 1.6732632423543772 * np.expm1(X))),
    ("sigmoid", 1 / (1 + np.exp(-X))),
    ("tanh", np.tanh(X)),
    ("softplus", np.log1p(np.exp(X))),
    ("softsign", X / (1 + np.abs(X))),
    ("exponential", np.exp(X)),
    ("linear", X),
    ("swish", X / (1 + np.exp(-X))),
    ("silu", X / (1 + np.exp(-X))),
    ("mish", X * np.tanh(np.log1p(np.exp(X)))),
    ("gelu", 0.5 * X * (1 + _erf(X / np.sqrt(2)))),
    ("hard_sigmoid", np.clip(X + 3, 0, 6) / 6),
    ("hard_silu", X * np.clip(X + 3, 0, 6) / 6),
    ("hard_swish", X * np.clip(X + 3, 0, 6) / 6),
])
def test_activation_values_match_keras_formulas(name, expected):
    out = activations.get(name)(tf.constant(X))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_activation_literal_keras_numbers():
    # Values printed by Keras 3 for these inputs.
    assert _np(activations.hard_sigmoid, np.array([-3.0, 0.0, 1.0, 3.0])).tolist() == pytest.approx(
        [0.0, 0.5, 0.6666667, 1.0], abs=1e-6)
    assert float(_np(activations.gelu, np.array([1.0]))[0]) == pytest.approx(0.8413447, abs=1e-6)
    assert float(_np(activations.gelu, np.array([1.0]), approximate=True)[0]) == pytest.approx(0.8411920, abs=1e-6)
    assert float(_np(activations.selu, np.array([-1.0]))[0]) == pytest.approx(-1.1113307, abs=1e-6)
    assert float(_np(activations.mish, np.array([1.0]))[0]) == pytest.approx(0.8650984, abs=1e-6)


def test_relu_keras3_options():
    x = np.array([-10.0, -5.0, 0.0, 5.0, 10.0], dtype=np.float32)
    assert _np(activations.relu, x, negative_slope=0.5).tolist() == [-5.0, -2.5, 0.0, 5.0, 10.0]
    assert _np(activations.relu, x, max_value=5.0).tolist() == [0.0, 0.0, 0.0, 5.0, 5.0]
    assert _np(activations.relu, x, threshold=5.0).tolist() == [0.0, 0.0, 0.0, 0.0, 10.0]
    assert _np(activations.relu, x, negative_slope=0.5, max_value=5.0).tolist() == [-5.0, -2.5, 0.0, 5.0, 5.0]


def test_softmax_and_sigmoid_attach_logits():
    logits = tf.constant([[1.0, 2.0, 3.0]])
    p = activations.softmax(logits)
    assert getattr(p, "_keras_logits", None) is logits
    np.testing.assert_allclose(p.numpy(), [[0.09003057, 0.24472847, 0.66524096]], rtol=1e-6)
    s = activations.sigmoid(logits)
    assert getattr(s, "_keras_logits", None) is logits
    assert getattr(activations.relu(logits), "_keras_logits", None) is None
    np.testing.assert_allclose(activations.log_softmax(logits).numpy(), np.log(p.numpy()), rtol=1e-5)
    p0 = activations.softmax(tf.constant([[1.0, 2.0], [3.0, 5.0]]), axis=0)
    np.testing.assert_allclose(p0.numpy().sum(axis=0), [1.0, 1.0], rtol=1e-6)


def test_activation_gradient_flows():
    x = tf.Variable([-1.0, 2.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(activations.get("relu")(x))
    assert tape.gradient(y, x).numpy().tolist() == [0.0, 1.0]


def test_activations_get_serialize_and_errors():
    assert activations.get(None) is activations.linear
    assert activations.get("swish") is activations.silu
    fn = lambda x: x  # noqa: E731
    assert activations.get(fn) is fn
    for name in ("relu", "softmax", "gelu", "hard_sigmoid", "leaky_relu"):
        assert activations.serialize(activations.get(name)) == name
        assert activations.deserialize(name) is activations.get(name)
    with pytest.raises(ValueError, match="relu"):
        activations.get("rleu")
    with pytest.raises(ValueError):
        activations.get(42)


# -- initializers ------------------------------------------------------------------------
def test_initializer_classes_and_names():
    for name, cls in [("zeros", initializers.Zeros), ("ones", initializers.Ones),
                      ("glorot_uniform", initializers.GlorotUniform), ("glorot_normal", initializers.GlorotNormal),
                      ("he_uniform", initializers.HeUniform), ("he_normal", initializers.HeNormal),
                      ("lecun_uniform", initializers.LecunUniform), ("lecun_normal", initializers.LecunNormal),
                      ("orthogonal", initializers.Orthogonal), ("random_normal", initializers.RandomNormal),
                      ("random_uniform", initializers.RandomUniform),
                      ("truncated_normal", initializers.TruncatedNormal), ("identity", initializers.Identity),
                      ("variance_scaling", initializers.VarianceScaling), ("constant", initializers.Constant),
                      ("GlorotUniform", initializers.GlorotUniform)]:
        init = initializers.get(name)
        assert isinstance(init, cls), name
        w = init((4, 4))
        assert tuple(w.shape) == (4, 4) and w.dtype == np.float32
    with pytest.raises(ValueError, match="glorot_uniform"):
        initializers.get("glorot_unifrom")


def test_variance_scaling_limits_and_stddevs():
    tf.random.set_seed(1)
    fan_in, fan_out = 400, 300
    w = initializers.GlorotUniform()((fan_in, fan_out)).numpy()
    limit = math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.95 * limit
    w = initializers.HeUniform()((fan_in, fan_out)).numpy()
    assert np.abs(w).max() <= math.sqrt(6 / fan_in)
    # truncated normal with Keras's 0.8796... correction keeps the requested variance
    w = initializers.HeNormal()((fan_in, fan_out)).numpy()
    assert w.std() == pytest.approx(math.sqrt(2 / fan_in), rel=0.03)
    assert np.abs(w).max() <= 2 * math.sqrt(2 / fan_in) / 0.87962566103423978 + 1e-6
    w = initializers.LecunNormal()((fan_in, fan_out)).numpy()
    assert w.std() == pytest.approx(math.sqrt(1 / fan_in), rel=0.03)
    w = initializers.VarianceScaling(scale=1.0, mode="fan_avg", distribution="untruncated_normal")((500, 500))
    assert w.numpy().std() == pytest.approx(math.sqrt(1 / 500), rel=0.03)
    assert initializers.RandomNormal()((200, 200)).numpy().std() == pytest.approx(0.05, rel=0.03)
    assert np.abs(initializers.RandomUniform()((100, 100)).numpy()).max() <= 0.05


def test_compute_fans_conv_kernel():
    assert initializers.compute_fans((3, 3, 16, 32)) == (144, 288)
    assert initializers.compute_fans((7,)) == (7, 7)
    assert initializers.compute_fans(()) == (1, 1)


def test_initializer_seeding():
    a = initializers.GlorotUniform(seed=3)((5, 5)).numpy()
    b = initializers.GlorotUniform(seed=3)((5, 5)).numpy()
    np.testing.assert_array_equal(a, b)
    tf.random.set_seed(42)
    c = initializers.HeNormal()((5, 5)).numpy()
    tf.random.set_seed(42)
    d = initializers.HeNormal()((5, 5)).numpy()
    np.testing.assert_array_equal(c, d)
    assert not np.array_equal(c, initializers.HeNormal()((5, 5)).numpy())


def test_orthogonal_identity_constant():
    q = initializers.Orthogonal(seed=0)((6, 4)).numpy()
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-5)
    q = initializers.Orthogonal(gain=2.0, seed=0)((3, 5)).numpy()
    np.testing.assert_allclose(q @ q.T, 4 * np.eye(3), atol=1e-5)
    assert initializers.Identity(gain=3.0)((2, 3)).numpy().tolist() == [[3, 0, 0], [0, 3, 0]]
    assert initializers.Constant(0.5)((2,)).numpy().tolist() == [0.5, 0.5]
    assert initializers.get("zeros")((2,), dtype="float64").dtype == np.float64


def test_initializer_config_round_trip():
    init = initializers.VarianceScaling(scale=2.0, mode="fan_out", distribution="uniform", seed=7)
    cfg = initializers.serialize(init)
    assert cfg["class_name"] == "VarianceScaling" and cfg["config"]["mode"] == "fan_out"
    again = initializers.deserialize(cfg)
    np.testing.assert_array_equal(init((3, 3)).numpy(), again((3, 3)).numpy())
    # Keras 3.15 keeps the fan axes (set by EinsumDense) in every VarianceScaling preset's config
    assert initializers.serialize(initializers.HeNormal(seed=1))["config"] == \
        {"seed": 1, "input_axes": None, "output_axes": None}
    axes = initializers.GlorotUniform(seed=3, input_axes=[0], output_axes=[1, 2])
    assert initializers.compute_fans((32, 8, 16), [0], [1, 2]) == (32, 128)
    w = axes((32, 8, 16)).numpy()                        # limit sqrt(6 / (32 + 128)), not the conv-style fans
    assert np.abs(w).max() <= (6 / 160) ** 0.5 and np.abs(w).max() > 0.9 * (6 / 160) ** 0.5
    assert initializers.deserialize(initializers.serialize(axes)).get_config() == axes.get_config()
    with pytest.raises(ValueError):
        initializers.VarianceScaling(mode="fan_middle")


# -- regularizers ------------------------------------------------------------------------
def test_regularizer_values_and_defaults():
    w = tf.constant([[1.0, -2.0], [3.0, 0.5]])
    assert regularizers.L2().l2 == 0.01 and regularizers.L1().l1 == 0.01
    assert float(regularizers.l2(1e-4)(w)) == pytest.approx(1e-4 * 14.25)
    assert float(regularizers.l1(0.1)(w)) == pytest.approx(0.65)
    assert float(regularizers.l1_l2(l1=0.1, l2=0.2)(w)) == pytest.approx(0.65 + 2.85)
    assert float(regularizers.get("l2")(w)) == pytest.approx(0.1425)
    assert regularizers.get(None) is None
    with pytest.raises(ValueError):
        regularizers.L2(-1.0)


def test_regularizer_gradient_and_config():
    w = tf.Variable([1.0, -2.0])
    with tf.GradientTape() as tape:
        loss = regularizers.l2(0.5)(w)
    np.testing.assert_allclose(tape.gradient(loss, w).numpy(), [1.0, -2.0])
    cfg = regularizers.serialize(regularizers.L1L2(l1=0.1, l2=0.2))
    r = regularizers.deserialize(cfg)
    assert isinstance(r, regularizers.L1L2) and r.l1 == 0.1 and r.l2 == 0.2
    o = regularizers.OrthogonalRegularizer(factor=1.0)
    assert float(o(tf.eye(3))) == pytest.approx(0.0, abs=1e-6)
    assert float(o(tf.constant([[1.0, 0.0], [1.0, 0.0]]))) > 0


# -- constraints -------------------------------------------------------------------------
def test_constraints():
    w = tf.constant([[3.0, 0.1], [4.0, 0.0]])
    out = constraints.MaxNorm(max_value=1.0)(w).numpy()
    np.testing.assert_allclose(out[:, 0], [0.6, 0.8], atol=1e-5)
    np.testing.assert_allclose(out[:, 1], [0.1, 0.0], atol=1e-5)
    assert constraints.NonNeg()(tf.constant([-1.0, 2.0])).numpy().tolist() == [0.0, 2.0]
    u = constraints.UnitNorm()(w).numpy()
    np.testing.assert_allclose(np.linalg.norm(u, axis=0), [1.0, 1.0], atol=1e-5)
    mm = constraints.MinMaxNorm(min_value=0.5, max_value=1.0)(w).numpy()
    np.testing.assert_allclose(np.linalg.norm(mm, axis=0), [1.0, 0.5], atol=1e-5)
    assert isinstance(constraints.get("max_norm"), constraints.MaxNorm)
    assert isinstance(constraints.get("non_neg"), constraints.NonNeg)
    c = constraints.deserialize(constraints.serialize(constraints.MaxNorm(3, axis=1)))
    assert c.max_value == 3 and c.axis == 1
