"""Dice, Tversky, Circle, CategoricalGeneralizedCrossEntropy and CTC against Keras 3.15.1.

Every literal expected value below was printed by Keras 3.15.1 (TensorFlow backend) for the same inputs;
gradients are checked with float64 central differences, CTC also against torch.nn.functional.ctc_loss.
"""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.debug import check_gradients
from tapeflow.keras import losses as L
from _oracle import require_torch


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=tol, atol=tol)


# -- inputs (the same arrays were given to Keras 3.15.1) -------------------------------------------------------
DT = np.array([[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]])
DP = np.array([[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]])
YT2 = np.array([[1., 0., 1., 1.], [0., 1., 1., 0.], [1., 1., 0., 0.]])
YP2 = np.array([[0.9, 0.2, 0.6, 0.3], [0.1, 0.8, 0.4, 0.3], [0.7, 0.5, 0.2, 0.1]])
SW = np.array([1.0, 2.0, 0.5])
E = np.array([[0.1865, -0.196, 0.95, 0.1556], [-0.3085, 0.2082, 0.751, 0.5454],
              [-0.4463, -0.8025, -0.3952, 0.0262], [-0.8466, -0.0797, -0.4537, -0.2666],
              [-0.4234, -0.2461, 0.3202, 0.811], [-0.0821, 0.873, -0.425, 0.2246]])
LAB = np.array([0, 1, 0, 2, 1, 3])
GT = np.array([0, 1, 0, 1])
GP = np.array([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4], [0.4, 0.6]])
CT = np.array([[1, 2, 2], [3, 1, 0]])
CP = np.array([[[0.9035, 0.094, -0.7435, -0.9217], [-0.4577, 0.2202, -1.0096, -0.2092],
                [-0.1592, 0.5408, 0.2147, 0.3554], [-0.6538, -0.1296, 0.784, 1.4934],
                [-1.2591, 1.5139, 1.3459, 0.7813]],
               [[0.2645, -0.3139, 1.458, 1.9603], [1.8016, 1.3151, 0.3574, -1.2083],
                [-0.0045, 0.6565, -1.2884, 0.3951], [0.4299, 0.696, -1.1841, -0.6617],
                [-0.4364, -1.1698, 1.7394, -0.4959]]])



# -- values printed by Keras 3.15.1 -----------------------------------------------------------------------------
def test_dice_keras_values():
    close(L.Dice(axis=(1, 2, 3), reduction=None)(DT, DP), [0.5, 0.7575758099555969])
    close(L.Dice()(DT, DP), 0.6164383888244629)
    close(L.dice(DT, DP, axis=(1, 2, 3)), [0.5, 0.7575758])
    close(L.Dice(axis=-1)(YT2, YP2, sample_weight=SW), 0.36793649196624756)
    close(L.Dice(axis=-1, reduction="sum")(YT2, YP2), 0.9276189804077148)
    close(L.Dice(axis=-1, reduction="mean_with_sample_weight")(YT2, YP2, sample_weight=SW), 0.31537410616874695)
    # axis=None: one value for the batch, which per-sample weights scale once per sample (Keras broadcasts them)
    close(L.Dice()(YT2, YP2, sample_weight=SW), 0.35674938559532166)
    close(L.Dice(reduction="sum")(YT2, YP2, sample_weight=SW), 1.0702481269836426)
    assert L.Dice(axis=(1, 2)).get_config() == {"name": "dice", "reduction": "sum_over_batch_size", "axis": (1, 2)}


def test_tversky_keras_values():
    close(L.Tversky()(DT, DP), 0.6164383888244629)  # alpha = beta = 0.5 is Dice
    close(L.Tversky(alpha=0.3, beta=0.7, axis=(1, 2, 3), reduction=None)(DT, DP), [0.5, 0.7350993156433105])
    close(L.Tversky(alpha=0.7, beta=0.3, axis=-1)(YT2, YP2, sample_weight=SW), 0.4108043909072876)
    close(L.tversky(YT2, YP2, alpha=0.2, beta=0.8, axis=-1), [0.1818182, 0.2857143, 0.25])
    assert L.Tversky(alpha=0.3, beta=0.7, axis=-1).get_config() == {
        "name": "tversky", "reduction": "sum_over_batch_size", "alpha": 0.3, "beta": 0.7, "axis": -1}


