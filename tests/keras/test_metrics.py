"""Keras 3 metrics: Keras's own expected values, hand computations (AUC by ranks, F1 by counts),
confusion-matrix consistency, state handling, name resolution.

Literal numbers come from keras/src/metrics/*_test.py and the Keras 3 docstrings.
"""
import json

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import losses as L
from tapeflow.keras import metrics as M


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=tol, atol=tol)


RNG = np.random.default_rng(1)

# -- (1) reduction metrics ----------------------------------------------------------------------------------


def test_mean_and_sum():
    m = M.Mean()
    m.update_state([1, 3, 5, 7])
    close(m.result(), 4.0)
    m.reset_state()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    close(m.result(), 2.0)
    m.reset_states()
    m.update_state([[1, 3], [5, 7]], sample_weight=[[1, 1], [1, 0]])
    close(m.result(), 3.0)
    m.reset_state()
    m.update_state([1, 3, 5, 7], sample_weight=[-1, -1, 0, 0])
    close(m.result(), 2.0)
    s = M.Sum()
    s.update_state([1, 3, 5, 7])
    close(s.result(), 16.0)
    s.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    close(s.result(), 20.0)
    s.reset_state()
    s.update_state([[1, 3], [5, 7]], sample_weight=[[1, 1], [1, 0]])
    close(s.result(), 9.0)
    assert [v.name for v in m.variables] == ["total", "count"]
    assert m.result().dtype == np.float32 and f"{m.result():.3f}" == "2.000"


def test_result_is_a_scalar_tensor_and_state_resets():
    m = M.SparseCategoricalAccuracy()
    r = m([1, 0], [[0.1, 0.9], [0.2, 0.8]])
    assert isinstance(r, tf.Tensor) and r.shape == () and f"{r:.4f}" == "0.5000"
    m.reset_states()
    close(m.result(), 0.0)
    for metric in (M.AUC(), M.Precision(), M.F1Score(average="macro")):
        metric.update_state([[1, 0], [0, 1]], [[0.9, 0.2], [0.3, 0.6]])
        metric.reset_state()
        assert all(np.all(v.numpy() == 0) for v in metric.variables)


Y4 = np.array([[0, 1, 0, 1, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 0], [0, 0, 0, 0, 1]])
P4 = np.array([[0, 0, 1, 1, 0], [1, 1, 1, 1, 1], [0, 1, 0, 1, 0], [1, 1, 1, 1, 1]])


def test_regression_metrics_keras_values():
    for cls in (M.MeanSquaredError, M.MeanAbsoluteError):
        m = cls()
        m.update_state(Y4, P4)
        close(m.result(), 0.5)
        close(cls()(Y4, P4, sample_weight=np.array([1.0, 1.5, 2.0, 2.5])), 0.54285)
    mape = M.MeanAbsolutePercentageError()
    close(mape(Y4, P4), 35e7, 1e-6)
    close(M.RootMeanSquaredError()([2, 4, 6], [1, 3, 2]), np.sqrt(6.0))
    close(M.RootMeanSquaredError()([2, 4, 6, 8], [1, 3, 2, 3], sample_weight=[0, 1, 0, 1]), np.sqrt(13.0))
    cos = M.CosineSimilarity()
    close(cos([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]]), 0.5)


def test_loss_named_metrics_report_the_loss_value():
    logits = RNG.normal(size=(8, 4))
    labels = RNG.integers(0, 4, size=8)
    m = M.get("sparse_categorical_crossentropy")
    assert m.name == "sparse_categorical_crossentropy"
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    m.update_state(labels[:5], probs[:5])
    m.update_state(labels[5:], probs[5:])
    close(m.result(), L.SparseCategoricalCrossentropy()(labels, probs), 1e-5)
    b = M.BinaryCrossentropy(from_logits=True)
    y = (RNG.random((8, 3)) > 0.5).astype("float32")
    close(b(y, logits[:, :3]), L.BinaryCrossentropy(from_logits=True)(y, logits[:, :3]), 1e-5)
    for name, loss in (("mse", L.MeanSquaredError()), ("kld", L.KLDivergence()), ("hinge", L.Hinge()),
                       ("logcosh", L.LogCosh()), ("huber", L.Huber())):
        got = M.get(name)
        assert got.name == name
        close(got(probs, probs[::-1]), loss(probs, probs[::-1]), 1e-5)


