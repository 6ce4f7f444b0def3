"""Keras 3 losses: Keras's own expected values, PyTorch oracles (values and gradients), reduction and
sample-weight rules, the _keras_logits fast path, bad-input errors, get/serialize.

Literal numbers come from keras/src/losses/losses_test.py and the Keras 3 docstrings.
"""
import json
import warnings

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import losses as L
from _oracle import require_torch


def close(a, b, tol=1e-4):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=tol, atol=tol)


YT = np.array([[1, 9, 2], [-5, -2, 6]])
YP = np.array([[4, 8, 12], [8, 1, 3]], dtype="float32")
YT3 = np.asarray([1, 9, 2, -5, -2, 6]).reshape(2, 3, 1)
YP3 = np.asarray([4, 8, 12, 8, 1, 3]).reshape(2, 3, 1)
SW3 = np.array([3, 6, 5, 0, 4, 2]).reshape((2, 3))


# -- (1) Keras's literal expected values --------------------------------------------------------------------
@pytest.mark.parametrize("cls,unw,scalar,sample,timestep,none,total", [
    (L.MeanSquaredError, 49.5, 113.85, 767.8 / 6, 97.833336, [84.3333, 143.3666], 227.69998),
    (L.MeanAbsoluteError, 5.5, 12.65, 81.4 / 6, 13.833333, [10.7333, 14.5666], 25.29999),
    (L.MeanAbsolutePercentageError, 211.8518, 487.259, 422.8888, 694.4444, [621.8518, 352.6666], None),
    (L.MeanSquaredLogarithmicError, 1.4370, 3.3051, 3.7856, 2.647374, None, None),
])
def test_regression_losses_keras_values(cls, unw, scalar, sample, timestep, none, total):
    close(cls()(YT, YP), unw, 1e-3)
    close(cls()(YT, YP, sample_weight=2.3), scalar, 1e-3)
    close(cls()(YT, YP, sample_weight=np.array([[1.2], [3.4]])), sample, 1e-3)
    close(cls()(YT3, YP3, sample_weight=SW3), timestep, 1e-3)
    close(cls()(YT, YP, sample_weight=0), 0.0)
    close(cls()(np.array([[4, 8, 12], [8, 1, 3]]), np.array([[4, 8, 12], [8, 1, 3]])), 0.0)
    if none is not None:
        close(cls(reduction=None)(YT, YP, sample_weight=2.3), none, 1e-3)
    if total is not None:
        close(cls(reduction="sum")(YT, YP, sample_weight=2.3), total, 1e-3)


def test_mean_with_sample_weight_reduction():
    sw = np.array([[1.2], [3.4]])
    close(L.MeanSquaredError(reduction="mean_with_sample_weight")(YT, YP, sample_weight=sw),
          (110 / 3 * 1.2 + 187 / 3 * 3.4) / (1.2 + 3.4))
    close(L.MeanAbsoluteError(reduction="mean_with_sample_weight")(YT, YP, sample_weight=sw),
          (14 / 3 * 1.2 + 19 / 3 * 3.4) / (1.2 + 3.4))
    close(L.MeanAbsolutePercentageError(reduction="mean_with_sample_weight")(YT, YP, sample_weight=sw), 183.865, 1e-3)


@pytest.mark.parametrize("cls,sobs,total,none,w_sobs,w_sum", [
    (L.Hinge, 1.3, 2.6, [1.1, 1.5], 0.55, 1.1),
    (L.SquaredHinge, 1.86, 3.72, [1.46, 2.26], 0.73, 1.46),
    (L.CategoricalHinge, 1.4, 2.8, [1.2, 1.6], 0.6, 1.2),
])
def test_hinge_family_keras_values(cls, sobs, total, none, w_sobs, w_sum):
    yt, yp = np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[0.6, 0.4], [0.4, 0.6]])
    close(cls()(yt, yp), sobs)
    close(cls(reduction="sum")(yt, yp), total)
    close(cls(reduction=None)(yt, yp), none)
    close(cls()(yt, yp, sample_weight=[1, 0]), w_sobs)
    close(cls(reduction="sum")(yt, yp, sample_weight=[1, 0]), w_sum)
    close(cls(reduction=None)(yt, yp, sample_weight=[1, 0]), [none[0], 0.0])
    assert float(cls()(yt, yp, sample_weight=0.0)) == 0.0
    with pytest.raises(ValueError, match="Invalid value for argument"):
        cls(reduction="abc")