def test_circle_keras_values():
    close(L.Circle()(LAB, E), 76.3927993774414, 1e-4)
    close(L.Circle(reduction=None)(LAB, E), [148.23751831054688, 18.121871948242188, 139.21157836914062, 0.0,
                                             0.0002496000088285655, 0.0], 1e-4)
    close(L.Circle(gamma=10.0, margin=0.25)(LAB, E), 11.507054328918457)
    close(L.Circle(gamma=10.0, margin=0.25, reduction=None)(LAB, E),
          [20.54231834411621, 4.263543128967285, 19.479637145996094, 0.0, 1.742721438407898, 0.0])
    close(L.Circle(gamma=5.0, remove_diagonal=False, reduction=None)(LAB, E),
          [9.720014572143555, 2.1169791221618652, 9.294214248657227, 1.2450153827667236, 1.3153241872787476,
           0.9329748153686523])
    close(L.Circle(gamma=10.0)(LAB, E, sample_weight=np.array([1., 2., 3., 1., 0.5, 1.])), 19.12651252746582)
    close(L.Circle(gamma=10.0, reduction="sum")(LAB[:, None], E), 39.1526985168457)
    close(L.circle(LAB[:4], E[:4], ref_labels=LAB, ref_embeddings=E, gamma=10, remove_diagonal=False),
          [18.6345839, 2.816436, 17.604938, 1.1426727])
    assert L.Circle().get_config() == {"name": "circle", "reduction": "sum_over_batch_size", "gamma": 80.0,
                                       "margin": 0.4, "remove_diagonal": True}


