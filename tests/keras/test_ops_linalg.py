"""keras.ops linear algebra: values against NumPy (and a few values printed by Keras 3.15), gradients against
PyTorch's ``torch.linalg`` in float64, errors naming the op and the shapes."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.debug import check_gradients
from tapeflow.keras import ops
from tests._oracle import require_torch

torch = require_torch()
RNG = np.random.default_rng(7)


def rnd(*shape):
    return RNG.standard_normal(shape)


def well(*shape):
    """Well-conditioned square matrices."""
    return rnd(*shape) + 3 * np.eye(shape[-1])


def spd(*shape):
    a = rnd(*shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def sym(*shape):
    a = rnd(*shape)
    return a + np.swapaxes(a, -1, -2)


def _r(shape):
    shape = tuple(int(d) for d in shape)
    return np.cos(np.arange(int(np.prod(shape))) * 0.37 + 0.1).reshape(shape)


def grad(f, *xs):
    vs = [tf.Variable(np.asarray(x, np.float64)) for x in xs]
    with tf.GradientTape() as tape:
        out = f(*vs)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        loss = sum(tf.reduce_sum(o * _r(o.shape)) for o in outs)
    return [g.numpy() for g in tape.gradient(loss, vs)]


def tgrad(f, *xs):
    ts = [torch.tensor(np.asarray(x, np.float64), requires_grad=True) for x in xs]
    out = f(*ts)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    sum((o * torch.tensor(_r(tuple(o.shape)))).sum() for o in outs).backward()
    return [t.grad.numpy() for t in ts]


def sq(x):  # sign-invariant view of eigen/singular vectors
    return x * x


L = torch.linalg
CASES = {  # name: (tapeflow fn, torch fn, inputs)
    "inv": (ops.inv, L.inv, [well(2, 3, 3)]),
    "det": (ops.det, L.det, [well(2, 3, 3)]),
    "slogdet": (lambda a: ops.slogdet(a)[1], lambda a: L.slogdet(a)[1], [well(3, 3) * np.array([1, -1, 1])]),
    "logdet": (ops.logdet, lambda a: L.slogdet(a)[1], [well(2, 4, 4)]),
    "solve-matrix": (ops.solve, L.solve, [well(2, 3, 3), rnd(2, 3, 2)]),
    "solve-vector": (ops.solve, L.solve, [well(3, 3), rnd(3)]),
    "solve_triangular-lower": (lambda a, b: ops.solve_triangular(a, b, lower=True),
                               lambda a, b: L.solve_triangular(a.tril(), b, upper=False),
                               [well(2, 3, 3), rnd(2, 3, 2)]),
    "solve_triangular-upper": (lambda a, b: ops.solve_triangular(a, b),
                               lambda a, b: L.solve_triangular(a.triu(), b.unsqueeze(-1), upper=True).squeeze(-1),
                               [well(4, 4), rnd(4)]),
    "cholesky": (ops.cholesky, L.cholesky, [spd(2, 3, 3)]),
    "cholesky-upper": (lambda a: ops.cholesky(a, upper=True), lambda a: L.cholesky(a, upper=True), [spd(3, 3)]),
    "cholesky_inverse": (ops.cholesky_inverse, lambda a: torch.cholesky_inverse(a.tril()),
                         [np.linalg.cholesky(spd(3, 3))]),
    "eigh": (lambda a: (ops.eigh(a)[0], sq(ops.eigh(a)[1])), lambda a: (L.eigh(a)[0], sq(L.eigh(a)[1])),
             [sym(2, 4, 4)]),
    "svd-values": (lambda a: ops.svd(a, compute_uv=False), lambda a: L.svdvals(a), [rnd(2, 5, 3)]),
    "svd-reduced-tall": (lambda a: tuple(sq(t) if i != 1 else t for i, t in enumerate(ops.svd(a, False))),
                         lambda a: tuple(sq(t) if i != 1 else t for i, t in enumerate(L.svd(a, False))),
                         [rnd(2, 5, 3)]),
    "svd-reduced-wide": (lambda a: tuple(sq(t) for t in ops.svd(a, False)),
                         lambda a: tuple(sq(t) for t in L.svd(a, False)), [rnd(3, 5)]),
    "svd-square-full": (lambda a: tuple(sq(t) for t in ops.svd(a)), lambda a: tuple(sq(t) for t in L.svd(a)),
                        [rnd(4, 4)]),
    "qr-tall": (ops.qr, L.qr, [rnd(2, 5, 3)]),
    "qr-square": (ops.qr, L.qr, [rnd(4, 4)]),
    "pinv": (ops.pinv, L.pinv, [rnd(2, 5, 3)]),
    "cdist": (ops.cdist, torch.cdist, [rnd(2, 3, 4), rnd(2, 5, 4)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(name):
    ours, theirs, inputs = CASES[name]
    got = ours(*inputs)
    ref = theirs(*[torch.tensor(x) for x in inputs])
    got = got if isinstance(got, tuple) else (got,)
    ref = ref if isinstance(ref, tuple) else (ref,)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g.numpy(), r.detach().numpy(), atol=1e-10, rtol=1e-8)
    for g, r in zip(grad(ours, *inputs), tgrad(theirs, *inputs)):
        np.testing.assert_allclose(g, r, atol=1e-8, rtol=1e-6)


def test_decompositions_reconstruct_their_input():
    a = rnd(2, 5, 3)
    u, s, vh = ops.svd(a)
    assert u.shape == (2, 5, 5) and vh.shape == (2, 3, 3)
    np.testing.assert_allclose((u.numpy()[..., :3] * s.numpy()[:, None]) @ vh.numpy(), a, atol=1e-12)
    q, r = ops.qr(a, mode="complete")
    assert q.shape == (2, 5, 5) and r.shape == (2, 5, 3)
    np.testing.assert_allclose(q.numpy() @ r.numpy(), a, atol=1e-12)
    m = well(3, 3)
    w, v = ops.eig(m)
    np.testing.assert_allclose(m @ v.numpy(), v.numpy() * w.numpy()[None, :], atol=1e-10)
    import scipy.linalg  # lu_factor's contract is scipy's (LAPACK getrf: packed LU, 0-based pivots)
    b = well(2, 4, 4)
    lu, piv = ops.lu_factor(b)
    for i in range(2):
        rlu, rpiv = scipy.linalg.lu_factor(b[i])
        np.testing.assert_allclose(lu.numpy()[i], rlu, atol=1e-12)
        np.testing.assert_array_equal(piv.numpy()[i], rpiv)
    assert piv.dtype == np.int32
    assert int(ops.matrix_rank(np.outer(rnd(4), rnd(3)))) == 1 and ops.matrix_rank(rnd(4, 3)).dtype == np.int32
    a, y = rnd(6, 3), rnd(6, 2)
    np.testing.assert_allclose(ops.lstsq(a, y).numpy(), np.linalg.lstsq(a, y, rcond=None)[0], atol=1e-12)
    m = -spd(3, 3)
    sign, logabs = ops.slogdet(m)
    np.testing.assert_allclose([float(sign), float(logabs)], np.linalg.slogdet(m), atol=1e-12)
    np.testing.assert_allclose(float(ops.logdet(m)), np.linalg.slogdet(m)[1])  # Keras's NumPy backend: log|det|


def test_keras_printed_values():
    # printed by Keras 3.15.1: cholesky_inverse(upper=True) of triu(sig(3, 3) + 3 I), cdist, slogdet
    def sig(*shape, k=0.7):
        return np.sin(np.arange(int(np.prod(shape))) * k + 0.3).reshape(shape).astype("float32")
    a = sig(3, 3) + 3 * np.eye(3, dtype="float32")
    np.testing.assert_allclose(ops.cholesky_inverse(np.triu(a), upper=True).numpy(),
                               [[0.1171, -0.0379, -0.0511], [-0.0379, 0.114, 0.0292], [-0.0511, 0.0292, 0.145]],
                               atol=2e-4)
    np.testing.assert_allclose(ops.cdist(sig(2, 3, 4), sig(2, 5, 4, k=0.2)).numpy(), [
        [[0.5133, 0.6854, 0.7003, 1.406, 2.7111], [2.5814, 3.2589, 2.8566, 1.5616, 0.4989],
         [0.7492, 1.4308, 1.4869, 1.6178, 2.5184]],
        [[1.9076, 1.8575, 1.7206, 2.3581, 2.7289], [2.3534, 1.8116, 0.891, 1.6364, 2.3589],
         [2.7213, 2.5244, 1.809, 1.7548, 1.9194]]], atol=2e-4)
    np.testing.assert_allclose(ops.convert_to_numpy(ops.slogdet(-a)), [-1.0, 3.2546], atol=2e-4)


def test_second_order_through_inv_and_det():
    check_gradients(lambda a: tf.reduce_sum(grad_inner(a)), well(3, 3), rtol=1e-4, atol=1e-6)


def grad_inner(a):
    with tf.GradientTape() as t:
        t.watch(a)
        y = ops.det(a) + tf.reduce_sum(ops.inv(a) * _r((3, 3)))
    return t.gradient(y, a)


@pytest.mark.parametrize("call,match", [
    (lambda: ops.inv(np.ones((2, 3))), r"inv: expected a square matrix .* got shape \(2, 3\)"),
    (lambda: ops.det(np.ones(3)), r"det: expected a square matrix .* got shape \(3,\)"),
    (lambda: ops.solve(np.eye(3), np.ones((4, 2))), r"solve: b must have shape \(\.\.\., 3\)"),
    (lambda: ops.solve_triangular(np.eye(2), np.ones(3)), r"solve_triangular: b must have shape"),
    (lambda: ops.cholesky(-np.eye(2)), r"cholesky: the input is not symmetric positive definite"),
    (lambda: ops.qr(np.ones((3, 2)), mode="r"), r"qr: mode must be"),
    (lambda: ops.cdist(np.ones((2, 3)), np.ones((2, 4))), r"cdist: .* shapes \(2, 3\) and \(2, 4\)"),
    (lambda: ops.lstsq(np.ones((3, 2)), np.ones(4)), r"lstsq: b must have 3 rows"),
])
def test_bad_input_names_op_and_shapes(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_namespaces():
    assert ops.linalg.inv is ops.inv and ops.linalg.svd is ops.svd
    assert float(ops.linalg.norm([3.0, 4.0])) == 5.0
    assert ops.linalg.solve.__doc__ and "linalg" in ops.linalg.__name__
