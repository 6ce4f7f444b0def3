"""Adafactor, Muon, LossScaleOptimizer and ScheduleFreeAdamW against Keras 3.15.1, step for step.

Trajectories come from tests/fixtures/keras3_optimizers_extra.npz (written by
tests/fixtures/make_keras3_optimizers_extra.py with the real Keras): 6 steps on fixed random gradients for
variables of rank 1, 2 (and 3), compared after every step, variables and optimizer slots, at float32 tolerance.
"""
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import optimizers as O

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras3_optimizers_extra.npz")
RTOL, ATOL = 1e-5, 1e-6


@pytest.fixture(scope="module")
def ref():
    with np.load(FIXTURE, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def make_optimizer(case):  # the same arguments as the generator's
    if case == "adafactor":
        return O.Adafactor(learning_rate=0.5)
    if case == "adafactor_fixed":
        return O.Adafactor(learning_rate=0.2, relative_step=False, clip_threshold=0.5, beta_2_decay=-0.5,
                           epsilon_2=1e-2)
    if case == "muon":
        return O.Muon(learning_rate=0.05, exclude_layers=["skip"])
    if case == "muon_plain":
        return O.Muon(learning_rate=0.05, nesterov=False, rms_rate=None, weight_decay=None, adam_lr_ratio=0.5,
                      ns_steps=3, momentum=0.9, adam_weight_decay=0.01)
    if case == "loss_scale":
        return O.LossScaleOptimizer(O.Adam(learning_rate=0.1), initial_scale=16.0, dynamic_growth_steps=2)
    if case == "schedule_free":
        return O.ScheduleFreeAdamW(learning_rate=0.05, warmup_steps=3, weight_decay=0.01)
    raise KeyError(case)


CASES = ["adafactor", "adafactor_fixed", "muon", "muon_plain", "loss_scale", "schedule_free"]


def _names(ref, case, prefix):
    return [k[len(prefix):] for k in ref if k.startswith(prefix)]


def _close(a, b, what):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=RTOL, atol=ATOL,
                               err_msg=what)


@pytest.mark.parametrize("case", CASES)
def test_matches_keras_step_for_step(ref, case):
    names = _names(ref, case, f"{case}/init/")
    vs = [tf.Variable(ref[f"{case}/init/{n}"], name=n) for n in names]
    opt = make_optimizer(case)
    knames = [str(s).split("/", 1)[1] for s in ref[f"{case}/optnames"]]
    steps = ref[f"{case}/var/{names[0]}"].shape[0]
    for step in range(steps):
        opt.apply_gradients([(ref[f"{case}/grad/{n}"][step], v) for n, v in zip(names, vs)])
        for n, v in zip(names, vs):
            _close(v.numpy(), ref[f"{case}/var/{n}"][step], f"{case} step {step + 1} variable {n}")
        if case == "loss_scale":  # Keras: [iteration, learning_rate, step_counter, dynamic_scale, inner...]
            own = {"step_counter": opt.step_counter, "dynamic_scale": opt.dynamic_scale}
            for k, kn in enumerate(knames[:4]):
                if kn in own:
                    _close(own[kn].numpy(), ref[f"{case}/opt/{k}"][step], f"step {step + 1} {kn}")
            by_name = {str(v.name).rsplit("/", 1)[-1]: v for v in opt.inner_optimizer.variables}
            ovars = [by_name[kn.rsplit("/", 1)[-1]] for kn in knames[4:]]  # tapeflow's Adam: m's, then v's
            krange = range(4, len(knames))
        else:
            ovars, krange = opt.variables, range(len(knames))
            assert [str(v.name).split("/", 1)[1] for v in ovars] == knames
        assert len(ovars) == len(krange)
        for v, k in zip(ovars, krange):
            _close(v.numpy(), ref[f"{case}/opt/{k}"][step], f"{case} step {step + 1} slot {knames[k]}")


def test_loss_scale_skips_non_finite_step_and_regrows(ref):
    scales = ref["loss_scale/opt/3"]           # Keras's dynamic_scale after each step
    assert scales.tolist() == [16.0, 32.0, 16.0, 16.0, 32.0, 32.0]  # grow after 2, halve on the Inf at step 3
    opt = O.LossScaleOptimizer(O.SGD(1.0), initial_scale=8.0)
    assert float(opt.scale_loss(tf.constant(2.0))) == 16.0


