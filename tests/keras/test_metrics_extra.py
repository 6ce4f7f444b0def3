"""IoU family, R2Score, Pearson / concordance correlation and the "X at fixed Y" metrics against Keras 3.15.1,
plus compile/fit/evaluate and a .keras round trip with the new losses and metrics.

Every literal expected value below was printed by Keras 3.15.1 (TensorFlow backend) for the same inputs, after
each ``update_state`` of a multi-batch sequence.
"""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import losses as L
from tapeflow.keras import metrics as M


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=tol, atol=tol)


def run(m, batches):
    """The metric's result after each batch (tuples of y_true, y_pred[, sample_weight])."""
    out = []
    for b in batches:
        m.update_state(b[0], b[1], sample_weight=b[2] if len(b) > 2 else None)
        out.append(np.asarray(m.result()).tolist())
    return out


IT1, IP1 = np.array([0, 1, 2, 2, 1, 0]), np.array([0, 2, 2, 1, 1, 1])
IT2, IP2 = np.array([[2, 2], [0, 1]]), np.array([[2, 0], [0, 1]])
P3 = np.array([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]])
BT, BP = np.array([0, 1, 0, 1, 1, 0]), np.array([0.1, 0.9, 0.6, 0.4, 0.5, 0.2])
OT = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]])
OP = np.array([[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]])
RT = np.array([[1., 2.], [3., 1.5], [2., 3.5], [5., 0.5], [4., 2.]])
RP = np.array([[1.2, 2.5], [2.5, 1.0], [2.2, 3.0], [4.3, 1.5], [4.1, 2.2]])
CT = np.array([[1., 2., 3., 4.], [2., 1., 0.5, 3.], [0., 1., 0., 2.]])
CQ = np.array([[1.1, 2.3, 2.9, 4.5], [1.5, 1.2, 0.1, 2.5], [0.5, 0.2, 0.3, 1.7]])
ST = np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 0])
SP = np.array([0.12, 0.83, 0.41, 0.37, 0.66, 0.58, 0.07, 0.29, 0.94, 0.22])
SSW = np.array([1., 2., 1., 0.5, 1., 1., 3., 1., 1., 2.])


# -- IoU family (Keras 3.15.1 values) ---------------------------------------------------------------------------
def test_iou_keras_values():
    close(run(M.IoU(3, [0, 2]), [(IT1, IP1), (IT2, IP2)]), [0.4166667, 0.45])
    close(run(M.IoU(3, [1]), [(IT1, IP1, np.array([1, 2, 1, 3, 1, 0])), (IT2, IP2)]), [0.1666667, 0.2857143])
    # Keras's integer confusion matrix truncates float weights (0.5 -> 0, 2.7 -> 2)
    close(run(M.IoU(3, [0, 1, 2]), [(IT1, IP1, np.array([0.5, 1.5, 1.0, 2.7, 1.0, 1.0]))]), [0.15])
    close(run(M.IoU(3, [0, 1, 2], ignore_class=2), [(IT1, IP1)]), [0.2777778])
    close(run(M.IoU(3, [0, 1]), [(np.array([0, 1, 5, -1, 1]), np.array([0, 1, 1, 0, 3]))]), [0.9999999])
    close(run(M.IoU(3, [0, 1], sparse_y_pred=False), [(np.array([1, 0, 1, 1]), P3)]), [0.8333333])
    m = M.IoU(3, [0, 2])
    m.update_state(IT1, IP1)
    m.reset_state()
    assert float(m.result()) == 0.0
    close(run(m, [(IT1, IP1)]), [0.4166667])
    assert M.IoU(3, [0, 2], ignore_class=1).get_config() == {
        "name": "io_u", "dtype": "int64", "num_classes": 3, "target_class_ids": [0, 2], "ignore_class": 1,
        "sparse_y_true": True, "sparse_y_pred": True, "axis": -1}
    assert [M.IoU(3, [0]).name, M.MeanIoU(2).name, M.BinaryIoU().name, M.OneHotIoU(3, [1]).name] == [
        "io_u", "mean_io_u", "binary_io_u", "one_hot_io_u"]


