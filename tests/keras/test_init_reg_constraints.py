"""Initializers (statistics over large draws), regularizers (values and gradients) and constraints, through
their public API, against Keras 3's formulas."""
import math

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import constraints as C
from tapeflow.keras import initializers as I
from tapeflow.keras import regularizers as R

TRUNC = 0.87962566103423978          # stddev of a unit normal truncated to [-2, 2]


def _truncnorm_kurtosis():
    """E[x^4] / E[x^2]^2 of a unit normal truncated to [-2, 2] (numerical integration)."""
    x = np.linspace(-2.0, 2.0, 400001)
    pdf = np.exp(-x * x / 2)
    trap = getattr(np, "trapezoid", None) or np.trapz      # numpy < 2 spells it trapz
    m2, m4, z = trap(x ** 2 * pdf, x), trap(x ** 4 * pdf, x), trap(pdf, x)
    return (m4 / z) / (m2 / z) ** 2


def _check_moments(x, mean, std, n_sigma=5):
    x = x.astype(np.float64).ravel()
    n = x.size
    assert abs(x.mean() - mean) < n_sigma * std / math.sqrt(n), (x.mean(), mean)
    assert x.std() == pytest.approx(std, rel=0.01)


# -- initializers -------------------------------------------------------------------------------------------
FAN_CASES = [((400, 600), 400, 600), ((3, 3, 32, 64), 288, 576), ((5, 200, 300), 1000, 1500), ((50000,), 50000, 50000)]


@pytest.mark.parametrize("shape,fan_in,fan_out", FAN_CASES)
def test_compute_fans(shape, fan_in, fan_out):
    assert I.compute_fans(shape) == (fan_in, fan_out)


VS_CASES = [  # class, variance numerator, fan mode, distribution
    (I.GlorotUniform, 1.0, "fan_avg", "uniform"), (I.GlorotNormal, 1.0, "fan_avg", "truncated_normal"),
    (I.HeUniform, 2.0, "fan_in", "uniform"), (I.HeNormal, 2.0, "fan_in", "truncated_normal"),
    (I.LecunUniform, 1.0, "fan_in", "uniform"), (I.LecunNormal, 1.0, "fan_in", "truncated_normal")]


