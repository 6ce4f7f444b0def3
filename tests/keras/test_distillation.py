"""``keras.distillation`` against Keras 3.15.1 (tests/fixtures/make_keras3_distillation.py writes the numbers):
Distiller's compute_loss parts, evaluate, fit history and the student's final weights for logits, feature and
combined distillation; the frozen teacher; predict; configs; argument errors; gradients against PyTorch."""
import functools
import importlib.util
import json
import os
import warnings

import numpy as np
import pytest

import tapeflow as tf
from _oracle import require, require_torch
from tapeflow.keras import distillation as D

keras = tf.keras
HERE = os.path.join(os.path.dirname(__file__), "..", "fixtures")
JSON, NPZ = os.path.join(HERE, "keras3_distillation.json"), os.path.join(HERE, "keras3_distillation.npz")
require("the Keras 3 distillation fixture", os.path.exists(JSON) and os.path.exists(NPZ),
        "run /tmp/tfenv/bin/python tests/fixtures/make_keras3_distillation.py (needs Keras 3.15.1)")
with open(JSON) as _f:
    K = json.load(_f)
with np.load(NPZ, allow_pickle=False) as _z:
    A = {k: _z[k] for k in _z.files}
_spec = importlib.util.spec_from_file_location("keras3_distillation_pairs",
                                               os.path.join(HERE, "keras3_distillation_pairs.py"))
_pairs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_pairs)
FEATURES, CLASSES, IMAGE = _pairs.FEATURES, _pairs.CLASSES, _pairs.IMAGE


PAIRS = {name: (functools.partial(make, keras), x) for name, (make, x) in _pairs.PAIRS.items()}


def build(pair):
    teacher, student = PAIRS[pair][0]()
    for role, model in (("teacher", teacher), ("student", student)):
        model.set_weights([A[f"init/{pair}/{role}/{i}"] for i in range(len(model.weights))])
    return teacher, student


def scce():
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


KL = keras.losses.KLDivergence
CASES = {  # the generator's cases, with tapeflow's classes
    "logits_default": ("mlp", lambda: D.LogitsDistillation(), None, 0.5, scce, ["accuracy"]),
    "logits_kl_t2": ("mlp", lambda: D.LogitsDistillation(temperature=2.0, loss=KL()), None, 0.5, scce, None),
    "logits_kl_t5_slw0": ("mlp", lambda: D.LogitsDistillation(temperature=5.0, loss=KL()), None, 0.0, scce, None),
    "logits_slw1": ("mlp", lambda: D.LogitsDistillation(temperature=4.0, loss=KL()), None, 1.0, scce, None),
    "logits_cce_t4": ("mlp", lambda: D.LogitsDistillation(
        temperature=4, loss=keras.losses.CategoricalCrossentropy(from_logits=True)), None, 0.25, scce, None),
    "feature_final": ("mlp", lambda: D.FeatureDistillation(), None, 0.3, scce, None),
    "multi": ("mlp", lambda: [D.LogitsDistillation(temperature=2.5, loss=KL()),
                              D.FeatureDistillation(loss="mse", teacher_layer_name="feat", student_layer_name="feat")],
              [1.0, 0.5], 0.5, scce, ["accuracy"]),
    "seq_feature": ("seq", lambda: D.FeatureDistillation(loss="mae", teacher_layer_name="t_feat",
                                                        student_layer_name="s_feat"), None, 0.6, scce, None),
    "cnn_feature": ("cnn", lambda: D.FeatureDistillation(loss="mse", teacher_layer_name="conv_feat",
                                                        student_layer_name="conv_feat"),
                    None, 0.5, lambda: "sparse_categorical_crossentropy", ["accuracy"]),
}


# TensorFlow's softmax_cross_entropy_with_logits back-propagates softmax - labels, which is the gradient only when
# the labels sum to 1; LogitsDistillation hands CategoricalCrossentropy(from_logits=True) the teacher's *logits* / T
# as labels, so Keras-on-TensorFlow trains that case with a wrong gradient (JAX/torch backends and tapeflow use
# softmax * sum(labels) - labels). Its losses are compared; its fit is checked against PyTorch's gradient below.
TF_GRADIENT_DIFFERS = {"logits_cce_t4"}