def test_mean_binary_and_one_hot_iou_keras_values():
    close(run(M.MeanIoU(3), [(IT1, IP1), (IT2, IP2, np.array([[1, 0], [2, 1]]))]), [0.3611111, 0.55])
    close(run(M.MeanIoU(3, ignore_class=0), [(IT1, IP1)]), [0.3333333])
    assert M.MeanIoU(3).get_config() == {"num_classes": 3, "name": "mean_io_u", "dtype": "int64",
                                         "ignore_class": None, "sparse_y_true": True, "sparse_y_pred": True, "axis": -1}
    close(run(M.BinaryIoU(), [(BT, BP), (BT[:3], BP[:3][::-1])]), [0.5, 0.5])
    close(run(M.BinaryIoU(target_class_ids=[1], threshold=0.3), [(BT, BP, np.array([1, 2, 1, 1, 0, 1]))]), [0.75])
    close(run(M.BinaryIoU(target_class_ids=[0]), [(BT, BP)]), [0.4999999])
    assert M.BinaryIoU(target_class_ids=[1], threshold=0.3).get_config() == {
        "target_class_ids": [1], "threshold": 0.3, "name": "binary_io_u", "dtype": "int64"}
    close(run(M.OneHotIoU(3, [0, 2]), [(OT, OP), (OT[:2], OP[::-1][:2])]), [0.1666667, 0.375])
    close(run(M.OneHotIoU(3, [1, 2]), [(OT, OP, np.array([1, 2, 1, 3]))]), [0.0833333])
    close(run(M.OneHotIoU(3, [0, 2], sparse_y_pred=True), [(OT, np.array([2, 0, 0, 1]))]), [0.6666666])
    assert M.OneHotIoU(3, [0, 2]).get_config() == {
        "num_classes": 3, "target_class_ids": [0, 2], "name": "one_hot_io_u", "dtype": "int64",
        "ignore_class": None, "sparse_y_pred": False, "axis": -1}
    close(run(M.OneHotMeanIoU(3), [(OT, OP), (OT[:2], OP[::-1][:2])]), [0.1111111, 0.25])
    assert M.OneHotMeanIoU(3).get_config() == {"num_classes": 3, "name": "one_hot_mean_io_u", "dtype": "int64",
                                               "ignore_class": None, "sparse_y_pred": False, "axis": -1}


# -- R2 and correlations (Keras 3.15.1 values) ------------------------------------------------------------------
def test_r2_score_keras_values():
    close(run(M.R2Score(), [(RT[:3], RP[:3]), (RT[3:], RP[3:])]), [0.7444232, 0.7680745])
    close(run(M.R2Score(class_aggregation="variance_weighted_average"), [(RT, RP)]), [0.8217687])
    close(run(M.R2Score(class_aggregation=None), [(RT, RP)]), [[0.917, 0.619149]])
    close(run(M.R2Score(), [(RT, RP, np.array([1., 2., 0.5, 1., 3.]))]), [0.6616347])
    sw2 = np.array([[1., 0.], [2., 1.], [0.5, 1.], [1., 1.], [3., 2.]])
    close(run(M.R2Score(class_aggregation=None), [(RT, RP, sw2)]), [[0.8987501, 0.6638298]])
    close(run(M.R2Score(num_regressors=1), [(RT, RP)]), [0.7390838])
    assert M.R2Score(num_regressors=1).get_config() == {"name": "r2_score", "dtype": "float32",
                                                        "class_aggregation": "uniform_average", "num_regressors": 1}
    with pytest.raises(ValueError, match=r"r2_score.*2D inputs.*\(5,\)"):
        M.R2Score().update_state(RT[:, 0], RP[:, 0])