def _np_huber(t, p, d=1.0):
    a = np.abs(p - t)
    q = np.minimum(a, d)
    return 0.5 * q * q + d * (a - q)


def test_huber_logcosh_kld_poisson_keras_formulas():
    p = np.array([[0.9, 0.2, 0.2], [0.8, 0.4, 0.6]])
    t = np.array([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    close(L.Huber()(t, p), _np_huber(t, p).sum() / 6)
    close(L.Huber(delta=0.8)(t, p, sample_weight=2.3), 2.3 * _np_huber(t, p, 0.8).sum() / 6)
    sw = np.array([[1.2], [3.4]])
    close(L.Huber()(t, p, sample_weight=sw), (_np_huber(t, p) * np.repeat(sw, 3, 1)).sum() / 6)
    close(L.Huber()(t.reshape(2, 3, 1), p.reshape(2, 3, 1), sample_weight=SW3.reshape(2, 3, 1)),
          (_np_huber(t, p) * SW3).sum() / 6)
    err = (YP - YT).astype(np.float64)
    lc = np.log((np.exp(err) + np.exp(-err)) / 2)
    close(L.LogCosh()(YT, YP), lc.sum() / 6)
    close(L.LogCosh()(YT, YP, sample_weight=np.asarray([1.2, 3.4])), (lc * [[1.2], [3.4]]).sum() / 6)
    yp = np.asarray([0.4, 0.9, 0.12, 0.36, 0.3, 0.4], dtype=np.float32).reshape((2, 3))
    yt = np.asarray([0.5, 0.8, 0.12, 0.7, 0.43, 0.8], dtype=np.float32).reshape((2, 3))
    kl = yt * np.log(yt / yp)
    close(L.KLDivergence()(yt, yp), kl.sum() / 2)
    close(L.KLDivergence()(yt, yp, sample_weight=np.array([[1.2], [3.4]])), (kl * [[1.2], [3.4]]).sum() / 2)
    close(L.KLDivergence()(yt.reshape(2, 3, 1), yp.reshape(2, 3, 1), sample_weight=SW3), (kl * SW3).sum() / 6)
    pp = np.asarray([1, 9, 2, 5, 2, 6], dtype=np.float32).reshape((2, 3))
    pt = np.asarray([4, 8, 12, 8, 1, 3], dtype=np.float32).reshape((2, 3))
    close(L.Poisson()(pt, pp), (pp - pt * np.log(pp)).sum() / 6)
    close(L.huber([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]).numpy().mean(), 0.155, 1e-3)
    close(L.log_cosh([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]).numpy().mean(), 0.108, 1e-3)


def test_binary_crossentropy_keras_values():
    bce = L.BinaryCrossentropy()
    eye = np.eye(3, dtype="float32")
    close(bce(eye, eye), 0.0)
    close(L.BinaryCrossentropy(from_logits=True)(eye, (eye * 20 - 10)), 0.0)
    close(bce(eye, np.array([[0.9, 0.1, 0.2], [0.3, 0.8, 0.1], [0.1, 0.2, 0.7]], "float32")), 0.20046903)
    yt, yp = np.array([1, 0, 1, 0]).reshape(2, 2), np.array([1, 1, 1, 0], np.float32).reshape(2, 2)
    close(bce(yt, yp), 3.98559)
    close(bce(yt, yp, sample_weight=2.3), 9.1668)
    close(bce(yt, yp, sample_weight=np.array([1.2, 3.4]).reshape((2, 1))), 4.7827)
    lt, lg = np.array([[1, 0, 1], [0, 1, 1]]), np.array([[10.0, -10.0, 10.0], [10.0, 10.0, -10.0]])
    bl = L.BinaryCrossentropy(from_logits=True)
    close(bl(lt, lg), 3.3333)
    close(bl(lt, lg, sample_weight=2.3), 7.666)
    close(bl(lt, lg, sample_weight=np.array([4, 3])), 10.0)
    close(L.BinaryCrossentropy(from_logits=True, reduction=None)(lt, lg), [0.0, 6.666], 1e-3)
    close(L.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)([[1, 0, 1]], [[10.0, -10.0, -10.0]]),
          (10.0 + 5.0 * 0.1) / 3.0)
    with pytest.raises(ValueError, match="must have the same shape"):
        bce(np.array([[0], [1], [2]]), np.array([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]]))