def test_metrics_inside_a_tape_record_nothing():
    z = tf.Variable(RNG.normal(size=(4, 3)).astype("float32"))
    m = M.get("categorical_crossentropy")
    with tf.GradientTape() as tape:
        y = tf.nn.softmax(z)
        y._keras_logits = z
        n = len(tape._nodes)
        m.update_state(np.eye(3)[[0, 1, 2, 0]], y)
        M.CategoricalAccuracy().update_state(np.eye(3)[[0, 1, 2, 0]], y)
    assert len(tape._nodes) == n


# -- (2) accuracy family ------------------------------------------------------------------------------------
def test_accuracy_metrics_keras_values():
    close(M.Accuracy()([[1], [2], [3], [4]], [[0], [2], [3], [4]]), 0.75)
    close(M.Accuracy()([[1], [2], [3], [4]], [[0], [2], [3], [4]], sample_weight=[[0.5], [0.2], [0.2], [0.1]]), 0.5)
    bt, bp = [[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]]
    close(M.BinaryAccuracy()(bt, bp), 0.75)
    close(M.BinaryAccuracy()(bt, bp, sample_weight=[[0.5], [0.2], [0.2], [0.1]]), 0.9)
    close(M.BinaryAccuracy(threshold=0.7)(bt, bp), 1.0)
    close(M.BinaryAccuracy()([1, 1, 0, 0], [0.98, 1, 0, 0.6]), 0.75)
    ct, cp = [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]
    close(M.CategoricalAccuracy()(ct, cp), 0.5)
    close(M.CategoricalAccuracy()(ct, cp, sample_weight=[[0.5], [0.2]]), 0.2 / 0.7)
    close(M.SparseCategoricalAccuracy()([[2], [1]], cp), 0.5)
    close(M.SparseCategoricalAccuracy()([2, 1], cp, sample_weight=[[0.5], [0.2]]), 0.2 / 0.7)
    close(M.SparseCategoricalAccuracy()(np.array([2.0, 1.0], "float32"), cp), 0.5)
    close(M.TopKCategoricalAccuracy(k=1)(ct, cp), 0.5)
    close(M.TopKCategoricalAccuracy()(ct, cp), 1.0)
    close(M.SparseTopKCategoricalAccuracy(k=1)([2, 1], cp), 0.5)
    close(M.TopKCategoricalAccuracy(k=2)([[0, 0, 1], [1, 0, 0], [0, 0, 1]], [[0, 0.9, 0.1]] * 3,
                                         sample_weight=[1, 0, 1]), 1.0)
    close(M.SparseTopKCategoricalAccuracy(k=2)([2, 0, 2], [[0, 0.9, 0.1]] * 3, sample_weight=[1, 0, 1]), 1.0)
    # sequences: (batch, time) labels, (batch, time, classes) predictions
    seq = RNG.random((3, 4, 5))
    lab = RNG.integers(0, 5, size=(3, 4))
    close(M.SparseCategoricalAccuracy()(lab, seq), np.mean(seq.argmax(-1) == lab))


def test_accuracy_bad_label_encodings_raise():
    with pytest.raises(ValueError, match="categorical_accuracy"):
        M.SparseCategoricalAccuracy()(np.eye(3), np.eye(3))
    with pytest.raises(ValueError, match="sparse_categorical_accuracy"):
        M.CategoricalAccuracy()([0, 1, 2], np.eye(3))


# -- (3) confusion metrics ----------------------------------------------------------------------------------
TP4 = np.array([[0.9, 0.2, 0.8, 0.1], [0.2, 0.9, 0.7, 0.6], [0.1, 0.2, 0.4, 0.3], [0, 1, 0.7, 0.3]])
TT4 = np.array([[0, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]])