def test_correlation_keras_values():
    close(M.pearson_correlation(CT, CQ), [0.9859006, 0.954925, 0.7894142])
    close(M.pearson_correlation(CT, CQ, axis=0), [0.9933993, 0.8794395, 0.9758452, 0.9707253])
    close(run(M.PearsonCorrelation(), [(CT[:2], CQ[:2]), (CT[2:], CQ[2:])]), [0.9704128, 0.91008])
    close(run(M.PearsonCorrelation(), [(CT, CQ, np.array([1., 0.5, 2.]))]), [0.8691975])
    close(run(M.PearsonCorrelation(axis=0), [(CT, CQ)]), [0.9548523])
    assert M.PearsonCorrelation(axis=0).get_config() == {"name": "pearson_correlation", "dtype": "float32", "axis": 0}
    close(M.concordance_correlation(CT, CQ), [0.9677419, 0.8996415, 0.7464454])
    close(M.concordance_correlation(CT, CQ, axis=0), [0.7968127, 0.7347875, 0.974155, 0.9046849])
    close(run(M.ConcordanceCorrelation(), [(CT[:2], CQ[:2]), (CT[2:], CQ[2:])]), [0.9336917, 0.8712763])
    close(run(M.ConcordanceCorrelation(), [(CT, CQ, np.array([1., 0.5, 2.]))]), [0.8315582])
    assert M.ConcordanceCorrelation().get_config() == {"name": "concordance_correlation", "dtype": "float32",
                                                       "axis": -1}


# -- X at fixed Y (Keras 3.15.1 values) -------------------------------------------------------------------------
@pytest.mark.parametrize("cls,value,arg,default,nt7_sw,nt1,v1,class0", [
    (M.PrecisionAtRecall, 0.7, "recall", [1.0, 0.8], 0.7692308, 0.0, 0.7142857, 0.8),
    (M.RecallAtPrecision, 0.6, "precision", [1.0, 1.0], 1.0, 0.6, 0.6, 1.0),
    (M.SensitivityAtSpecificity, 0.6, "specificity", [1.0, 1.0], 0.8333333, 0.6, 0.6, 1.0),
    (M.SpecificityAtSensitivity, 0.7, "sensitivity", [1.0, 0.8], 0.8, 0.0, 0.6, 0.8),
])
def test_at_constraint_keras_values(cls, value, arg, default, nt7_sw, nt1, v1, class0):
    close(run(cls(value), [(ST[:5], SP[:5]), (ST[5:], SP[5:])]), default)
    close(run(cls(value, num_thresholds=7), [(ST, SP, SSW)]), [nt7_sw])
    close(run(cls(value, num_thresholds=1), [(ST, SP)]), [nt1])
    close(run(cls(1.0), [(ST, SP)]), [v1])
    close(run(cls(value, class_id=0), [(np.stack([1 - ST, ST], 1), np.stack([1 - SP, SP], 1))]), [class0])
    m = cls(value, num_thresholds=7)
    run(m, [(ST, SP)])
    m.reset_state()
    assert float(m.result()) == 0.0
    close(run(m, [(ST, SP, SSW)]), [nt7_sw])
    snake = {"recall": "precision_at_recall", "precision": "recall_at_precision",
             "specificity": "sensitivity_at_specificity", "sensitivity": "specificity_at_sensitivity"}[arg]
    assert cls(value, num_thresholds=7, class_id=1).get_config() == {
        "name": snake, "dtype": "float32", "class_id": 1, "num_thresholds": 7, arg: value}
    with pytest.raises(ValueError, match=rf"{snake}.*`{arg}`.*\[0, 1\].*1.5"):
        cls(1.5)
    with pytest.raises(ValueError, match=rf"{snake}.*`num_thresholds`.*> 0.*0"):
        cls(value, num_thresholds=0)