CT = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
CP = np.array([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]], dtype="float32")
CL = np.array([[8.0, 1.0, 1.0], [0.0, 9.0, 1.0], [2.0, 3.0, 5.0]])
CW = np.array([[1.2], [3.4], [5.6]])


@pytest.mark.parametrize("sparse", [False, True])
def test_categorical_and_sparse_crossentropy_keras_values(sparse):
    yt = np.array([[0], [1], [2]]) if sparse else CT
    cls = L.SparseCategoricalCrossentropy if sparse else L.CategoricalCrossentropy
    close(cls()(yt, CP), 0.3239, 1e-3)  # Keras checks these to 3 decimals
    close(cls(from_logits=True)(yt, CL), 0.0573, 1e-3)
    close(cls()(yt, CP, sample_weight=2.3), 0.7449, 1e-3)
    close(cls(from_logits=True)(yt, CL, sample_weight=2.3), 0.1317, 1e-3)
    close(cls()(yt, CP, sample_weight=CW), 1.0696, 1e-3)
    close(cls(from_logits=True)(yt, CL, sample_weight=CW), 0.31829, 1e-3)
    close(cls(from_logits=True, reduction=None)(yt, CL), (0.001822, 0.000459, 0.169846), 1e-5)
    close(cls()(yt, np.eye(3, dtype="float32")), 0.0)
    close(cls(from_logits=True)(yt, np.eye(3) * 10.0), 0.0, 1e-3)


def test_crossentropy_docstring_values_and_label_smoothing():
    probs = [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
    close(L.sparse_categorical_crossentropy([1, 2], probs), [0.0513, 2.303], 1e-3)
    scce = L.SparseCategoricalCrossentropy()
    close(scce([1, 2], probs), 1.177, 1e-3)
    close(scce([1, 2], probs, sample_weight=np.array([0.3, 0.7])), 0.814, 1e-3)
    close(L.SparseCategoricalCrossentropy(reduction="sum")([1, 2], probs), 2.354, 1e-3)
    close(L.binary_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]), [0.916, 0.714], 1e-3)
    cce = L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    close(cce([[1, 0, 0]], [[100.0, -100.0, -100.0]]), 400.0 * 0.1 / 3.0, 1e-4)


def test_sparse_ignore_class_keras_values():
    logits = np.array([[[0.854, 0.698, 0.598], [0.088, 0.86, 0.018]]])
    obj = L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, reduction=None)
    close(obj(np.array([[-1, 2]]), logits), [[0.0, 1.480129]])
    close(obj(np.array([[[-1], [2]]]), logits), [[0.0, 1.480129]])
    # the mean is over the valid entries only
    mean = L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)(np.array([[-1, 2]]), logits)
    close(mean, 1.480129)


def test_focal_losses_keras_values():
    yt, yp = np.asarray([1, 0, 1, 0]).reshape(2, 2), np.asarray([0.9, 0.8, 0.7, 0.2], np.float32).reshape(2, 2)
    lt, lg = np.array([[1, 1, 0], [0, 1, 0]], "float32"), np.array([[1.5, -2.7, 2.9], [-3.8, 1.2, -4.5]])
    sw = np.array([1.2, 3.4]).reshape((2, 1))
    b2 = L.BinaryFocalCrossentropy(gamma=2.0)
    b3 = L.BinaryFocalCrossentropy(gamma=3.0, from_logits=True)
    close(b2(yt, yp), 0.268, 1e-3)
    close(b3(lt, lg), 0.799, 1e-3)
    close(b2(yt, yp, sample_weight=1.23), 0.3296, 1e-3)
    close(b3(lt, lg, sample_weight=3.21), 2.565, 1e-3)
    close(b2(yt, yp, sample_weight=sw), 0.34415, 1e-3)
    close(b3(lt, lg, sample_weight=sw), 0.95977, 1e-3)
    close(L.BinaryFocalCrossentropy(gamma=2.0, reduction=None)(yt, yp), (0.515547, 0.020513), 1e-5)
    close(L.BinaryFocalCrossentropy(gamma=1.5)(np.eye(3), np.eye(3)), 0.0, 1e-3)
    c = L.CategoricalFocalCrossentropy()
    cl = L.CategoricalFocalCrossentropy(from_logits=True)
    close(c(CT, CP), 0.02059, 1e-4)
    close(cl(CT, CL), 0.000345, 1e-5)
    close(c(CT, CP, sample_weight=2.3), 0.047368, 1e-5)
    close(cl(CT, CL, sample_weight=2.3), 0.000794, 1e-5)
    close(c(CT, CP, sample_weight=CW), 0.06987, 1e-4)
    close(cl(CT, CL, sample_weight=CW), 0.001933, 1e-5)
    close(L.CategoricalFocalCrossentropy(from_logits=True, reduction=None)(CT, CL),
          (1.5096224e-09, 2.4136547e-11, 1.0360638e-03), 1e-6)
    close(L.CategoricalFocalCrossentropy(from_logits=True, label_smoothing=0.1)([[1, 0, 0]], [[4.9, -0.5, 2.05]]),
          0.06685, 1e-4)
    dt, dp = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
    close(c(dt, dp), 0.23315276, 1e-5)
    close(c(dt, dp, sample_weight=np.array([0.3, 0.7])), 0.1632, 1e-4)
    close(L.CategoricalFocalCrossentropy(reduction="sum")(dt, dp), 0.46631, 1e-4)
    close(L.CategoricalFocalCrossentropy(reduction=None)(dt, dp), [3.2058331e-05, 4.6627346e-01], 1e-5)