def test_count_metrics_keras_values():
    w = np.array((1.0, 1.5, 2.0, 2.5))
    for cls, unw, wt in ((M.TruePositives, 7, 12), (M.FalsePositives, 7, 14), (M.TrueNegatives, 3, 4),
                         (M.FalseNegatives, 3, 5)):
        close(cls()(Y4, P4), unw)
        close(cls()(Y4, P4, sample_weight=w), wt)
    thr = [0.15, 0.5, 0.85]
    close(M.TruePositives(thresholds=thr)(TT4, TP4), [6, 3, 1])
    close(M.FalsePositives(thresholds=thr)(TT4, TP4), [7, 4, 2])
    close(M.FalseNegatives(thresholds=thr)(TT4, TP4), [1, 4, 6])
    close(M.TrueNegatives(thresholds=thr)(TT4, TP4), [2, 5, 7])
    close(M.TruePositives(thresholds=thr)(TT4, TP4, sample_weight=37.0), [222, 111, 37])
    fpw = ((1.0, 2.0, 3.0, 5.0), (7.0, 11.0, 13.0, 17.0), (19.0, 23.0, 29.0, 31.0), (5.0, 15.0, 10.0, 0))
    close(M.FalsePositives(thresholds=thr)(TT4, TP4, sample_weight=fpw), [125, 42, 12])
    close(M.FalseNegatives(thresholds=thr)(TT4, TP4, sample_weight=((3.0,), (5.0,), (7.0,), (4.0,))), [4, 16, 23])
    close(M.TrueNegatives(thresholds=thr)(TT4, TP4, sample_weight=((0.0, 2.0, 3.0, 5.0),)), [5, 15, 23])
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]. Received: \[-1, 2\]"):
        M.TruePositives(thresholds=[-1, 0.5, 2])
    fp = M.FalsePositives(name="my_fp", thresholds=[0.4, 0.9])
    again = M.FalsePositives.from_config(fp.get_config())
    assert again.name == "my_fp" and again.thresholds == [0.4, 0.9] and len(again.variables) == 1