def make(name):
    pair, losses, weights, slw, student_loss, metrics = CASES[name]
    teacher, student = build(pair)
    distiller = D.Distiller(teacher, student, losses(), distillation_loss_weights=weights, student_loss_weight=slw)
    distiller.compile(optimizer=keras.optimizers.SGD(0.05), loss=student_loss(), metrics=metrics)
    return distiller, A[PAIRS[pair][1]], A["y"]


def close(got, want, what, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want, np.float64), rtol=rtol, atol=atol,
                               err_msg=what)


@pytest.mark.parametrize("name", sorted(CASES))
def test_losses_evaluate_fit_and_weights_equal_keras(name):
    want = K[name]
    distiller, x, y = make(name)
    teacher_before = [w.copy() for w in distiller.teacher.get_weights()]

    distiller.reset_metrics()
    total = distiller.compute_loss(x=x[:8], y=y[:8], y_pred=distiller(x[:8]))
    close(float(total), want["components"]["total"], "compute_loss total")
    close(float(distiller.student_loss_tracker.result()), want["components"]["student_loss"], "student_loss part")
    close(float(distiller.distillation_loss_tracker.result()), want["components"]["distillation_loss"],
          "distillation_loss part")

    logs = distiller.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    assert set(logs) == set(want["evaluate"])
    for key, value in want["evaluate"].items():
        close(logs[key], value, f"evaluate {key}")

    if name in TF_GRADIENT_DIFFERS:
        return
    history = distiller.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    assert set(history) == set(want["history"])
    for key, values in want["history"].items():
        close(history[key], values, f"history {key}")
    for i, w in enumerate(distiller.student.get_weights()):
        close(w, A[f"{name}/student/{i}"], f"student weight {i}")

    for got, before in zip(distiller.teacher.get_weights(), teacher_before):
        np.testing.assert_array_equal(got, before)  # the teacher is frozen
    predicted = distiller.predict(x[:5], verbose=0)
    np.testing.assert_allclose(predicted, distiller.student.predict(x[:5], verbose=0), rtol=1e-6)
    close(predicted, A[f"{name}/predict"], "predict after fit", atol=1e-5)


# -- the model wiring ---------------------------------------------------------------------------
def test_teacher_is_frozen_and_the_distiller_is_the_student():
    distiller, x, _ = make("multi")
    teacher, student = distiller.teacher, distiller.student
    assert teacher.trainable is False and student.trainable is True
    assert [id(v) for v in distiller.trainable_variables] == [id(v) for v in student.trainable_variables]
    assert {id(v) for v in distiller.non_trainable_variables} == {id(v) for v in teacher.weights}
    np.testing.assert_array_equal(distiller(x[:3]).numpy(), student(x[:3]).numpy())
    np.testing.assert_array_equal(distiller.predict(x, batch_size=7, verbose=0), student.predict(x, verbose=0))
    extractor = distiller._teacher_feature_extractor
    assert sorted(extractor(x[:2], training=False)) == ["feat", "final_output"]


def test_student_layer_name_alone_is_used():
    """Deviation: Keras 3.15.1 only looks at teacher_layer_name and silently compares the final outputs
    when only student_layer_name is given; tapeflow compares the named student layer with the teacher's output."""
    i = keras.Input((FEATURES,))
    teacher = keras.Model(i, keras.layers.Dense(4, name="out")(i))
    i = keras.Input((FEATURES,))
    pre = keras.layers.Dense(4, name="pre")(i)
    student = keras.Model(i, keras.layers.Dense(4, name="out")(pre))
    distiller = D.Distiller(teacher, student, D.FeatureDistillation(student_layer_name="pre"), student_loss_weight=0.0)
    distiller.compile(optimizer="sgd", loss="mse")
    x = A["x_mlp"][:5]
    got = float(distiller.compute_loss(x=x, y=None, y_pred=distiller(x)))
    features = keras.Model(student.inputs, student.get_layer("pre").output)(x).numpy()
    close(got, np.mean((teacher(x).numpy() - features) ** 2), "student_layer_name alone")


def test_a_single_loss_ignores_weights_with_a_warning():
    teacher, student = build("mlp")
    with pytest.warns(UserWarning, match="distillation_loss_weights is ignored"):
        distiller = D.Distiller(teacher, student, D.LogitsDistillation(), distillation_loss_weights=[0.2])
    assert list(distiller.distillation_loss_weights) == [1.0]