# -- (2) PyTorch oracles: values and gradients --------------------------------------------------------------
def _grad(loss_fn, y_true, x, dtype="float64"):
    v = tf.Variable(np.array(x, dtype=dtype))
    with tf.GradientTape() as tape:
        out = loss_fn(y_true, v)
    return float(out), tape.gradient(out, v).numpy()


def _torch_grad(torch, fn, x):
    xt = torch.tensor(np.array(x, dtype=np.float64), requires_grad=True)
    out = fn(xt)
    out.backward()
    return float(out.detach()), xt.grad.numpy()


RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(6, 5)) * 2
LABELS = RNG.integers(0, 5, size=6)
SOFT = RNG.dirichlet(np.ones(5), size=6)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_sparse_and_categorical_crossentropy_match_torch(smoothing):
    torch = require_torch()
    F = torch.nn.functional
    want = _torch_grad(torch, lambda z: F.cross_entropy(z, torch.tensor(LABELS), label_smoothing=smoothing), LOGITS)
    onehot = np.eye(5)[LABELS]
    got_c = _grad(L.CategoricalCrossentropy(from_logits=True, label_smoothing=smoothing, dtype="float64"),
                  onehot, LOGITS)
    close(got_c[0], want[0], 1e-10)
    close(got_c[1], want[1], 1e-10)
    if smoothing == 0.0:
        got_s = _grad(L.SparseCategoricalCrossentropy(from_logits=True, dtype="float64"), LABELS, LOGITS)
        close(got_s[0], want[0], 1e-10)
        close(got_s[1], want[1], 1e-10)
    soft = _torch_grad(torch, lambda z: F.cross_entropy(z, torch.tensor(SOFT)), LOGITS)
    got = _grad(L.CategoricalCrossentropy(from_logits=True, dtype="float64"), SOFT, LOGITS)
    close(got[0], soft[0], 1e-10)
    close(got[1], soft[1], 1e-10)


def test_binary_crossentropy_matchesrequire_torch():
    torch = require_torch()
    F = torch.nn.functional
    y = (RNG.random((6, 4)) > 0.5).astype(np.float64)
    z = RNG.normal(size=(6, 4))
    want = _torch_grad(torch, lambda t: F.binary_cross_entropy_with_logits(t, torch.tensor(y)), z)
    got = _grad(L.BinaryCrossentropy(from_logits=True, dtype="float64"), y, z)
    close(got[0], want[0], 1e-10)
    close(got[1], want[1], 1e-10)
    p = 1 / (1 + np.exp(-z))  # moderate probabilities: the clip is inactive
    want = _torch_grad(torch, lambda t: F.binary_cross_entropy(t, torch.tensor(y)), p)
    got = _grad(L.BinaryCrossentropy(dtype="float64"), y, p)
    close(got[0], want[0], 1e-10)
    close(got[1], want[1], 1e-10)