@pytest.mark.parametrize("cls,scale,mode,dist", VS_CASES, ids=lambda c: getattr(c, "__name__", str(c)))
@pytest.mark.parametrize("shape", [(400, 600), (3, 3, 32, 64)])
def test_variance_scaling_presets_statistics(cls, scale, mode, dist, shape):
    fan_in, fan_out = I.compute_fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    var = scale / n
    w = cls(seed=3)(shape).numpy()
    assert w.shape == shape and w.dtype == np.float32
    _check_moments(w, 0.0, math.sqrt(var))                 # the variance comes from the fans, truncated or not
    x = w.astype(np.float64) / math.sqrt(var)
    if dist == "uniform":
        limit = math.sqrt(3.0)
        assert np.abs(x).max() <= limit * (1 + 1e-6) and np.abs(x).max() > 0.99 * limit
        assert np.mean(x ** 4) / np.mean(x ** 2) ** 2 == pytest.approx(1.8, rel=0.02)     # uniform kurtosis
    else:
        bound = 2.0 / TRUNC                                    # two stddevs of the pre-truncation normal
        assert np.abs(x).max() <= bound * (1 + 1e-6) and np.abs(x).max() > 0.98 * bound
        assert np.mean(x ** 4) / np.mean(x ** 2) ** 2 == pytest.approx(_truncnorm_kurtosis(), rel=0.02)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("dist", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling_modes(mode, dist):
    shape = (300, 700)
    n = {"fan_in": 300, "fan_out": 700, "fan_avg": 500}[mode]
    w = I.VarianceScaling(scale=3.0, mode=mode, distribution=dist, seed=11)(shape, dtype="float64").numpy()
    assert w.dtype == np.float64
    _check_moments(w, 0.0, math.sqrt(3.0 / n))
    if dist == "untruncated_normal":
        x = w / math.sqrt(3.0 / n)
        assert np.mean(x ** 4) == pytest.approx(3.0, rel=0.03) and np.abs(x).max() > 4.0


def test_variance_scaling_small_fan_uses_at_least_one_and_errors():
    w = I.VarianceScaling(scale=0.25, distribution="uniform", seed=1)((0, 5)).numpy()   # fan_in 0 -> max(1, n)
    assert w.shape == (0, 5)
    w = I.VarianceScaling(scale=0.25, mode="fan_in", distribution="uniform", seed=1)((1, 100000)).numpy()
    assert np.abs(w).max() <= math.sqrt(0.75) + 1e-6
    with pytest.raises(ValueError, match="scale"):
        I.VarianceScaling(scale=0.0)
    with pytest.raises(ValueError, match="mode"):
        I.VarianceScaling(mode="fan_max")
    with pytest.raises(ValueError, match="distribution"):
        I.VarianceScaling(distribution="cauchy")


def test_random_normal_uniform_truncated_statistics():
    _check_moments(I.RandomNormal(mean=0.5, stddev=0.2, seed=1)((500, 500)).numpy(), 0.5, 0.2)
    u = I.RandomUniform(minval=-0.3, maxval=0.7, seed=2)((500, 500)).numpy()
    assert u.min() >= -0.3 and u.max() <= 0.7
    _check_moments(u, 0.2, 1.0 / math.sqrt(12))
    t = I.TruncatedNormal(mean=1.0, stddev=0.1, seed=4)((500, 500)).numpy().astype(np.float64)
    assert np.abs(t - 1.0).max() <= 0.2 + 1e-6 and np.abs(t - 1.0).max() > 0.199
    _check_moments(t, 1.0, 0.1 * TRUNC)                       # truncation shrinks the spread by 0.8796
    d = I.RandomNormal()((1000, 100)).numpy()
    assert d.std() == pytest.approx(0.05, rel=0.02)           # Keras defaults: stddev 0.05
    assert np.abs(I.RandomUniform()((1000,)).numpy()).max() <= 0.05


@pytest.mark.parametrize("cls", [I.RandomNormal, I.RandomUniform, I.TruncatedNormal, I.GlorotUniform, I.HeNormal,
                                 I.Orthogonal, I.VarianceScaling])
def test_seeded_repeatability(cls):
    a = cls(seed=42)((20, 30)).numpy()
    b = cls(seed=42)((20, 30)).numpy()
    init = cls(seed=42)
    c, d = init((20, 30)).numpy(), init((20, 30)).numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(c, d)                        # a seeded initializer repeats (Keras 3)
    assert not np.array_equal(a, cls(seed=43)((20, 30)).numpy())
    tf.random.set_seed(7)
    e1, e2 = cls()((20, 30)).numpy(), cls()((20, 30)).numpy()
    tf.random.set_seed(7)
    f1, f2 = cls()((20, 30)).numpy(), cls()((20, 30)).numpy()
    np.testing.assert_array_equal(e1, f1)
    np.testing.assert_array_equal(e2, f2)
    assert not np.array_equal(e1, e2)                          # unseeded draws differ call to call


def test_he_normal_statistics_match_torch_kaiming_normal(torch):
    """Keras truncates (and rescales) where torch does not: compare variances, not draws."""
    ours = I.HeNormal(seed=0)((512, 256)).numpy()
    theirs = torch.nn.init.kaiming_normal_(torch.empty(256, 512), mode="fan_in", nonlinearity="relu").numpy()
    assert ours.var() == pytest.approx(theirs.var(), rel=0.03)
    assert ours.var() == pytest.approx(2.0 / 512, rel=0.02)
    assert np.abs(ours).max() < np.abs(theirs).max()           # truncated at 2 / 0.8796 stddevs


@pytest.mark.parametrize("shape,gain", [((50, 20), 1.0), ((20, 50), 2.0), ((4, 5, 30), 0.5), ((30, 30), 1.0)])
def test_orthogonal(shape, gain):
    w = I.Orthogonal(gain=gain, seed=5)(shape, dtype="float64").numpy()
    assert w.shape == shape
    m = w.reshape(-1, shape[-1]) / gain
    rows, cols = m.shape
    gram = m.T @ m if rows >= cols else m @ m.T
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-10)
    with pytest.raises(ValueError, match="rank"):
        I.Orthogonal()((5,))