def test_a_custom_distillation_loss_trains():
    class MeanAbsGap(D.DistillationLoss):
        def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
            return tf.reduce_mean(tf.abs(teacher_outputs - student_outputs))

    teacher, student = build("mlp")
    distiller = D.Distiller(teacher, student, MeanAbsGap(), student_loss_weight=0.0)
    distiller.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x = A["x_mlp"]
    history = distiller.fit(x, np.zeros((len(x), CLASSES), np.float32), batch_size=20, epochs=3, verbose=0).history
    want = np.mean(np.abs(teacher(x).numpy() - build("mlp")[1](x).numpy()))
    close(history["distillation_loss"][0], want, "custom loss, first epoch")
    assert history["distillation_loss"][-1] < history["distillation_loss"][0]


# -- configs --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CASES))
def test_configs_equal_keras_and_round_trip(name):
    distiller, x, _ = make(name)
    cfg = json.loads(json.dumps(distiller.get_config()))
    want = K[name]["config"]
    for key in ("name", "trainable", "distillation_losses", "distillation_loss_weights", "student_loss_weight"):
        assert cfg[key] == want[key], key
    assert (cfg["teacher"]["class_name"], cfg["teacher"]["config"]["name"]) == (want["teacher_class"],
                                                                                want["teacher_name"])
    assert cfg["student"]["config"]["name"] == want["student_name"]
    assert [d.get_config() for d in distiller.distillation_losses] == K[name]["loss_configs"]

    rebuilt = D.Distiller.from_config(cfg)
    assert rebuilt.teacher.trainable is False
    assert [type(d) for d in rebuilt.distillation_losses] == [type(d) for d in distiller.distillation_losses]
    assert json.loads(json.dumps(rebuilt.get_config())) == cfg
    rebuilt.set_weights(distiller.get_weights())
    np.testing.assert_allclose(rebuilt.predict(x[:4], verbose=0), distiller.predict(x[:4], verbose=0), rtol=1e-6)


@pytest.mark.parametrize("loss", ["kl_divergence", "categorical_crossentropy", ["kl_divergence", None],
                                  keras.losses.KLDivergence(), {"a": keras.losses.MeanSquaredError(), "b": None}])
def test_loss_configs_round_trip(loss):
    for cls in (D.LogitsDistillation, D.FeatureDistillation):
        original = cls(loss=loss)
        config = json.loads(json.dumps(original.get_config()))
        again = cls.from_config(config)
        assert json.loads(json.dumps(again.get_config())) == config
        leaves = tf.nest.flatten(again.loss)
        assert [type(v) for v in leaves] == [type(v) for v in tf.nest.flatten(original.loss)]


def test_keras_saved_distiller_loads():
    distiller = keras.models.load_model(os.path.join(HERE, "keras3_distillation.keras"), compile=False)
    assert isinstance(distiller, D.Distiller) and distiller.student_loss_weight == 0.5
    assert [type(d).__name__ for d in distiller.distillation_losses] == ["LogitsDistillation", "FeatureDistillation"]
    assert list(distiller.distillation_loss_weights) == [1.0, 0.5] and distiller.teacher.trainable is False
    close(distiller.predict(A["x_mlp"][:5], verbose=0), A["multi/predict"], "Keras-saved Distiller", atol=1e-6)


def test_save_and_load_then_compile_again(tmp_path):
    distiller, x, y = make("multi")
    distiller.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    path = str(tmp_path / "distiller.keras")
    distiller.save(path)
    with pytest.warns(UserWarning, match=r"compile\(\) was not called"):  # a custom compile(), as Keras
        loaded = keras.models.load_model(path)
    _, _, _, _, student_loss, metrics = CASES["multi"]
    loaded.compile(optimizer=keras.optimizers.SGD(0.05), loss=student_loss(), metrics=metrics)
    want = distiller.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    got = loaded.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    assert set(got) == set(want)
    for key in want:
        close(got[key], want[key], key)


# -- errors ---------------------------------------------------------------------------------------
class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(CLASSES)

    def call(self, x, training=None):
        return self.dense(x)


def _models(teacher_input=(FEATURES,), student_input=(FEATURES,), student_units=CLASSES, dtype=None):
    i = keras.Input(teacher_input)
    teacher = keras.Model(i, keras.layers.Dense(CLASSES, name="t")(i))
    i = keras.Input(student_input, dtype=dtype)
    student = keras.Model(i, keras.layers.Dense(student_units, name="s")(i))
    return teacher, student


def _distiller(**kwargs):
    teacher, student = _models()
    args = {"teacher": teacher, "student": student, "distillation_losses": D.LogitsDistillation()}
    args.update(kwargs)
    return D.Distiller(**args)