@pytest.mark.parametrize("delta", [1.0, 0.35])
def test_regression_losses_match_torch(delta):
    torch = require_torch()
    F = torch.nn.functional
    t = RNG.normal(size=(5, 3))
    x = RNG.normal(size=(5, 3))
    tt = torch.tensor(t)
    cases = [
        (L.Huber(delta=delta, dtype="float64"), lambda p: F.huber_loss(p, tt, delta=delta)),
        (L.MeanSquaredError(dtype="float64"), lambda p: F.mse_loss(p, tt)),
        (L.MeanAbsoluteError(dtype="float64"), lambda p: F.l1_loss(p, tt)),
        (L.LogCosh(dtype="float64"), lambda p: torch.log(torch.cosh(p - tt)).mean()),
    ]
    for loss, ref in cases:
        got, want = _grad(loss, t, x), _torch_grad(torch, ref, x)
        close(got[0], want[0], 1e-9)
        close(got[1], want[1], 1e-9)


def test_kl_divergence_matchesrequire_torch():
    torch = require_torch()
    F = torch.nn.functional
    q = RNG.dirichlet(np.ones(4), size=5)
    t = RNG.dirichlet(np.ones(4), size=5)
    want = _torch_grad(torch, lambda p: F.kl_div(torch.log(p), torch.tensor(t), reduction="batchmean"), q)
    got = _grad(L.KLDivergence(dtype="float64"), t, q)
    close(got[0], want[0], 1e-9)
    close(got[1], want[1], 1e-9)


@pytest.mark.parametrize("make,inputs", [
    (lambda: L.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=1.5, label_smoothing=0.1,
                                       dtype="float64"), "prob"),
    (lambda: L.BinaryFocalCrossentropy(from_logits=True, dtype="float64"), "logit"),
    (lambda: L.CategoricalFocalCrossentropy(alpha=[0.2, 0.3, 0.5], dtype="float64"), "prob"),
    (lambda: L.CategoricalFocalCrossentropy(from_logits=True, label_smoothing=0.2, dtype="float64"), "logit"),
    (lambda: L.Hinge(dtype="float64"), "prob"), (lambda: L.SquaredHinge(dtype="float64"), "prob"),
    (lambda: L.CategoricalHinge(dtype="float64"), "prob"), (lambda: L.Poisson(dtype="float64"), "prob"),
    (lambda: L.MeanSquaredLogarithmicError(dtype="float64"), "prob"),
    (lambda: L.CosineSimilarity(dtype="float64"), "logit"),
    (lambda: L.MeanAbsolutePercentageError(dtype="float64"), "regression"),
])
def test_gradients_match_central_differences(make, inputs):
    loss = make()
    y = np.eye(3)[[0, 2, 1, 2]]
    if inputs == "regression":  # MAPE divides by |y_true|: keep it away from 0
        y = RNG.uniform(0.5, 2.0, size=(4, 3))
    x = RNG.normal(size=(4, 3)) if inputs == "logit" else RNG.uniform(0.15, 0.85, size=(4, 3))
    tf.debug.check_gradients(lambda p: loss(y, p), x, rtol=1e-5, atol=1e-8)


# -- (3) reduction and sample-weight rules ------------------------------------------------------------------
def test_reductions_and_weight_shapes():
    yt = np.zeros((4, 3, 2))
    yp = np.arange(24, dtype="float32").reshape(4, 3, 2) / 10
    per = ((yp - yt) ** 2).mean(-1)  # (4, 3)
    close(L.MeanSquaredError(reduction=None)(yt, yp), per)
    close(L.MeanSquaredError(reduction="sum")(yt, yp), per.sum())
    close(L.MeanSquaredError(reduction="auto")(yt, yp), per.mean())
    close(L.MeanSquaredError(reduction=L.Reduction.NONE)(yt, yp), per)
    w = np.array([1.0, 0.0, 2.0, 0.5])
    for sw in (w, w[:, None], w[:, None, None]):  # per-sample weights broadcast over timesteps
        close(L.MeanSquaredError()(yt, yp, sample_weight=sw), (per * w[:, None]).sum() / per.size)
    full = RNG.random((4, 3))
    close(L.MeanSquaredError()(yt, yp, sample_weight=full), (per * full).sum() / per.size)
    close(L.MeanSquaredError(reduction="mean_with_sample_weight")(yt, yp, sample_weight=full),
          (per * full).sum() / full.sum())
    with pytest.raises(ValueError, match="sample_weight of shape"):
        L.MeanSquaredError()(yt, yp, sample_weight=np.ones(5))
    assert L.MeanSquaredError()(yt, yp).dtype == np.float32
    assert L.MeanSquaredError(dtype="float64")(yt, yp).dtype == np.float64