def test_precision_recall_keras_values():
    close(M.Precision()([0, 1, 1, 0], [1, 0, 1, 0]), 0.5)
    close(M.Recall()([0, 1, 1, 0], [1, 0, 1, 0]), 0.5)
    close(M.Precision()([0, 0, 0, 0], [0, 0, 0, 0]), 0.0)
    close(M.Precision()([[0, 1, 1, 0], [1, 0, 0, 1]], [[1, 0, 1, 0], [1, 0, 1, 0]],
                        sample_weight=[[1, 2, 3, 4], [4, 3, 2, 1]]), 7.0 / 10.0)
    close(M.Recall()([[0, 1, 1, 0], [1, 0, 0, 1]], [[1, 0, 1, 0], [0, 1, 0, 1]],
                     sample_weight=[[1, 2, 3, 4], [4, 3, 2, 1]]), 4.0 / 10.0)
    close(M.Precision(thresholds=[0.5, 0.7])([0, 1, 1, 0], [1, 0, 0.6, 0]), [0.5, 0.0])
    p = M.Precision(thresholds=[0.5, 1.0])
    for _ in range(2):
        p.update_state([[0, 1], [1, 0]], [[1, 0], [0.6, 0]], sample_weight=[[4, 0], [3, 1]])
    close(p.result(), [6.0 / 14.0, 0.0])
    close(M.Precision(top_k=3)([0, 1, 1, 0, 0], [0.2, 0.1, 0.5, 0, 0.2]), 1.0 / 3)
    close(M.Recall(top_k=3)([0, 1, 1, 0, 0], [0.2, 0.1, 0.5, 0, 0.2]), 0.5)
    pk, rk = M.Precision(top_k=3), M.Recall(top_k=3)
    for m in (pk, rk):
        m([[0, 1, 1, 0, 1]], [[0.2, 0.1, 0.4, 0, 0.2]], sample_weight=np.array([[1, 4, 2, 3, 5]]))
        m([1, 0, 1, 1, 1], [0.2, 0.6, 0.4, 0.2, 0.2], sample_weight=np.array(3))
    close(pk.result(), 13.0 / 17.0)
    close(rk.result(), 13.0 / 23.0)
    yp = [[0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]
    yt = np.eye(3)[[2, 0, 1, 0, 2]]
    pc = M.Precision(class_id=1)
    close(pc(yt, yp), 1.0)
    close(pc.true_positives.numpy(), [1.0])
    close(pc.false_positives.numpy(), [0.0])
    pt = M.Precision(thresholds=0.7, top_k=2)
    close(pt([0, 1, 1, 0, 1], [0.2, 0.8, 0.6, 0, 0.2]), 1.0)
    rt = M.Recall(thresholds=0.7, top_k=2)
    close(rt([1, 1, 1, 0, 1], [0.2, 0.8, 0.6, 0, 0.2]), 0.25)
    close(rt.false_negatives.numpy(), [3.0])
    with pytest.raises(ValueError, match="When class_id is provided, y_pred must be a 2D array"):
        M.Precision(class_id=2)([0, 1, 1, 0, 0], [0.2, 0.1, 0.6, 0, 0.2])
    cfg = M.Precision(name="my_precision", thresholds=[0.4, 0.9], top_k=15, class_id=12).get_config()
    again = M.Precision.from_config(cfg)
    assert (again.name, again.thresholds, again.top_k, again.class_id) == ("my_precision", [0.4, 0.9], 15, 12)
    assert [v.name for v in again.variables] == ["true_positives", "false_positives"]


def test_confusion_counts_are_consistent_with_confusion_matrix():
    y = RNG.integers(0, 2, size=200)
    p = RNG.random(200)
    w = RNG.random(200)
    cm = tf.math.confusion_matrix(y, (p > 0.5).astype(int), num_classes=2, weights=w, dtype="float64").numpy()
    (tn, fp), (fn, tp) = cm
    metrics = {cls: cls() for cls in (M.TruePositives, M.FalsePositives, M.TrueNegatives, M.FalseNegatives,
                                      M.Precision, M.Recall)}
    for m in metrics.values():
        m.update_state(y[:120], p[:120], sample_weight=w[:120])
        m.update_state(y[120:], p[120:], sample_weight=w[120:])
    close(metrics[M.TruePositives].result(), tp)
    close(metrics[M.FalsePositives].result(), fp)
    close(metrics[M.TrueNegatives].result(), tn)
    close(metrics[M.FalseNegatives].result(), fn)
    close(metrics[M.Precision].result(), tp / (tp + fp))
    close(metrics[M.Recall].result(), tp / (tp + fn))
    thr = np.linspace(0, 1, 7)
    tps, fns = M.TruePositives(thresholds=list(thr)), M.FalseNegatives(thresholds=list(thr))
    tps(y, p)
    fns(y, p)
    close(tps.result().numpy() + fns.result().numpy(), np.full(7, y.sum()))
    close(tps.result(), [np.sum((p > t) & (y == 1)) for t in thr])


# -- (4) AUC ------------------------------------------------------------------------------------------------
AY, AP, AW = np.array([0, 0, 1, 1]), np.array([0, 0.5, 0.3, 0.9], "float32"), [1, 2, 3, 4]


def test_auc_keras_values():
    close(M.AUC()(AY, AY), 1.0)
    close(M.AUC(num_thresholds=3)(AY, AP), 0.75, 1e-3)
    logits = -np.log(1.0 / (AP + 1e-12) - 1.0)
    close(M.AUC(num_thresholds=3, from_logits=True)(AY, logits), 0.75, 1e-3)
    manual = M.AUC(num_thresholds=2, thresholds=[0.5])
    assert manual.num_thresholds == 3
    close(manual.thresholds, [0.0, 0.5, 1.0])
    close(manual(AY, AP), 0.75, 1e-3)
    close(M.AUC(num_thresholds=3)(AY, AP, sample_weight=AW), 0.7855, 1e-3)
    close(M.AUC(num_thresholds=3, summation_method="majoring")(AY, AP, sample_weight=AW), 1.0, 1e-3)
    close(M.AUC(num_thresholds=3, summation_method="minoring")(AY, AP, sample_weight=AW), 0.571, 1e-3)
    close(M.AUC(num_thresholds=3, curve="PR", summation_method="majoring")(AY, AP, sample_weight=AW),
          0.429 + 0.571, 1e-3)
    close(M.AUC(num_thresholds=3, curve="PR", summation_method="minoring")(AY, AP, sample_weight=AW),
          0.7 * 0.429, 1e-3)
    close(M.AUC(num_thresholds=3, curve="PR")(AY, AP, sample_weight=AW), 2.416 / 7 + 4 / 7, 1e-3)
    close(M.AUC(num_thresholds=3, curve="PR")(AY, AP, sample_weight=[-1, -2, -3, -4]), 0.0, 1e-3)
    extra = 1 / (1 + np.exp(np.array([[[-10.0, 10.0, -10.0], [10.0, -10.0, 10.0]],
                                      [[-12.0, 12.0, -12.0], [12.0, -12.0, 12.0]]])))
    close(M.AUC()(np.array([[[1, 0, 0], [1, 0, 0]], [[0, 1, 1], [0, 1, 1]]]), extra), 0.5)
    with pytest.raises(ValueError, match="Argument `num_thresholds` must be an integer > 1"):
        M.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match='Invalid AUC curve value: "Invalid"'):
        M.AUC(curve="Invalid")
    with pytest.raises(ValueError, match='Invalid AUC summation method value: "Invalid"'):
        M.AUC(summation_method="Invalid")


