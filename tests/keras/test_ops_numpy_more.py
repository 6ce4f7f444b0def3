"""keras.ops NumPy-style and elementwise-math ops (``numpy_more``/``numpy_more2``): values and dtypes against NumPy,
gradients against PyTorch (or float64 central differences), and the places where Keras differs from NumPy."""
import warnings

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.debug import check_gradients
from tapeflow.keras import ops
from tests._oracle import require_torch

torch = require_torch()
RNG = np.random.default_rng(7)
SHAPES = [(), (5,), (3, 4)]


@pytest.fixture(autouse=True)
def _torch_float64():
    """torch's default dtype float64 for these tests only (a module-level switch leaked into later test files)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def uniform(lo, hi, shape):
    return RNG.uniform(lo, hi, shape)


def tf_grad(fn, *arrays):
    """Gradients of sum(fn(*xs) * w) for float64 inputs, and the fixed weights w."""
    xs = [tf.Variable(np.asarray(a, np.float64)) for a in arrays]
    with tf.GradientTape() as tape:
        out = fn(*xs)
        w = np.linspace(0.5, 1.5, out.numpy().size).reshape(out.shape)
        loss = ops.sum(out * w)
    return [g.numpy() if g is not None else None for g in tape.gradient(loss, xs)], w


def torch_grad(fn, w, *arrays):
    ts = [torch.tensor(np.asarray(a, np.float64), requires_grad=True) for a in arrays]
    out = fn(*ts)
    (out * torch.tensor(w)).sum().backward()
    return [t.grad.numpy() if t.grad is not None else np.zeros(t.shape) for t in ts]


def assert_grad_matches_torch(fn, tfn, *arrays, rtol=1e-6, atol=1e-8):
    got, w = tf_grad(fn, *arrays)
    want = torch_grad(tfn, w, *arrays)
    for g, e in zip(got, want):
        np.testing.assert_allclose(0 if g is None else g, e, rtol=rtol, atol=atol)


# -- unary elementwise: (numpy, torch, domain) ---------------------------------------------------------
UNARY = {
    "arccos": (np.arccos, torch.acos, (-0.9, 0.9)), "arccosh": (np.arccosh, torch.acosh, (1.2, 3.0)),
    "arcsin": (np.arcsin, torch.asin, (-0.9, 0.9)), "arcsinh": (np.arcsinh, torch.asinh, (-3, 3)),
    "arctan": (np.arctan, torch.atan, (-3, 3)), "arctanh": (np.arctanh, torch.atanh, (-0.9, 0.9)),
    "cbrt": (np.cbrt, lambda t: torch.sign(t) * t.abs() ** (1 / 3), (0.2, 3.0)),
    "cosh": (np.cosh, torch.cosh, (-3, 3)), "sinh": (np.sinh, torch.sinh, (-3, 3)),
    "tan": (np.tan, torch.tan, (-1.2, 1.2)), "deg2rad": (np.deg2rad, torch.deg2rad, (-360, 360)),
    "rad2deg": (np.rad2deg, torch.rad2deg, (-4, 4)), "erfc": (None, torch.erfc, (-3, 3)),
    "erfinv": (None, torch.erfinv, (-0.95, 0.95)), "exp2": (np.exp2, torch.exp2, (-3, 3)),
    "log10": (np.log10, torch.log10, (0.1, 10)), "log2": (np.log2, torch.log2, (0.1, 10)),
    "sinc": (np.sinc, torch.sinc, (-3, 3)), "i0": (np.i0, torch.i0, (-3, 3)),
    "fabs": (np.fabs, torch.abs, (0.1, 3)), "copy": (np.copy, lambda t: t * 1.0, (-3, 3)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_dtypes_and_torch_gradient(name):
    np_fn, t_fn, (lo, hi) = UNARY[name]
    op = getattr(ops, name)
    for shape in SHAPES:
        x = uniform(lo, hi, shape).astype(np.float32)
        want = np_fn(x) if np_fn is not None else t_fn(torch.tensor(x, dtype=torch.float64)).numpy()
        got = op(x)
        assert got.dtype.name == "float32" and got.shape == np.shape(want)
        np.testing.assert_allclose(got.numpy(), want, rtol=2e-6, atol=1e-6)
    x64 = uniform(lo, hi, (3, 4))
    assert op(x64).dtype.name == "float64"
    assert_grad_matches_torch(op, t_fn, x64)
    if name not in ("copy", "fabs"):  # ints compute in floatx, as Keras
        assert op(np.array([1, 2], np.int32)).dtype.name == "float32"


def test_special_points_and_float_ops_of_ints():
    np.testing.assert_allclose(ops.sinc([0.0, 1.0]).numpy(), [1.0, 0.0], atol=1e-7)
    g, _ = tf_grad(ops.sinc, [0.0, 0.5])
    np.testing.assert_allclose(g[0][0], 0.0)
    assert ops.exp2(np.array([3], np.int32)).numpy().tolist() == [8.0]
    assert ops.log2(np.array([8], np.int32)).numpy().tolist() == [3.0]
    assert ops.cbrt(np.array([8, -27], np.int32)).numpy().tolist() == [2.0, -3.0]
    assert ops.arccos(np.array([1], np.int32)).numpy().tolist() == [0.0]
    assert ops.trunc(np.array([-1.5, 2.7], np.float32)).numpy().tolist() == [-1.0, 2.0]
    assert ops.trunc(np.array([3], np.int32)).dtype.name == "int32"
    assert ops.signbit(np.array([-0.0, 1.0], np.float32)).numpy().tolist() == [True, False]
    nx = ops.nextafter(np.float32(1.0), np.float32(2.0))
    assert nx.numpy() == np.nextafter(np.float32(1), np.float32(2)) and nx.dtype.name == "float32"


# -- binary elementwise -------------------------------------------------------------------------------
BINARY = {
    "arctan2": (np.arctan2, torch.atan2, (-2, 2), (-2, 2)),
    "logaddexp": (np.logaddexp, torch.logaddexp, (-30, 30), (-30, 30)),
    "logaddexp2": (np.logaddexp2, torch.logaddexp2, (-30, 30), (-30, 30)),
    "hypot": (np.hypot, torch.hypot, (-2, 2), (-2, 2)),
    "fmod": (np.fmod, torch.fmod, (-5, 5), (0.7, 1.3)),
    "fmax": (np.fmax, torch.fmax, (-2, 2), (-2, 2)), "fmin": (np.fmin, torch.fmin, (-2, 2), (-2, 2)),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_values_broadcast_and_torch_gradient(name):
    np_fn, t_fn, r1, r2 = BINARY[name]
    op = getattr(ops, name)
    for s1, s2 in [((), ()), ((5,), (5,)), ((3, 4), (4,)), ((3, 1), (1, 4))]:
        a, b = uniform(*r1, s1).astype(np.float32), uniform(*r2, s2).astype(np.float32)
        got = op(a, b)
        assert got.dtype.name == "float32"
        np.testing.assert_allclose(got.numpy(), np_fn(a, b), rtol=2e-6, atol=2e-6)
    a, b = uniform(*r1, (3, 4)), uniform(*r2, (4,))
    assert_grad_matches_torch(op, t_fn, a, b)


def test_binary_edge_cases():
    a = np.array([1.0, np.nan, 3.0, np.nan], np.float32)
    b = np.array([np.nan, 2.0, 1.0, np.nan], np.float32)
    np.testing.assert_array_equal(ops.fmax(a, b).numpy(), np.fmax(a, b))
    np.testing.assert_array_equal(ops.fmin(a, b).numpy(), np.fmin(a, b))
    assert ops.logaddexp(-np.inf, -np.inf).numpy() == -np.inf
    assert ops.logaddexp(1000.0, 1000.0).numpy() == pytest.approx(1000.6931, abs=1e-3)
    g, _ = tf_grad(ops.logaddexp, [2.0], [2.0])  # a tie: the gradient is split, not given to one side
    np.testing.assert_allclose([g[0][0], g[1][0]], [0.25, 0.25])  # 0.5 each, times the weight 0.5
    g, _ = tf_grad(ops.hypot, [0.0, 3.0], [0.0, 4.0])  # 0 at the origin, as torch
    np.testing.assert_allclose(g[0], [0.0, 0.6 * 1.5])
    g, _ = tf_grad(ops.arctan2, [0.0], [0.0])
    assert g[0].tolist() == [0.0] and g[1].tolist() == [0.0]
    assert ops.hypot(np.array([3], np.int32), np.array([4], np.int32)).numpy().tolist() == [5.0]
    assert ops.fmod(np.array([-7, 7], np.int32), 3).numpy().tolist() == [-1, 1]
    assert ops.ldexp(np.array([1.0, 2.0], np.float32), np.array([2, 3], np.int32)).numpy().tolist() == [4.0, 16.0]
    with pytest.raises(TypeError, match="integer"):
        ops.ldexp([1.0], np.array([1.5]))
    assert_grad_matches_torch(lambda x: ops.ldexp(x, np.array([1, -2, 3])),
                              lambda t: torch.ldexp(t, torch.tensor([1.0, -2.0, 3.0])), uniform(-2, 2, (3,)))
    np.testing.assert_array_equal(ops.heaviside(np.array([-1.0, 0.0, 2.0], np.float32), 0.5).numpy(), [0, 0.5, 1])


def test_divide_no_nan_as_keras_with_finite_gradients():
    # values printed by Keras 3.15.1: ops.divide_no_nan([1,2,3], [0,4,0]) -> [0., 0.5, 0.] (float32)
    out = ops.divide_no_nan(np.array([1.0, 2.0, 3.0], np.float32), np.array([0.0, 4.0, 0.0], np.float32))
    assert out.dtype.name == "float32" and out.numpy().tolist() == [0.0, 0.5, 0.0]
    # Keras: int32 / int32 -> float32 [0.0, 0.5]
    out = ops.divide_no_nan(np.array([1, 2], np.int32), np.array([0, 4], np.int32))
    assert out.dtype.name == "float32" and out.numpy().tolist() == [0.0, 0.5]
    g, _ = tf_grad(ops.divide_no_nan, [1.0, 2.0, 3.0], [0.0, 4.0, 0.0])
    assert np.isfinite(g[0]).all() and np.isfinite(g[1]).all() and g[0][0] == 0 and g[1][0] == 0
    x, y = uniform(-2, 2, (3, 4)), uniform(0.5, 2, (3, 4))
    assert_grad_matches_torch(ops.divide_no_nan, torch.divide, x, y)


# -- NaN-aware and order-statistic reductions -------------------------------------------------------
def with_nans(shape):
    x = RNG.standard_normal(shape)
    x[RNG.random(shape) < 0.25] = np.nan
    x[0] = np.nan  # an all-NaN slice along axis -1
    return x.astype(np.float32)


NAN_REDUCE = ["nansum", "nanmean", "nanmax", "nanmin", "nanprod", "nanvar", "nanstd", "nanmedian"]


@pytest.mark.parametrize("name", NAN_REDUCE)
def test_nan_reductions_match_numpy_and_differentiate(name):
    x = with_nans((4, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for axis in [None, 0, 1, (0, 1)]:
            for kd in (False, True):
                got = getattr(ops, name)(x, axis=axis, keepdims=kd)
                want = getattr(np, name)(x, axis=axis, keepdims=kd)
                assert got.shape == np.shape(want) and got.dtype.name == "float32"
                np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6, equal_nan=True)
    x = RNG.standard_normal((3, 5))
    x[1, 2] = x[2, 0] = np.nan
    check_gradients(lambda t: getattr(ops, name)(t, axis=1), x)


def test_nan_reductions_against_torch_and_keras_dtypes():
    x = RNG.standard_normal((3, 5))
    x[1, 2] = np.nan
    assert_grad_matches_torch(lambda t: ops.nansum(t, axis=1), lambda t: torch.nansum(t, dim=1), x)
    assert_grad_matches_torch(lambda t: ops.nanmean(t, axis=0), lambda t: torch.nanmean(t, dim=0), x)
    assert_grad_matches_torch(lambda t: ops.nanquantile(t, 0.3, axis=1),
                              lambda t: torch.nanquantile(t, 0.3, dim=1), x)
    # Keras 3.15.1: nanargmax([[nan, nan], [1., nan]], axis=1) -> [-1, 0] int32; nansum(int8) -> int32
    got = ops.nanargmax(np.array([[np.nan, np.nan], [1.0, np.nan]], np.float32), axis=1)
    assert got.dtype.name == "int32" and got.numpy().tolist() == [-1, 0]
    assert ops.nanargmin(np.array([[np.nan, 2.0, 1.0]], np.float32), axis=1).numpy().tolist() == [2]
    s = ops.nansum(np.array([1, 2], np.int8))
    assert s.dtype.name == "int32" and s.numpy() == 3
    assert ops.nanprod(np.array([[2, 3]], np.int32), axis=1).dtype.name == "int32"
    xn = with_nans((3, 4))
    np.testing.assert_allclose(ops.nancumsum(xn, axis=1).numpy(), np.nancumsum(xn, axis=1))
    np.testing.assert_allclose(ops.nancumprod(xn).numpy(), np.nancumprod(xn), rtol=1e-6)
    check_gradients(lambda t: ops.nancumsum(t, axis=0), np.where(np.isnan(xn), np.nan, xn).astype(np.float64))
    xi = np.array([[1, 5], [2, 3]], np.int32)
    assert ops.ptp(xi, axis=0).numpy().tolist() == [1, 2] and ops.ptp(xi).dtype.name == "int32"
    assert_grad_matches_torch(lambda t: ops.ptp(t, axis=1), lambda t: t.amax(1) - t.amin(1), RNG.random((3, 4)))


@pytest.mark.parametrize("method", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_family_matches_numpy(method):
    x = RNG.standard_normal((3, 4, 5)).astype(np.float32)
    for q in (0.3, [0.0, 0.25, 0.9]):
        for axis in (None, 0, -1, (0, 2)):
            for kd in (False, True):
                got = ops.quantile(x, q, axis=axis, method=method, keepdims=kd)
                want = np.quantile(x, q, axis=axis, method=method, keepdims=kd)
                assert got.shape == want.shape
                np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ops.percentile(x, [10, 50], axis=1, method=method).numpy(),
                               np.percentile(x, [10, 50], axis=1, method=method), rtol=1e-6, atol=1e-6)
    xn = with_nans((4, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(ops.nanpercentile(xn, 40, axis=1, method=method).numpy(),
                                   np.nanpercentile(xn, 40, axis=1, method=method), rtol=1e-6, equal_nan=True)


def test_quantile_median_gradients_and_keras_values():
    x = RNG.standard_normal((4, 6))
    assert_grad_matches_torch(lambda t: ops.quantile(t, [0.2, 0.7], axis=1),
                              lambda t: torch.quantile(t, torch.tensor([0.2, 0.7]), dim=1), x)
    assert_grad_matches_torch(lambda t: ops.median(t, axis=0), lambda t: torch.quantile(t, 0.5, dim=0), x)
    # Keras 3.15.1: quantile([1,2,3,4], 0.4) -> 2.2 (method "linear"); int32 input -> float32
    assert ops.quantile(np.array([1.0, 2.0, 3.0, 4.0], np.float32), 0.4).numpy() == pytest.approx(2.2)
    got = ops.quantile(np.array([1, 2, 3, 4], np.int32), [0.25, 0.5])
    assert got.dtype.name == "float32" and got.numpy().tolist() == [1.75, 2.5]
    assert ops.median(np.array([1, 2, 4], np.int32)).numpy().tolist() == 2.0
    with pytest.raises(ValueError, match="method"):
        ops.quantile(x, 0.5, method="bogus")


# -- predicates, bitwise, complex -------------------------------------------------------------------
def test_predicates_bitwise_and_complex_wrappers():
    a = np.array([1.0, 2.0, np.inf, -np.inf, np.nan], np.float32)
    b = a + np.float32(1e-6)
    np.testing.assert_array_equal(ops.isclose(a, b).numpy(), np.isclose(a, b))
    np.testing.assert_array_equal(ops.isclose(a, a, equal_nan=True).numpy(), np.isclose(a, a, equal_nan=True))
    assert bool(ops.allclose([1.0, 2.0], [1.0, 2.0])) and not bool(ops.allclose([1.0], [1.1]))
    np.testing.assert_array_equal(ops.isposinf(a).numpy(), np.isposinf(a))
    np.testing.assert_array_equal(ops.isneginf(a).numpy(), np.isneginf(a))
    assert ops.isin(np.array([1, 2, 3], np.int32), [2]).numpy().tolist() == [False, True, False]
    assert ops.isin([1, 2, 3], [2], invert=True).numpy().tolist() == [True, False, True]
    x, y = np.array([12, 5, -3], np.int32), np.array([10, 3, 1], np.int32)
    for name, fn in [("bitwise_and", np.bitwise_and), ("bitwise_or", np.bitwise_or),
                     ("bitwise_xor", np.bitwise_xor), ("left_shift", np.left_shift),
                     ("right_shift", np.right_shift), ("bitwise_left_shift", np.left_shift),
                     ("bitwise_right_shift", np.right_shift), ("gcd", np.gcd), ("lcm", np.lcm)]:
        got = getattr(ops, name)(x, y)
        assert got.dtype.name == "int32", name
        np.testing.assert_array_equal(got.numpy(), fn(x, y))
    assert ops.bitwise_not(x).numpy().tolist() == (~x).tolist() == ops.bitwise_invert(x).numpy().tolist()
    assert ops.logical_xor([True, False], [True, True]).numpy().tolist() == [False, True]
    c = np.array([1 + 2j, -1j])
    assert ops.real(c).numpy().tolist() == [1.0, 0.0] and ops.imag(c).numpy().tolist() == [2.0, -1.0]
    assert ops.conj(c).numpy().tolist() == [1 - 2j, 1j] and ops.conjugate(c).numpy().tolist() == [1 - 2j, 1j]
    np.testing.assert_allclose(ops.angle(c).numpy(), np.angle(c))
    np.testing.assert_allclose(ops.angle(np.array([-1, 1], np.int32)).numpy(), [np.pi, 0])
    assert ops.isreal(c).numpy().tolist() == [False, False]
    assert ops.imag(np.array([1.0], np.float32)).numpy().tolist() == [0.0]
    g, _ = tf_grad(lambda t: ops.real(ops.conj(t)), [1.0, 2.0])
    assert g[0].tolist() == [0.5, 1.5]


# -- layout ops: values vs NumPy, gradients vs torch -------------------------------------------------------
def test_layout_values_match_numpy():
    m = RNG.standard_normal((3, 4)).astype(np.float32)
    t3 = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    v = np.arange(5, dtype=np.int32)
    eq = np.testing.assert_allclose
    eq(ops.append(m, m[:1], axis=0).numpy(), np.append(m, m[:1], axis=0))
    eq(ops.append(m, v).numpy(), np.append(m, v))
    for k in (2, 3):
        for a, b in zip(ops.array_split(v, k), np.array_split(v, k)):
            assert a.numpy().tolist() == b.tolist()
    assert [p.shape for p in ops.array_split(m, [1, 3], axis=1)] == [(3, 1), (3, 2), (3, 1)]
    eq(ops.dstack([m, m]).numpy(), np.dstack([m, m]))
    eq(ops.dstack([v, v]).numpy(), np.dstack([v, v]))
    for f in ("hsplit", "vsplit"):
        for a, b in zip(getattr(ops, f)(np.ones((4, 4)), 2), getattr(np, f)(np.ones((4, 4)), 2)):
            eq(a.numpy(), b)
    for a, b in zip(ops.dsplit(t3, [1]), np.dsplit(t3, [1])):
        eq(a.numpy(), b)
    eq(ops.fliplr(m).numpy(), np.fliplr(m))
    eq(ops.flipud(m).numpy(), np.flipud(m))
    for shift, axis in [(1, None), (-2, 1), ((1, 2), (0, 1)), (7, 0)]:
        eq(ops.roll(m, shift, axis).numpy(), np.roll(m, shift, axis))
    for k in range(-1, 5):
        eq(ops.rot90(t3, k, axes=(1, 2)).numpy(), np.rot90(t3, k, axes=(1, 2)))
        eq(ops.rot90(m, k).numpy(), np.rot90(m, k))
    for off in (-2, 0, 1, 3):
        eq(ops.diagonal(m, off).numpy(), np.diagonal(m, off))
    eq(ops.diagonal(t3, 1, 2, 0).numpy(), np.diagonal(t3, 1, 2, 0))
    for k in (-1, 0, 2):
        eq(ops.diagflat(m[:2, :2], k).numpy(), np.diagflat(m[:2, :2], k))
    for n, axis in [(1, -1), (2, 0), (3, 1)]:
        eq(ops.diff(m, n, axis).numpy(), np.diff(m, n, axis=axis), rtol=1e-5, atol=1e-6)
    eq(ops.kron(m, m[:2, :3]).numpy(), np.kron(m, m[:2, :3]), rtol=1e-6)
    eq(ops.kron(v, m).numpy(), np.kron(v, m), rtol=1e-6)
    for idx in ("xy", "ij"):
        for a, b in zip(ops.meshgrid(v[:2], v, v[:3], indexing=idx), np.meshgrid(v[:2], v, v[:3], indexing=idx)):
            assert a.numpy().tolist() == b.tolist()
    u, w = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    eq(ops.cross(u, w).numpy(), np.cross(u, w))
    eq(ops.cross(u.T, w, axisa=0).numpy(), np.cross(u.T, w, axisa=0))
    eq(ops.cross(u.T, w.T, axis=0).numpy(), np.cross(u.T, w.T, axis=0))
    eq(ops.cross(u[:, :2], w).numpy(), np.cross(np.pad(u[:, :2], ((0, 0), (0, 1))), w))
    eq(ops.vdot(m, m).numpy(), np.vdot(m, m), rtol=1e-6)
    eq(ops.vander(m[0]).numpy(), np.vander(m[0]), rtol=1e-6)
    eq(ops.vander(m[0], 3, increasing=True).numpy(), np.vander(m[0], 3, increasing=True), rtol=1e-6)
    assert ops.vander(np.array([1, 2, 3], np.int32)).numpy().tolist() == [[1, 1, 1], [4, 2, 1], [9, 3, 1]]
    eq(ops.trapezoid(m).numpy(), np.trapezoid(m), rtol=1e-6)
    eq(ops.trapezoid(m, dx=0.5, axis=0).numpy(), np.trapezoid(m, dx=0.5, axis=0), rtol=1e-6)
    eq(ops.trapezoid(m, x=np.cumsum(np.ones(4))).numpy(), np.trapezoid(m, x=np.cumsum(np.ones(4))), rtol=1e-6)
    assert ops.trapezoid(np.array([1, 2, 3], np.int32)).numpy().tolist() == 4.0
    for n in (1, 4, 7):
        for k in (1, 3, 4, 9):
            a, b = RNG.standard_normal(n).astype(np.float32), RNG.standard_normal(k).astype(np.float32)
            for mode in ("valid", "same", "full"):
                eq(ops.correlate(a, b, mode).numpy(), np.correlate(a, b, mode), rtol=1e-5, atol=1e-6)
    eq(ops.corrcoef(t3[0]).numpy(), np.corrcoef(t3[0]), rtol=1e-5, atol=1e-6)
    c1, c2 = m > 0, m < -0.5
    eq(ops.select([c1, c2], [m, -m], default=9.0).numpy(), np.select([c1, c2], [m, -m], default=9.0))
    assert ops.get_item(v, 2).numpy() == 2 and ops.get_item(m, (slice(1, None), 0)).shape == (2,)


def test_layout_gradients_against_torch():
    m, u = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 3))
    T = torch
    assert_grad_matches_torch(lambda x: ops.roll(x, (1, -1), (0, 1)), lambda x: T.roll(x, (1, -1), (0, 1)), m)
    assert_grad_matches_torch(lambda x: ops.rot90(x, 3), lambda x: T.rot90(x, 3), m)
    assert_grad_matches_torch(lambda x: ops.diagonal(x, 1), lambda x: T.diagonal(x, 1), m)
    assert_grad_matches_torch(lambda x: ops.diagflat(x, -1), lambda x: T.diagflat(x, -1), m[0])
    assert_grad_matches_torch(lambda x: ops.diff(x, 2, 1), lambda x: T.diff(x, 2, 1), m)
    assert_grad_matches_torch(ops.kron, T.kron, m, u)
    assert_grad_matches_torch(ops.cross, lambda a, b: T.linalg.cross(a, b), u, u[::-1].copy())
    assert_grad_matches_torch(ops.vdot, lambda a, b: T.vdot(a.reshape(-1), b.reshape(-1)), m, m * 2)
    assert_grad_matches_torch(lambda x: ops.vander(x, 4), lambda x: T.linalg.vander(x, N=4).flip(1),
                              np.array([0.0, 0.5, -1.5]))
    assert_grad_matches_torch(lambda y: ops.trapezoid(y, axis=0), lambda y: T.trapezoid(y, dim=0), m)
    assert_grad_matches_torch(ops.corrcoef, T.corrcoef, m)
    assert_grad_matches_torch(lambda a, b: ops.correlate(a, b, "same"),
                              lambda a, b: T.nn.functional.conv1d(a[None, None], b[None, None], padding="same")[0, 0],
                              RNG.standard_normal(7), RNG.standard_normal(3))
    assert_grad_matches_torch(lambda a, b: ops.append(a, b, 0), lambda a, b: T.cat([a, b], 0), m, m[:1])
    assert_grad_matches_torch(lambda x: ops.dstack([x, x * 2]), lambda x: T.dstack([x, x * 2]), m)
    assert_grad_matches_torch(lambda x: ops.meshgrid(x, x[:2])[0], lambda x: T.meshgrid(x, x[:2], indexing="xy")[0],
                              m[0])


def test_select_scatter_update_and_get_item_gradients():
    m, b = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    cond = [m > 0.5, m < -0.5]
    check_gradients(lambda x, y: ops.select(cond, [x, y], default=0.0), m, b)
    # Keras 3.15.1: scatter_update(zeros(3), [[0], [2]], [1., 2.]) -> [1., 0., 2.]
    assert ops.scatter_update(np.zeros(3, np.float32), [[0], [2]], np.array([1.0, 2.0], np.float32)).numpy().tolist() \
        == [1.0, 0.0, 2.0]
    idx = np.array([[0, 1], [2, 3], [0, 1]])  # a repeated index: the last update wins, as NumPy assignment
    want = m.copy()
    want[tuple(idx.T)] = [5.0, 6.0, 7.0]
    got = ops.scatter_update(m, idx, [5.0, 6.0, 7.0]).numpy()
    np.testing.assert_allclose(got, want)
    check_gradients(lambda x, u: ops.scatter_update(x, [[1], [0]], u), m, RNG.standard_normal((2, 4)))
    add = ops.scatter_update(np.zeros(3), [[0], [0], [2]], [1.0, 2.0, 3.0], reduction="add")
    assert add.numpy().tolist() == [3.0, 0.0, 3.0]
    with pytest.raises(ValueError, match="reduction"):
        ops.scatter_update(np.zeros(3), [[0]], [1.0], reduction="bogus")
    check_gradients(lambda x: ops.get_item(x, (slice(None), [0, 2])), m)


# -- search / count / sets / creation -----------------------------------------------------------------------
def test_search_count_and_set_ops_match_numpy_and_keras():
    x = np.array([3, 1, 3, 2], np.int32)
    assert ops.argpartition(x, 1).numpy().tolist() == np.argpartition(x, 1).tolist()
    assert ops.argpartition(x, 1).dtype.name == "int32"
    s = ops.searchsorted(np.array([1.0, 2.0, 3.0], np.float32), np.array([2.0, 2.5], np.float32), side="right")
    assert s.dtype.name == "int32" and s.numpy().tolist() == [2, 2]
    with pytest.raises(ValueError, match="1-D"):
        ops.searchsorted(np.ones((2, 2)), [1.0])
    assert ops.digitize(np.array([0.5, 1.5]), np.array([0.0, 1.0, 2.0])).numpy().tolist() == [1, 2]
    # Keras 3.15.1 values: bincount -> int32 [1, 2, 0, 1]; weighted -> weights' dtype
    b = ops.bincount(np.array([0, 1, 1, 3], np.int32))
    assert b.dtype.name == "int32" and b.numpy().tolist() == [1, 2, 0, 1]
    bw = ops.bincount(np.array([0, 1, 1, 3], np.int32), weights=np.array([0.5, 1, 1, 2], np.float32), minlength=5)
    assert bw.dtype.name == "float32" and bw.numpy().tolist() == [0.5, 2.0, 0.0, 2.0, 0.0]
    assert ops.bincount(np.array([[0, 1], [2, 2]]), minlength=4).numpy().tolist() == [[1, 1, 0, 0], [0, 0, 2, 0]]
    # Keras 3.15.1 histogram (TF backend): (counts in x's dtype, edges) -> ([1, 2, 2], [0, 1, 2, 3])
    h, e = ops.histogram(np.array([0.0, 1.0, 1.0, 2.5, 3.0], np.float32), bins=3)
    assert (h.dtype.name, e.dtype.name) == ("float32", "float32")
    assert h.numpy().tolist() == [1.0, 2.0, 2.0] and e.numpy().tolist() == [0.0, 1.0, 2.0, 3.0]
    nz = ops.nonzero(np.array([[0, 1], [2, 0]], np.int32))
    assert isinstance(nz, tuple) and [t.numpy().tolist() for t in nz] == [[0, 1], [1, 0]]
    assert nz[0].dtype.name == "int32"
    ur = ops.unravel_index(np.array([5, 1], np.int32), (2, 3))
    assert [t.numpy().tolist() for t in ur] == [[1, 0], [2, 1]] and ur[0].dtype.name == "int32"


def test_unique_keyword_behaviour_matches_keras():
    x = np.array([3, 1, 3, 2], np.int32)
    assert ops.unique(x).numpy().tolist() == [1, 2, 3]
    # Keras 3.15.1: (values, index, inverse, counts), all int32
    out = ops.unique(x, return_index=True, return_inverse=True, return_counts=True)
    assert [t.numpy().tolist() for t in out] == [[1, 2, 3], [1, 3, 0], [2, 0, 2, 1], [1, 1, 2]]
    assert all(t.dtype.name == "int32" for t in out)
    assert ops.unique(x, size=5, fill_value=-1).numpy().tolist() == [1, 2, 3, -1, -1]
    v, c = ops.unique(x, return_counts=True, size=2)
    assert v.numpy().tolist() == [1, 2] and c.numpy().tolist() == [1, 1]
    v, i, c = ops.unique(x, return_index=True, return_counts=True, size=4)
    assert v.numpy().tolist() == [1, 2, 3, 0] and i.numpy().tolist() == [1, 3, 0, 1] and c.numpy().tolist()[-1] == 0
    rows = ops.unique(np.array([[1, 2], [1, 2], [0, 5]]), axis=0)
    assert rows.numpy().tolist() == [[0, 5], [1, 2]]


def test_creation_windows_casts_and_views():
    assert ops.array([1.0, 2.0]).dtype.name == "float32" and ops.array([1, 2], dtype="int64").dtype.name == "int64"
    assert ops.empty((2, 3)).shape == (2, 3) and ops.empty((2,)).dtype.name == "float32"
    assert ops.empty_like(np.ones((2, 2), np.int32)).dtype.name == "int32"
    for f in ("bartlett", "blackman", "hamming", "hanning"):
        got = getattr(ops, f)(6)
        assert got.dtype.name == "float32"
        np.testing.assert_allclose(got.numpy(), getattr(np, f)(6), atol=1e-7)
    np.testing.assert_allclose(ops.kaiser(4, 2.0).numpy(), np.kaiser(4, 2.0), rtol=1e-6)
    assert ops.logspace(0, 2, 3).numpy().tolist() == [1.0, 10.0, 100.0]
    np.testing.assert_allclose(ops.geomspace(1, 100, 3).numpy(), [1.0, 10.0, 100.0], rtol=1e-6)
    np.testing.assert_allclose(ops.logspace(0, 1, 4, base=2, endpoint=False).numpy(),
                               np.logspace(0, 1, 4, base=2, endpoint=False), rtol=1e-6)
    assert ops.view(np.array([1.0], np.float32), "int32").numpy().tolist() == [1065353216]
    # Keras 3.15.1: saturate_cast([-5, 300.5, 12.7], "uint8") -> [0, 255, 12]
    got = ops.saturate_cast(np.array([-5.0, 300.5, 12.7], np.float32), "uint8")
    assert got.dtype.name == "uint8" and got.numpy().tolist() == [0, 255, 12]
    big = ops.saturate_cast(np.array([3e9, -3e9], np.float32), "int32").numpy()
    assert big[0] > 2.1e9 and big[1] == np.iinfo(np.int32).min
    assert ops.saturate_cast(np.array([300, -1], np.int32), "uint8").numpy().tolist() == [255, 0]
    assert ops.saturate_cast(np.array([1e39], np.float64), "float32").numpy().tolist() == [np.finfo(np.float32).max]
    check_gradients(lambda x: ops.saturate_cast(x, "float64"), np.array([0.5, 1.5]))


# -- functional control -------------------------------------------------------------------------------------
def test_switch_vectorize_vectorized_map_and_associative_scan():
    branches = [lambda x: x + 1, lambda x: x * 10]
    assert ops.switch(1, branches, 2.0) == 20.0 and ops.switch(-4, branches, 2.0) == 3.0
    assert ops.switch(9, branches, 2.0) == 20.0
    vf = ops.vectorize(lambda a, b: a + 2 * b)
    assert vf(np.array([1, 2]), np.array([10, 20])).numpy().tolist() == [21, 42]
    vs = ops.vectorize(lambda r: np.sum(r), signature="(n)->()")
    assert vs(np.ones((3, 4))).numpy().tolist() == [4.0, 4.0, 4.0]
    x = RNG.standard_normal((3, 4))
    np.testing.assert_allclose(ops.vectorized_map(lambda r: ops.sum(r * r), x).numpy(), (x * x).sum(1))
    np.testing.assert_allclose(ops.vectorized_map(lambda p: p[0] * p[1], [x, x]).numpy(), x * x)
    check_gradients(lambda t: ops.vectorized_map(lambda r: ops.sum(ops.sinh(r)), t), x)
    np.testing.assert_allclose(ops.associative_scan(lambda a, b: a + b, x, axis=1).numpy(), np.cumsum(x, 1))
    np.testing.assert_allclose(ops.associative_scan(lambda a, b: a + b, x, reverse=True).numpy(),
                               np.cumsum(x[::-1], 0)[::-1])
    pair = ops.associative_scan(lambda a, b: (a[0] * b[0], a[1] + b[1]), (x, x))
    np.testing.assert_allclose(pair[0].numpy(), np.cumprod(x, 0))
    np.testing.assert_allclose(pair[1].numpy(), np.cumsum(x, 0))
    assert_grad_matches_torch(lambda t: ops.associative_scan(ops.multiply, t), lambda t: torch.cumprod(t, 0), x)


def test_symbolic_keras_tensors_build_graph_nodes():
    from tapeflow import keras
    inp = keras.Input((4,))
    out = ops.logaddexp(ops.roll(inp, 1, axis=1), ops.nanmean(inp, axis=1, keepdims=True))
    model = keras.Model(inp, out)
    x = RNG.standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_allclose(model(x).numpy(), np.logaddexp(np.roll(x, 1, 1), x.mean(1, keepdims=True)),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("src,dst", [(0, -1), ([0, 1], [2, 0]), (-1, 0), ([2, 0], [0, 1])])
def test_moveaxis_matches_numpy(src, dst):
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(ops.moveaxis(x, src, dst).numpy(), np.moveaxis(x, src, dst))