def test_keras_mask_on_predictions_is_honoured():
    yp = tf.constant([[0.5], [1.0], [3.0]])
    yp._keras_mask = np.array([True, True, False])
    close(L.MeanSquaredError()(np.zeros((3, 1)), yp), (0.25 + 1.0) / 2)
    close(L.MeanSquaredError(reduction="sum")(np.zeros((3, 1)), yp), 1.25)


def test_label_shapes_and_dtypes():
    scce = L.SparseCategoricalCrossentropy(from_logits=True)
    ref = float(scce(LABELS, LOGITS))
    for lab in (LABELS[:, None], LABELS.astype(np.float32), LABELS.astype(np.int64), tf.constant(LABELS)):
        close(scce(lab, LOGITS), ref, 1e-6)
    seq = RNG.normal(size=(2, 3, 5))
    close(scce(np.array([[0, 1, 2], [3, 4, 0]]), seq),
          L.SparseCategoricalCrossentropy(from_logits=True)(np.array([0, 1, 2, 3, 4, 0]), seq.reshape(6, 5)), 1e-6)
    close(L.BinaryCrossentropy()(np.array([1, 0]), np.array([[0.8], [0.3]])), -np.log([0.8, 0.7]).mean(), 1e-6)


# -- (4) the _keras_logits fast path ------------------------------------------------------------------------
def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_keras_logits_fast_path_matches_clipped_path_and_is_two_ops():
    z = tf.Variable(LOGITS.astype("float32"))
    with tf.GradientTape() as tape:
        y = tf.nn.softmax(z)
        y._keras_logits = z
        loss = L.SparseCategoricalCrossentropy()(LABELS, y)
    names = [n.prim.name for n in tape._nodes]
    assert names == ["softmax", "sparse_softmax_cross_entropy_with_logits", "reduce_mean"]
    g = tape.gradient(loss, z).numpy()
    close(loss, L.SparseCategoricalCrossentropy()(LABELS, _softmax(LOGITS)), 1e-5)
    close(g, (_softmax(LOGITS) - np.eye(5)[LABELS]) / 6, 1e-5)
    for loss_cls, yt in ((L.CategoricalCrossentropy, np.eye(5)[LABELS]),):
        with tf.GradientTape() as tape:
            y = tf.nn.softmax(z)
            y._keras_logits = z
            val = loss_cls()(yt, y)
        close(val, loss_cls()(yt, _softmax(LOGITS)), 1e-5)
        close(tape.gradient(val, z), (_softmax(LOGITS) - yt) / 6, 1e-5)
    yb = (RNG.random((6, 5)) > 0.5).astype("float32")
    with tf.GradientTape() as tape:
        s = tf.sigmoid(z)
        s._keras_logits = z
        val = L.BinaryCrossentropy()(yb, s)
    close(val, L.BinaryCrossentropy()(yb, 1 / (1 + np.exp(-LOGITS))), 1e-5)
    close(tape.gradient(val, z), (1 / (1 + np.exp(-LOGITS)) - yb) / 30, 1e-5)


def test_keras_logits_fast_path_stays_finite_where_probabilities_saturate():
    z = tf.Variable([[60.0, 0.0, -60.0]])
    y = tf.nn.softmax(z)
    y._keras_logits = z
    close(L.SparseCategoricalCrossentropy()([2], y), 120.0, 1e-4)  # exact, not -log(1e-7)
    close(L.SparseCategoricalCrossentropy()([2], tf.nn.softmax(z)), -np.log(1e-7), 1e-3)


def test_keras_logits_of_the_wrong_activation_are_ignored():
    z = tf.constant(LOGITS.astype("float32"))
    y = tf.nn.softmax(z)
    y._keras_logits = tf.constant(LOGITS.astype("float32") + 5.0)  # not the logits of y under sigmoid
    yb = np.eye(5)[LABELS]
    close(L.BinaryCrossentropy()(yb, y), L.BinaryCrossentropy()(yb, _softmax(LOGITS)), 1e-6)