def test_constant_identity_zeros_ones():
    np.testing.assert_array_equal(I.Constant(2.5)((2, 3)).numpy(), np.full((2, 3), 2.5, np.float32))
    np.testing.assert_array_equal(I.Constant([1.0, 2.0, 3.0])((2, 3)).numpy(), [[1, 2, 3], [1, 2, 3]])
    np.testing.assert_array_equal(I.Identity(gain=3.0)((2, 4)).numpy(), 3.0 * np.eye(2, 4))
    assert I.Zeros()((3,), dtype="float64").numpy().dtype == np.float64
    assert I.Ones()((2, 2)).numpy().sum() == 4.0
    with pytest.raises(ValueError, match="2-D"):
        I.Identity()((2, 2, 2))


@pytest.mark.parametrize("name,cls", [("glorot_uniform", I.GlorotUniform), ("he_normal", I.HeNormal),
                                      ("lecun_normal", I.LecunNormal), ("orthogonal", I.Orthogonal),
                                      ("truncated_normal", I.TruncatedNormal), ("zeros", I.Zeros)])
def test_initializer_get_and_round_trip(name, cls):
    obj = I.get(name)
    assert type(obj) is cls
    again = I.deserialize(I.serialize(obj))
    assert type(again) is cls and again.get_config() == obj.get_config()
    seeded = I.VarianceScaling(scale=2.0, mode="fan_out", distribution="uniform", seed=9)
    clone = I.deserialize(I.serialize(seeded))
    np.testing.assert_array_equal(clone((5, 5)).numpy(), seeded((5, 5)).numpy())


# -- regularizers -------------------------------------------------------------------------------------------
_W = np.array([[0.5, -1.5, 0.0], [2.0, 0.25, -0.75]])


def _value_and_grad(reg, w):
    v = tf.Variable(w.copy())
    with tf.GradientTape() as tape:
        out = reg(v)
    return float(out), tape.gradient(out, v).numpy()


def _numeric_grad(reg, w, eps=1e-6):
    g = np.zeros_like(w)
    for idx in np.ndindex(w.shape):
        d = np.zeros_like(w)
        d[idx] = eps
        g[idx] = (float(reg(tf.constant(w + d))) - float(reg(tf.constant(w - d)))) / (2 * eps)
    return g


def test_l1_l2_l1l2_values_and_gradients():
    val, grad = _value_and_grad(R.L1(0.3), _W)
    assert val == pytest.approx(0.3 * np.abs(_W).sum())
    np.testing.assert_allclose(grad, 0.3 * np.sign(_W))          # sign(0) = 0, as TF's abs gradient
    val, grad = _value_and_grad(R.L2(0.2), _W)
    assert val == pytest.approx(0.2 * (_W ** 2).sum())
    np.testing.assert_allclose(grad, 0.4 * _W)
    val, grad = _value_and_grad(R.L1L2(l1=0.1, l2=0.05), _W)
    assert val == pytest.approx(0.1 * np.abs(_W).sum() + 0.05 * (_W ** 2).sum())
    np.testing.assert_allclose(grad, 0.1 * np.sign(_W) + 0.1 * _W)
    assert R.L1().l1 == 0.01 and R.L2().l2 == 0.01 and R.L1L2().l1 == 0.0 and R.L1L2().l2 == 0.0
    assert float(R.L1L2()(tf.constant(_W))) == 0.0
    with pytest.raises(ValueError):
        R.L2(-1.0)


def _keras_orthogonal(w, factor, mode):
    x = w if mode == "rows" else w.T
    xn = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-6)
    prod = xn @ xn.T
    n = prod.shape[0]
    return factor * 0.5 * np.abs(prod * (1 - np.eye(n))).sum() / (n * (n - 1) / 2)


def test_regularizer_rejects_infinite_factor():
    with pytest.raises(ValueError):
        R.L2(float("inf"))


@pytest.mark.parametrize("mode", ["rows", "columns"])
def test_orthogonal_regularizer_value_and_gradient(mode):
    w = np.random.default_rng(0).normal(size=(4, 6))
    reg = R.OrthogonalRegularizer(factor=0.3, mode=mode)
    val, grad = _value_and_grad(reg, w)
    assert val == pytest.approx(_keras_orthogonal(w, 0.3, mode), rel=1e-9)
    np.testing.assert_allclose(grad, _numeric_grad(reg, w), rtol=1e-5, atol=1e-8)
    q = I.Orthogonal(seed=1)((6, 4), dtype="float64").numpy()
    assert float(R.OrthogonalRegularizer(1.0, mode="columns")(tf.constant(q))) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="2-D"):
        reg(tf.constant(np.ones(3)))