def test_multi_label_auc():
    yp = np.array([[0, 0.5, 0.3, 0.9], [0.1, 0.2, 0.3, 0.4]], "float32").T
    good = np.array([[0, 0, 1, 1], [0, 0, 1, 1]]).T
    # tpr = [[1, 1, .5, .5, 0], [1, 1, 0, 0, 0]], fpr = [[1, .5, 0, 0, 0], [1, 0, 0, 0, 0]]
    close(M.AUC(num_thresholds=5, multi_label=True)(good, yp), (0.875 + 1.0) / 2)
    close(M.AUC(num_thresholds=5, multi_label=True, label_weights=[0.75, 0.25])(good, yp),
          0.75 * 0.875 + 0.25 * 1.0)
    m = M.AUC(num_thresholds=100, curve="PR", summation_method="majoring", name="auc_1", dtype="float64",
              multi_label=True, num_labels=2, from_logits=True)
    cfg = m.get_config()
    assert json.loads(json.dumps(cfg)) == cfg and "thresholds" not in cfg
    again = M.AUC.from_config(cfg)
    assert again.get_config() == cfg and again.dtype == "float64" and len(again.variables) == 4


def _rank_auc(y, s):
    """Exact ROC AUC: probability a random positive outranks a random negative (ties count half)."""
    pos, neg = s[y == 1], s[y == 0]
    return (np.sum(pos[:, None] > neg[None]) + 0.5 * np.sum(pos[:, None] == neg[None])) / (pos.size * neg.size)


def test_auc_converges_to_exact_rank_auc():
    y = RNG.integers(0, 2, size=500)
    s = np.clip(RNG.normal(0.35 + 0.3 * y, 0.2), 0, 1)
    m = M.AUC(num_thresholds=20001)
    m.update_state(y[:250], s[:250])
    m.update_state(y[250:], s[250:])
    close(m.result(), _rank_auc(y, s), 1e-4)
    default = M.AUC()(y, s)
    close(default, _rank_auc(y, s), 5e-3)


# -- (5) F-scores -------------------------------------------------------------------------------------------
FY = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [1, 0, 0], [0, 0, 1]]
FP = [[0.9, 0.1, 0], [0.2, 0.6, 0.2], [0, 0, 1], [0.4, 0.3, 0.3], [0, 0.9, 0.1], [0, 0, 1]]