ERRORS = [
    (lambda: _distiller(teacher="model"), r"teacher must be a keras\.Model, got str"),
    (lambda: _distiller(student=np.zeros(3)), r"student must be a keras\.Model, got ndarray"),
    (lambda: _distiller(student_loss_weight=1.5), r"student_loss_weight must be between 0\.0 and 1\.0, got 1\.5"),
    (lambda: _distiller(student_loss_weight=-0.1), r"student_loss_weight must be between 0\.0 and 1\.0, got -0\.1"),
    (lambda: _distiller(student_loss_weight="0.5"), r"student_loss_weight must be a number .*got str '0\.5'"),
    (lambda: _distiller(distillation_losses=None), r"distillation_losses cannot be None"),
    (lambda: _distiller(distillation_losses=[]), r"distillation_losses is an empty list"),
    (lambda: _distiller(distillation_losses=[D.LogitsDistillation(), D.FeatureDistillation()],
                        distillation_loss_weights=[1.0]),
     r"distillation_loss_weights has 1 entries but distillation_losses has 2"),
    (lambda: _distiller(distillation_losses=[D.LogitsDistillation()], distillation_loss_weights=["big"]),
     r"distillation_loss_weights must be numbers, got \['big'\]"),
    (lambda: _distiller(distillation_losses=["kl_divergence"]),
     r"distillation_losses\[0\] must be a keras\.distillation\.DistillationLoss .*got str"),
    (lambda: D.Distiller(*_models(student_input=(FEATURES + 1,)), D.LogitsDistillation()),
     r"input shapes are incompatible: teacher \(None, 6\), student \(None, 7\)"),
    (lambda: D.Distiller(*_models(student_units=CLASSES + 1), D.LogitsDistillation()),
     r"output shapes are incompatible: teacher \(None, 4\), student \(None, 5\)"),
    (lambda: D.Distiller(*_models(student_input=(2, 3)), D.LogitsDistillation()),
     r"input shapes have different ranks: teacher \(None, 6\), student \(None, 2, 3\)"),
    (lambda: D.Distiller(*_models(dtype="float64"), D.LogitsDistillation()),
     r"input dtypes must match: teacher float32, student float64"),
    (lambda: _distiller(distillation_losses=D.FeatureDistillation(teacher_layer_name="nope")),
     r"teacher_layer_name='nope' is not a layer of the teacher model"),
    (lambda: _distiller(distillation_losses=D.FeatureDistillation(student_layer_name="nope")),
     r"student_layer_name='nope' is not a layer of the student model"),
    (lambda: D.Distiller(_Subclassed(), _Subclassed(), D.FeatureDistillation(teacher_layer_name="dense")),
     r"needs Functional or Sequential models.*the teacher and student model"),
    (lambda: _distiller().compile(loss=None), r"Distiller\.compile: loss cannot be None"),
    (lambda: _distiller().compile(loss="mse", metrics="mae"), r"metrics must be a list or tuple, got str 'mae'"),
    (lambda: _distiller().compile(loss="nope"), r"loss='nope' is not a known loss name"),
    (lambda: D.LogitsDistillation(temperature=0), r"temperature must be positive, got 0"),
    (lambda: D.LogitsDistillation(temperature="3"), r"temperature must be a number .*got str '3'"),
    (lambda: D.LogitsDistillation(loss=None), r"at least one non-None loss; got loss=None"),
    (lambda: D.LogitsDistillation(loss=[None, None]), r"at least one non-None loss; got loss=\[None, None\]"),
    (lambda: D.LogitsDistillation(loss="kl_div"), r"loss='kl_div' is not a known loss name"),
    (lambda: D.FeatureDistillation(loss=None), r"FeatureDistillation: the `loss` argument must contain"),
    (lambda: D.FeatureDistillation(loss=3), r"loss must be a loss name, .*got int 3"),
    (lambda: D.FeatureDistillation(teacher_layer_name=3), r"teacher_layer_name must be a layer name \(str\) or None, "
                                                          r"got int 3"),
]