def test_orthogonal_regularizer_ignores_the_diagonal_like_keras():
    w = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    assert float(R.OrthogonalRegularizer(1.0)(tf.constant(w))) == pytest.approx(_keras_orthogonal(w, 1.0, "rows"))


def test_regularizer_in_a_layer_adds_to_model_losses():
    layer = tf.keras.layers.Dense(3, kernel_regularizer=R.L2(0.5), bias_regularizer="l1")
    layer.build((None, 4))
    layer.kernel.assign(np.ones((4, 3), "float32"))
    layer.bias.assign(np.full(3, -2.0, "float32"))
    layer(tf.ones((1, 4)))
    assert sorted(round(float(v), 5) for v in layer.losses) == [0.06, 6.0]


@pytest.mark.parametrize("name,cls", [("l1", R.L1), ("l2", R.L2), ("l1_l2", R.L1L2),
                                      ("orthogonal_regularizer", R.OrthogonalRegularizer)])
def test_regularizer_get_and_round_trip(name, cls):
    obj = R.get(name)
    assert type(obj) is cls
    again = R.deserialize(R.serialize(obj))
    assert type(again) is cls and again.get_config() == obj.get_config()


# -- constraints --------------------------------------------------------------------------------------------
_K = np.random.default_rng(1).normal(size=(3, 3, 4, 5)) * 2


def _col_norms(w, axis):
    return np.sqrt((w ** 2).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("axis", [0, 1, [0, 1, 2]])
def test_max_unit_min_max_norm(axis):
    w = _K if axis == [0, 1, 2] else _K.reshape(9, 20)
    n = _col_norms(w, tuple(axis) if isinstance(axis, list) else axis)
    out = C.MaxNorm(max_value=1.5, axis=axis)(tf.constant(w)).numpy()
    np.testing.assert_allclose(out, w * np.clip(n, 0, 1.5) / (n + 1e-7), rtol=1e-10)
    assert _col_norms(out, tuple(axis) if isinstance(axis, list) else axis).max() <= 1.5 + 1e-6
    out = C.UnitNorm(axis=axis)(tf.constant(w)).numpy()
    np.testing.assert_allclose(_col_norms(out, tuple(axis) if isinstance(axis, list) else axis), 1.0, rtol=1e-6)
    out = C.MinMaxNorm(min_value=0.5, max_value=1.0, rate=0.5, axis=axis)(tf.constant(w)).numpy()
    desired = 0.5 * np.clip(n, 0.5, 1.0) + 0.5 * n
    np.testing.assert_allclose(out, w * desired / (n + 1e-7), rtol=1e-10)


def test_non_neg_and_optimizer_applies_constraints():
    np.testing.assert_array_equal(C.NonNeg()(tf.constant(_W)).numpy(), np.maximum(_W, 0))
    v = tf.Variable(np.array([[3.0, 0.1], [4.0, 0.1]]), constraint=C.MaxNorm(1.0))
    tf.keras.optimizers.SGD(0.0).apply_gradients([(tf.constant(np.zeros((2, 2))), v)])
    np.testing.assert_allclose(v.numpy()[:, 0], [0.6, 0.8], rtol=1e-6)
    np.testing.assert_allclose(v.numpy()[:, 1], [0.1, 0.1], rtol=1e-6)     # norm/(norm + 1e-7), as Keras


@pytest.mark.parametrize("name,cls", [("max_norm", C.MaxNorm), ("non_neg", C.NonNeg), ("unit_norm", C.UnitNorm),
                                      ("min_max_norm", C.MinMaxNorm)])
def test_constraint_get_and_round_trip(name, cls):
    obj = C.get(name)
    assert type(obj) is cls
    again = C.deserialize(C.serialize(obj))
    assert type(again) is cls and again.get_config() == obj.get_config()
    assert C.MaxNorm().max_value == 2 and C.MinMaxNorm().max_value == 1.0