def test_generalized_cross_entropy_keras_values():
    close(L.CategoricalGeneralizedCrossEntropy()(GT, GP), 0.3598597049713135)
    close(L.CategoricalGeneralizedCrossEntropy(q=0.7, reduction=None)(GT, GP),
          [0.3156343996524811, 0.2065889984369278, 0.42947399616241455, 0.42947399616241455])
    gce_sum = L.CategoricalGeneralizedCrossEntropy(q=0.3, reduction="sum")
    close(gce_sum(GT, GP, sample_weight=np.array([1., 0., 2., 1.])), 1.7590831518173218)
    close(L.categorical_generalized_cross_entropy(np.array([2, 0, 1]), np.array(
        [[0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [0.3, 0.3, 0.4]]), q=0.5), [0.3266799, 0.5857864, 0.9045549])
    # labels of shape (batch, 1) are the same labels (Keras 3.15.1 broadcasts them to a (batch, batch) result)
    close(L.CategoricalGeneralizedCrossEntropy(q=0.7, reduction=None)(GT[:, None], GP),
          [0.3156343996524811, 0.2065889984369278, 0.42947399616241455, 0.42947399616241455])
    assert L.CategoricalGeneralizedCrossEntropy(q=0.4).get_config() == {
        "name": "categorical_generalized_cross_entropy", "reduction": "sum_over_batch_size", "q": 0.4}


def test_ctc_keras_values():
    close(L.CTC(reduction=None)(CT, CP), [5.870596885681152, 3.678405523300171])
    close(L.CTC()(CT, CP), 4.774501323699951)
    close(L.CTC(reduction="sum")(CT, CP, sample_weight=np.array([0.5, 2.0])), 10.292110443115234)
    close(L.ctc(CT, CP), [5.8705969, 3.6784058])
    assert L.CTC().get_config() == {"name": "ctc", "reduction": "sum_over_batch_size"}


def test_ctc_matches_torch():
    torch = require_torch()
    logp = torch.log_softmax(torch.tensor(CP, dtype=torch.float64), -1).transpose(0, 1)  # (T, B, C)
    lengths = (CT != 0).sum(-1)
    ref = torch.nn.functional.ctc_loss(logp, torch.tensor(CT), torch.full((2,), 5), torch.tensor(lengths),
                                       blank=0, reduction="none")
    close(L.ctc(CT, CP.astype(np.float64)), ref.numpy(), 1e-10)


# -- gradients (float64 central differences) --------------------------------------------------------------------
def test_loss_gradients_float64():
    rng = np.random.default_rng(3)
    check_gradients(lambda p: L.dice(YT2, p, axis=-1), YP2)
    check_gradients(lambda p: L.dice(DT, p), DP + 0.05)
    check_gradients(lambda p: L.tversky(YT2, p, alpha=0.3, beta=0.7, axis=-1), YP2)
    check_gradients(lambda e: L.circle(LAB, e, gamma=10.0), E)
    check_gradients(lambda e: L.circle(LAB, e, gamma=5.0, remove_diagonal=False), E)
    check_gradients(lambda p: L.categorical_generalized_cross_entropy(GT, p, q=0.7), GP)
    check_gradients(lambda z: L.ctc(CT, z), CP)
    check_gradients(lambda p: L.Dice(axis=-1, dtype="float64")(YT2, p, sample_weight=SW), YP2)
    check_gradients(lambda e: L.Circle(gamma=10.0, dtype="float64")(LAB, e), rng.normal(size=(6, 3)) * 0.5)


def test_losses_train_under_a_tape():
    z = tf.Variable(np.zeros((2, 5, 4), dtype="float32"))
    with tf.GradientTape() as tape:
        loss = L.CTC()(CT, z)
    g = tape.gradient(loss, z)
    assert g.shape == (2, 5, 4) and np.all(np.isfinite(g.numpy()))


# -- names, configs, errors -----------------------------------------------------------------------------------
def test_string_names_and_serialization_round_trip():
    for name, cls in [("dice", L.Dice), ("tversky", L.Tversky), ("circle", L.Circle), ("ctc", L.CTC)]:
        assert L.get(name) is getattr(L, name)
        assert isinstance(L.as_loss(name), cls)
        assert isinstance(L.get(cls.__name__), cls)
    for obj in [L.Dice(axis=(1, 2)), L.Tversky(alpha=0.2, beta=0.8), L.Circle(gamma=3.0, margin=0.1),
                L.CategoricalGeneralizedCrossEntropy(q=0.25), L.CTC(reduction="sum")]:
        back = L.deserialize(L.serialize(obj))
        assert type(back) is type(obj) and back.get_config() == obj.get_config()


def test_bad_arguments_name_the_loss_and_argument():
    with pytest.raises(ValueError, match=r"categorical_generalized_cross_entropy.*`q`.*\(0.*1\).*1.5"):
        L.CategoricalGeneralizedCrossEntropy(q=1.5)
    with pytest.raises(ValueError, match=r"tversky.*`alpha`.*real number"):
        L.Tversky(alpha="x")
    with pytest.raises(ValueError, match=r"dice.*same shape.*\(3, 4\).*\(3, 3\)"):
        L.dice(YT2, YP2[:, :3], axis=-1)
    with pytest.raises(ValueError, match=r"dice.*`axis`.*rank 2.*axis=5"):
        L.dice(YT2, YP2, axis=5)
    with pytest.raises(ValueError, match=r"ctc.*\(batch_size, max_length\).*\(2, 3, 1\)"):
        L.ctc(CT[..., None], CP)
    with pytest.raises(ValueError, match=r"ctc.*num_classes.*\(2, 5\)"):
        L.ctc(CT, CP[..., 0])
    with pytest.raises(ValueError, match=r"ctc.*labels must be in \[0, 4\)"):
        L.ctc(np.array([[1, 7], [1, 0]]), CP)
    with pytest.raises(ValueError, match=r"circle.*one label per embedding"):
        L.circle(LAB[:3], E)
    with pytest.raises(ValueError, match=r"categorical_generalized_cross_entropy.*labels must be in \[0, 2\)"):
        L.categorical_generalized_cross_entropy(np.array([0, 2, 0, 1]), GP, q=0.5)