# -- names, configs, errors -----------------------------------------------------------------------------------
def test_names_resolve_where_keras_resolves_them_and_configs_round_trip():
    assert type(M.get("r2_score")) is M.R2Score
    assert type(M.get("pearson_correlation")) is M.PearsonCorrelation
    assert type(M.get("ConcordanceCorrelation")) is M.ConcordanceCorrelation
    assert type(M.get("BinaryIoU")) is M.BinaryIoU
    with pytest.raises(ValueError, match="Unknown metric 'iou'"):
        M.get("iou")
    for m in [M.IoU(4, [1, 3], ignore_class=0, dtype="float32"), M.BinaryIoU([1], 0.3), M.MeanIoU(3, axis=1),
              M.OneHotIoU(3, [2]), M.OneHotMeanIoU(2), M.R2Score(None, 2), M.PearsonCorrelation(axis=0),
              M.ConcordanceCorrelation(), M.PrecisionAtRecall(0.3, 5, 1), M.SpecificityAtSensitivity(0.2)]:
        back = M.deserialize(M.serialize(m))
        assert type(back) is type(m) and back.get_config() == m.get_config()


def test_float_dtype_keeps_fractional_weights():
    m = M.IoU(3, [0, 1, 2], dtype="float32")
    m.update_state(IT1, IP1, sample_weight=np.array([0.5, 1.5, 1.0, 2.7, 1.0, 1.0]))
    cm = m.total_cm.numpy()
    assert cm[0, 0] == 0.5 and cm[2, 1] == 2.7


def test_bad_arguments_name_the_metric_and_argument():
    with pytest.raises(ValueError, match=r"io_u.*target class ids \[3\].*\[0, 3\)"):
        M.IoU(3, [3])
    with pytest.raises(ValueError, match=r"mean_io_u.*`num_classes`.*>= 1.*0"):
        M.MeanIoU(0)
    with pytest.raises(ValueError, match=r"r2_score.*`class_aggregation`.*'mean'"):
        M.R2Score(class_aggregation="mean")
    with pytest.raises(ValueError, match=r"r2_score.*`num_regressors`.*-1"):
        M.R2Score(num_regressors=-1)
    with pytest.raises(ValueError, match=r"io_u.*same number of labels.*6 and 5"):
        M.IoU(3, [0]).update_state(IT1, IP1[:5])
    with pytest.raises(ValueError, match=r"pearson_correlation.*same shape"):
        M.pearson_correlation(CT, CQ[:, :3])


# -- in a model ---------------------------------------------------------------------------------------------
def _model():
    tf.keras.utils.set_random_seed(0)
    m = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(8, activation="relu"),
                             tf.keras.layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer=tf.keras.optimizers.Adam(0.05), loss=L.Dice(axis=-1),
              metrics=[M.BinaryIoU(target_class_ids=[1], threshold=0.5), M.PrecisionAtRecall(0.5), "r2_score",
                       M.PearsonCorrelation(axis=0)])
    return m


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, :1] + 0.5 * x[:, 1:2] > 0).astype("float32")
    return x, y


def test_compile_fit_evaluate_with_new_loss_and_metrics():
    x, y = _data()
    m = _model()
    hist = m.fit(x, y, batch_size=16, epochs=8, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    res = m.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    for key in ["loss", "binary_io_u", "precision_at_recall", "r2_score", "pearson_correlation"]:
        assert key in res and np.isfinite(res[key])
    p = m.predict(x, verbose=0)
    ref = M.BinaryIoU(target_class_ids=[1])
    ref.update_state(y, p)
    close(res["binary_io_u"], float(ref.result()), 1e-5)
    assert res["binary_io_u"] > 0.5


def test_keras_file_round_trip_with_new_loss_and_metrics(tmp_path):
    x, y = _data()
    m = _model()
    m.fit(x, y, batch_size=16, epochs=2, verbose=0)
    before = m.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    m.save(tmp_path / "m.keras")
    m2 = tf.keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(m2.loss, L.Dice) and m2.loss.axis == -1
    after = m2.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert set(after) == set(before)
    for k in before:
        close(after[k], before[k], 1e-5)