@pytest.mark.parametrize("average,beta,sw,want", [
    (None, 0.5, None, [0.9090904, 0.555556, 1.0]), (None, 1.0, None, [0.8, 0.6666667, 1.0]),
    (None, 2.0, None, [0.71428573, 0.833334, 1.0]), ("micro", 1.0, None, 0.833334),
    ("macro", 0.5, None, 0.821549), ("macro", 2.0, None, 0.849206), ("weighted", 0.5, None, 0.880471),
    ("weighted", 1.0, None, 0.844445), ("weighted", 2.0, None, 0.829365),
    (None, 0.5, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], [0.9375, 0.714286, 1.0]),
    (None, 2.0, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0]), ("micro", 2.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.9),
    ("macro", 1.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.885714),
    ("weighted", 2.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.897608),
])
def test_fbeta_keras_values(average, beta, sw, want):
    m = M.FBetaScore(average=average, beta=beta)
    m.update_state(FY, FP, sw)
    close(m.result(), want, 1e-5)


@pytest.mark.parametrize("average,beta,want", [
    (None, 0.5, [0.71428573, 0.5, 0.833334]), (None, 2.0, [0.9090904, 0.5, 0.555556]), ("micro", 0.5, 0.6666667),
    ("macro", 1.0, 0.6555555), ("weighted", 2.0, 0.6548822),
])
def test_fbeta_with_threshold_keras_values(average, beta, want):
    m = M.FBetaScore(average=average, beta=beta, threshold=0.66)
    m.update_state([[0, 0, 1], [1, 1, 0], [1, 1, 1]], [[0.7, 0.7, 0.7], [1, 0, 0], [0.9, 0.8, 0]])
    close(m.result(), want, 1e-5)


def test_f1_matches_hand_counts_and_validates_arguments():
    y = np.eye(4)[RNG.integers(0, 4, size=60)]
    p = RNG.random((60, 4))
    pred = np.eye(4)[p.argmax(-1)]
    tp, fp, fn = (pred * y).sum(0), (pred * (1 - y)).sum(0), ((1 - pred) * y).sum(0)
    f1 = 2 * tp / (2 * tp + fp + fn)
    m = M.F1Score()
    m.update_state(y[:30], p[:30])
    m.update_state(y[30:], p[30:])
    close(m.result(), f1, 1e-5)
    close(M.F1Score(average="macro")(y, p), f1.mean(), 1e-5)
    close(M.F1Score(average="micro")(y, p), (pred * y).sum() / len(y), 1e-5)
    assert "beta" not in M.F1Score().get_config()
    with pytest.raises(ValueError, match="Invalid `average` argument value"):
        M.FBetaScore(average="invalid_average")
    with pytest.raises(ValueError, match="It should be a Python float"):
        M.FBetaScore(beta=1)
    with pytest.raises(ValueError, match="It should be > 0"):
        M.FBetaScore(beta=0.0)
    with pytest.raises(ValueError, match="0 < threshold <= 1"):
        M.FBetaScore(threshold=1.1)
    with pytest.raises(ValueError, match="expects 2D inputs"):
        M.FBetaScore()(np.zeros((2, 3, 4)), np.zeros((2, 3, 4)))