def test_from_logits_true_on_activation_output_warns_and_uses_logits():
    z = tf.constant(LOGITS.astype("float32"))
    y = tf.nn.softmax(z)
    y._keras_logits = z
    with pytest.warns(UserWarning, match="from_logits=True"):
        val = L.SparseCategoricalCrossentropy(from_logits=True)(LABELS, y)
    close(val, L.SparseCategoricalCrossentropy(from_logits=True)(LABELS, LOGITS), 1e-5)


# -- (5) bad inputs -----------------------------------------------------------------------------------------
def test_bad_labels_raise_helpful_errors():
    scce = L.SparseCategoricalCrossentropy(from_logits=True)
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy.*\[0, 5\).*\[0, 5\]"):
        scce([0, 5, 1, 2, 3, 4], LOGITS)
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        scce([-1, 0, 1, 2, 3, 4], LOGITS)
    with pytest.raises(ValueError, match="CategoricalCrossentropy"):
        scce(np.eye(5)[LABELS], LOGITS)
    with pytest.raises(ValueError, match="integer class indices"):
        scce(LABELS + 0.5, LOGITS)
    with pytest.raises(ValueError, match="SparseCategoricalCrossentropy"):
        L.CategoricalCrossentropy()(LABELS, _softmax(LOGITS))
    with pytest.raises(ValueError, match="SparseCategoricalCrossentropy"):
        L.CategoricalCrossentropy()(LABELS[:, None], _softmax(LOGITS))
    with pytest.raises(ValueError, match="must have the same shape"):
        L.MeanSquaredError()(np.zeros((3, 2)), np.zeros((3, 4)))
    with pytest.warns(SyntaxWarning, match="binary_crossentropy"):
        L.CategoricalCrossentropy()(np.ones((2, 1)), np.ones((2, 1)))


# -- (6) get / serialize / config ---------------------------------------------------------------------------
@pytest.mark.parametrize("cls", L.ALL_CLASSES)
def test_config_roundtrip(cls):
    obj = cls(name="custom", reduction="sum")
    config = obj.get_config()
    assert json.loads(json.dumps(config)) == config
    again = cls.from_config(config)
    assert again.get_config() == config and again.name == "custom" and again.reduction == "sum"
    back = L.deserialize(L.serialize(obj))
    assert type(back) is cls and back.get_config() == config


def test_get_strings_classes_and_callables():
    assert L.get("mse") is L.mean_squared_error
    assert L.get("mae") is L.mean_absolute_error
    assert L.get("mape") is L.mean_absolute_percentage_error
    assert L.get("kld") is L.kl_divergence and L.get("kl_divergence") is L.kl_divergence
    assert L.get("log_cosh") is L.log_cosh and L.get("huber") is L.huber and L.get("hinge") is L.hinge
    for name in ("sparse_categorical_crossentropy", "binary_crossentropy", "categorical_crossentropy",
                 "categorical_focal_crossentropy", "binary_focal_crossentropy"):
        assert L.get(name).__name__ == name
    assert isinstance(L.get("Huber"), L.Huber)
    assert isinstance(L.get(L.Huber), L.Huber)
    h = L.Huber(delta=2.0)
    assert L.get(h) is h and L.get(None) is None
    fn = lambda a, b: a  # noqa: E731
    assert L.get(fn) is fn
    assert L.get({"class_name": "Huber", "config": {"delta": 3.0}}).get_config()["delta"] == 3.0
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        L.get("sparse_categorical_crosentropy")
    with pytest.raises(ValueError, match="Unknown loss"):
        L.get("no_such_loss_at_all")
    with pytest.raises(ValueError, match="Unknown loss"):
        L.deserialize({"class_name": "os.system", "config": {}})
    assert isinstance(L.as_loss("mse"), L.MeanSquaredError)
    wrapped = L.as_loss(lambda a, b: L.mean_squared_error(a, b) * 2.0)
    close(wrapped([[0.0]], [[1.0]]), 2.0)
    custom = L.LossFunctionWrapper(L.huber, name="h", delta=0.5)
    assert L.deserialize(L.serialize(custom)).get_config() == custom.get_config()


def test_function_losses_are_per_sample_and_differentiable():
    out = L.mean_squared_error(np.array([4, 8, 12]), np.array([[3], [0], [1]]))
    assert tuple(out.shape) == (3,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = tf.Variable([[0.2, 0.8]])
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(L.categorical_crossentropy([[0.0, 1.0]], v))
        assert np.all(np.isfinite(tape.gradient(loss, v).numpy()))