@pytest.mark.parametrize("make_error, message", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_bad_arguments_raise_naming_the_argument(make_error, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=message):
            make_error()


def test_errors_at_loss_time():
    class PerSample(D.DistillationLoss):
        def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
            return tf.reduce_mean(tf.square(teacher_outputs - student_outputs), axis=-1)

    x = A["x_mlp"][:8]
    distiller = _distiller(distillation_losses=PerSample())
    distiller.compile(loss="mse")
    with pytest.raises(ValueError, match=r"PerSample\.compute_loss returned a tensor of shape \(8,\); it must return "
                                         r"a scalar"):
        distiller.compute_loss(x=x, y=None, y_pred=distiller(x))
    distiller = _distiller(distillation_losses=D.FeatureDistillation(loss=["mse", "mae"]))
    with pytest.raises(ValueError, match=r"loss structure .* does not match the structure of the features"):
        distiller.compute_loss(x=x, y=None, y_pred=distiller(x))


# -- gradients against PyTorch ------------------------------------------------------------------------
def _torch_reference(torch, name, teacher, student, temperature):
    t, s = teacher / temperature, student / temperature
    eps = 1e-7
    if name == "kl_object":  # KLDivergence(): softmax, clipped KL, times T^2
        p, q = torch.softmax(t, -1).clamp(eps, 1), torch.softmax(s, -1).clamp(eps, 1)
        return (p * torch.log(p / q)).sum(-1).mean() * temperature ** 2
    if name == "kl_function":  # "kl_divergence": the function on the scaled logits themselves
        p, q = t.clamp(eps, 1), s.clamp(eps, 1)
        return (p * torch.log(p / q)).sum(-1).mean()
    if name == "cce_logits":
        return -(t * torch.log_softmax(s, -1)).sum(-1).mean()
    return ((teacher - student) ** 2).mean(-1).mean()  # FeatureDistillation("mse")


GRAD_CASES = {"kl_object": lambda: D.LogitsDistillation(temperature=2.5, loss=KL()),
              "kl_function": lambda: D.LogitsDistillation(temperature=0.5),
              "cce_logits": lambda: D.LogitsDistillation(
                  temperature=4.0, loss=keras.losses.CategoricalCrossentropy(from_logits=True)),
              "feature_mse": lambda: D.FeatureDistillation()}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_distillation_loss_gradient_matches_torch(name):
    torch = require_torch()
    rng = np.random.default_rng(3)
    teacher = rng.normal(size=(5, CLASSES)).astype(np.float32)
    student = rng.normal(size=(5, CLASSES)).astype(np.float32)
    loss_obj = GRAD_CASES[name]()
    logits = tf.Variable(student)
    with tf.GradientTape() as tape:
        value = loss_obj.compute_loss(tf.constant(teacher), logits)
    grad = tape.gradient(value, logits).numpy()
    s = torch.tensor(student, dtype=torch.float64, requires_grad=True)
    ref = _torch_reference(torch, name, torch.tensor(teacher, dtype=torch.float64), s,
                           getattr(loss_obj, "temperature", 1.0))
    ref.backward()
    close(float(value), float(ref), f"{name} value")
    close(grad, s.grad.numpy(), f"{name} gradient", rtol=1e-4, atol=1e-6)


def test_total_loss_gradient_matches_torch():
    """d total / d student logits for 0.3 * SCCE + 0.7 * (1.0 * KL_T + 0.5 * MSE) through Distiller.compute_loss."""
    torch = require_torch()
    teacher, student = build("mlp")
    distiller = D.Distiller(teacher, student, [D.LogitsDistillation(temperature=2.0, loss=KL()),
                                               D.FeatureDistillation()],
                            distillation_loss_weights=[1.0, 0.5], student_loss_weight=0.3)
    distiller.compile(loss=scce())
    x, y = A["x_mlp"][:6], A["y"][:6]
    y_pred = tf.Variable(student(x).numpy())
    with tf.GradientTape() as tape:
        total = distiller.compute_loss(x=x, y=y, y_pred=y_pred)
    grad = tape.gradient(total, y_pred).numpy()
    t = torch.tensor(teacher(x).numpy(), dtype=torch.float64)
    s = torch.tensor(y_pred.numpy(), dtype=torch.float64, requires_grad=True)
    ref = 0.3 * torch.nn.functional.cross_entropy(s, torch.tensor(y)) + 0.7 * (
        _torch_reference(torch, "kl_object", t, s, 2.0) + 0.5 * _torch_reference(torch, "feature_mse", t, s, 1.0))
    ref.backward()
    close(float(total), float(ref), "total loss")
    close(grad, s.grad.numpy(), "total loss gradient", rtol=1e-4, atol=1e-6)