# -- (6) get / resolve / config -----------------------------------------------------------------------------
def test_resolve_accuracy_follows_keras_rule():
    assert isinstance(M.resolve_accuracy((32, 1), (32, 1)), M.BinaryAccuracy)
    assert isinstance(M.resolve_accuracy((32,), (32, 1)), M.BinaryAccuracy)
    assert isinstance(M.resolve_accuracy((32, 5), (32, 5), loss="binary_crossentropy"), M.BinaryAccuracy)
    assert isinstance(M.resolve_accuracy((32, 5), (32, 5), loss=L.BinaryCrossentropy()), M.BinaryAccuracy)
    assert isinstance(M.resolve_accuracy((32, 5), (32, 5), loss=L.binary_crossentropy), M.BinaryAccuracy)
    assert isinstance(M.resolve_accuracy((32,), (32, 10)), M.SparseCategoricalAccuracy)
    assert isinstance(M.resolve_accuracy((32, 1), (32, 10)), M.SparseCategoricalAccuracy)
    assert isinstance(M.resolve_accuracy((None, 7), (None, 7, 10)), M.SparseCategoricalAccuracy)
    assert isinstance(M.resolve_accuracy((32, 10), (32, 10), loss="categorical_crossentropy"), M.CategoricalAccuracy)
    acc = M.resolve("acc", (32,), (32, 10), "sparse_categorical_crossentropy")
    assert acc.name == "acc" and isinstance(acc, M.SparseCategoricalAccuracy)
    ce = M.resolve("crossentropy", (32,), (32, 10), L.SparseCategoricalCrossentropy(from_logits=True))
    assert isinstance(ce, M.SparseCategoricalCrossentropy) and ce.from_logits and ce.name == "crossentropy"
    assert isinstance(M.resolve("ce", (32, 1), (32, 1)), M.BinaryCrossentropy)
    with pytest.raises(ValueError, match="shapes"):
        M.resolve("accuracy")


def test_get_names_classes_and_errors():
    for name, cls in (("mse", M.MeanSquaredError), ("mae", M.MeanAbsoluteError),
                      ("mape", M.MeanAbsolutePercentageError),
                      ("auc", M.AUC), ("precision", M.Precision), ("recall", M.Recall), ("f1_score", M.F1Score),
                      ("binary_accuracy", M.BinaryAccuracy), ("root_mean_squared_error", M.RootMeanSquaredError),
                      ("sparse_top_k_categorical_accuracy", M.SparseTopKCategoricalAccuracy),
                      ("binary_crossentropy", M.BinaryCrossentropy), ("accuracy", M.Accuracy)):
        m = M.get(name)
        assert isinstance(m, cls) and m.name == name
    assert isinstance(M.get("AUC"), M.AUC) and M.get("AUC").name == "auc"
    assert isinstance(M.get(M.Recall), M.Recall)
    r = M.Recall()
    assert M.get(r) is r and M.get(None) is None
    wrapped = M.get(lambda yt, yp: np.abs(np.asarray(yt) - np.asarray(yp)))
    close(wrapped([1.0, 2.0], [1.0, 4.0]), 1.0)
    with pytest.raises(ValueError, match="sparse_categorical_accuracy"):
        M.get("sparse_categorical_acuracy")
    with pytest.raises(ValueError, match="Unknown metric"):
        M.get("definitely_not_a_metric")
    with pytest.raises(ValueError, match="Unknown metric"):
        M.deserialize({"class_name": "builtins.eval", "config": {}})


@pytest.mark.parametrize("make", [
    lambda: M.Mean(name="m"), lambda: M.Sum(), lambda: M.Accuracy(), lambda: M.BinaryAccuracy(threshold=0.3),
    lambda: M.CategoricalAccuracy(), lambda: M.SparseCategoricalAccuracy(), lambda: M.TopKCategoricalAccuracy(k=3),
    lambda: M.SparseTopKCategoricalAccuracy(k=2), lambda: M.Precision(thresholds=[0.3, 0.6]),
    lambda: M.Recall(top_k=2), lambda: M.AUC(curve="PR"), lambda: M.AUC(thresholds=[0.3, 0.5]),
    lambda: M.F1Score(average="weighted", threshold=0.4), lambda: M.FBetaScore(beta=2.0),
    lambda: M.MeanSquaredError(), lambda: M.RootMeanSquaredError(), lambda: M.CosineSimilarity(axis=-1),
    lambda: M.SparseCategoricalCrossentropy(from_logits=True), lambda: M.CategoricalCrossentropy(label_smoothing=0.1),
    lambda: M.MeanMetricWrapper(L.huber, name="h", delta=0.5),
])
def test_metric_config_roundtrip(make):
    m = make()
    cfg = m.get_config()
    assert json.loads(json.dumps(cfg)) == cfg
    again = M.deserialize(M.serialize(m))
    assert type(again) is type(m) and again.get_config() == cfg