def test_schedule_free_keeps_previous_z_beta_1_matters():
    def run(beta_1):
        w = tf.Variable([1.0, 2.0])
        opt = O.ScheduleFreeAdamW(learning_rate=0.1, beta_1=beta_1)
        for _ in range(3):
            opt.apply_gradients([(tf.constant([0.5, -1.0]), w)])
        return w.numpy()
    np.testing.assert_allclose(run(0.9), [0.79, 2.21], rtol=1e-5)   # the paper's interpolation
    assert not np.allclose(run(0.9), run(0.5))


def test_muon_routes_variables_like_keras():
    opt = O.Muon(exclude_layers=["head"])
    for shape, name, adam in [((3, 2), "dense/kernel", False), ((2,), "dense/bias", True),
                              ((3, 3, 2), "conv/kernel", True), ((5, 4), "embedding/embeddings", True),
                              ((4, 2), "head/kernel", True)]:
        v = tf.Variable(np.zeros(shape, np.float32), name=name)
        assert opt._should_use_adamw(v) is adam, name


@pytest.mark.parametrize("cls, kwargs, match", [
    (O.Adafactor, {"clip_threshold": 0.0}, r"Adafactor: `clip_threshold` must be a number > 0.*clip_threshold=0"),
    (O.Adafactor, {"beta_2_decay": 0.5}, r"Adafactor: `beta_2_decay` must be a number < 0"),
    (O.Muon, {"ns_steps": 2.5}, r"Muon: `ns_steps` must be an integer >= 0.*ns_steps=2.5"),
    (O.Muon, {"exclude_layers": "head"}, r"Muon: `exclude_layers` must be a list of strings"),
    (O.ScheduleFreeAdamW, {"beta_1": 0.0}, r"ScheduleFreeAdamW: `beta_1` must be in \(0, 1\]"),
    (O.ScheduleFreeAdamW, {"warmup_steps": -1}, r"ScheduleFreeAdamW: `warmup_steps` must be an integer >= 0"),
])
def test_bad_arguments_name_optimizer_and_argument(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize("case", CASES)
def test_config_round_trip(case):
    opt = make_optimizer(case)
    cfg = opt.get_config()
    again = type(opt).from_config(cfg)
    assert again.get_config() == cfg
    back = O.deserialize(O.serialize(opt))
    assert type(back) is type(opt) and back.get_config() == cfg


@pytest.mark.parametrize("name", ["adafactor", "muon", "schedulefreeadamw"])
def test_string_names_resolve(name):
    assert type(O.get(name)).__name__.lower() == name


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype("float32")
    y = (x @ rng.standard_normal((4, 1)) + 0.1).astype("float32")
    return x, y


def _model():
    tf.random.set_seed(1)
    return tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(8, activation="tanh"),
                                tf.keras.layers.Dense(1)])


OPTIMIZERS = {
    "adafactor": lambda: O.Adafactor(learning_rate=0.05),
    "muon": lambda: O.Muon(learning_rate=0.02),
    "loss_scale": lambda: O.LossScaleOptimizer(O.Adam(0.02), initial_scale=64.0, dynamic_growth_steps=3),
    "schedule_free": lambda: O.ScheduleFreeAdamW(learning_rate=0.02),
}


@pytest.mark.parametrize("case", list(OPTIMIZERS))
def test_fit_lowers_loss_and_keras_file_restores_optimizer(tmp_path, case):
    x, y = _data()
    m = _model()
    m.compile(optimizer=OPTIMIZERS[case](), loss="mse")
    hist = m.fit(x, y, epochs=8, batch_size=16, verbose=0).history["loss"]
    assert hist[-1] < 0.7 * hist[0], hist
    path = tmp_path / f"{case}.keras"
    m.save(path)
    m2 = tf.keras.models.load_model(path)
    assert type(m2.optimizer) is type(m.optimizer)
    assert m2.optimizer.get_config() == m.optimizer.get_config()
    w1, w2 = m.optimizer.get_weights(), m2.optimizer.get_weights()
    assert len(w1) == len(w2) and all(np.array_equal(a, b) for a, b in zip(w1, w2))
    m.train_on_batch(x[:16], y[:16])
    m2.train_on_batch(x[:16], y[:16])  # resumed state: the next step is the same step
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
