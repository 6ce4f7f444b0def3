"""MultiOptimizer and OptimizerMap against Keras 3.15.1.

Numbers come from tests/fixtures/keras3_multi_optimizer.json and the model file keras3_multi_optimizer.keras,
written by tests/fixtures/make_keras3_multi_optimizer.py with the real Keras: fit histories, final weights,
iterations, optimizer variables (Keras's order) and the .weights.h5 layout, for an OptimizerMap (exact path,
regex, default), a selector function, a sub-optimizer with EMA, and apply_gradients on free variables.
"""
import json
import os
import warnings

import h5py
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import layers
from tapeflow.keras import optimizers as O
from tapeflow.keras.optimizers import MultiOptimizer, OptimizerMap

HERE = os.path.join(os.path.dirname(__file__), "..", "fixtures")
RTOL, ATOL = 1e-5, 1e-6


@pytest.fixture(scope="module")
def ref():
    with open(os.path.join(HERE, "keras3_multi_optimizer.json")) as f:
        return json.load(f)


def _data(ref):
    d = ref["data"]
    return np.array(d["x"], "float32"), np.array(d["y"], "float32"), [np.array(w, "float32") for w in d["w"]]


def _model(ref):  # the generator's model, with its fixed weights
    inp = tf.keras.Input((5,))
    h = layers.Dense(4, activation="tanh", name="enc")(inp)
    h = layers.Dense(3, activation="tanh", name="mid")(h)
    m = tf.keras.Model(inp, layers.Dense(2, name="head")(h))
    m.set_weights(_data(ref)[2])
    return m


def _map_optimizer(loss_scale_factor=None):  # the generator's: one Adam under two keys
    adam = O.Adam(0.01)
    return MultiOptimizer(OptimizerMap(O.SGD(0.05, momentum=0.9), {"enc/kernel": adam, "mid/.*": O.RMSprop(0.01),
                                                                   "head/bias": adam}),
                          loss_scale_factor=loss_scale_factor)


def _close(got, want, what):
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want, np.float64), rtol=RTOL, atol=ATOL,
                               err_msg=what)


def _close_weights(model, want, what):
    got = model.get_weights()
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        _close(g, w, f"{what}: weight {i}")


def _fit(model, ref, epochs):
    x, y, _ = _data(ref)
    return model.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0).history["loss"]


# -- against Keras's numbers ---------------------------------------------------------------------
def test_fit_with_optimizer_map_equals_keras(ref, tmp_path):
    r = ref["map"]
    m = _model(ref)
    opt = _map_optimizer()
    m.compile(optimizer=opt, loss="mse")
    _close(_fit(m, ref, 3), r["loss"], "loss history")
    assert m._trace_status == "replaying"          # the traced fast path runs the MultiOptimizer unchanged
    _close_weights(m, r["weights"], "final weights")
    assert int(opt.iterations) == r["iterations"] == 12
    assert [int(o.iterations) for o in opt.optimizers] == r["sub_iterations"]
    assert [type(o).__name__ for o in opt.optimizers] == r["sub_classes"] == ["Adam", "RMSprop", "SGD"]
    assert [list(v.shape) for v in opt.variables] == r["variable_shapes"]
    for i, (v, want) in enumerate(zip(opt.variables, r["variables"])):
        _close(v.numpy(), want, f"optimizer variable {i} ({v.name})")
    path = str(tmp_path / "m.weights.h5")
    m.save_weights(path)
    layout = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: layout.__setitem__(n, list(o.shape)) if isinstance(o, h5py.Dataset) else None)
    assert layout == r["layout"]  # optimizer/vars (all) and optimizer/optimizers/<class>/vars, as Keras writes


def test_selector_function_gives_each_call_its_optimizer(ref):
    r = ref["callable"]
    m = _model(ref)

    def select(variable):
        return O.Adam(0.02) if "kernel" in variable.path else O.SGD(0.1)

    opt = MultiOptimizer(select)
    assert opt.optimizers == []
    m.compile(optimizer=opt, loss="mse")
    _close(_fit(m, ref, 2), r["loss"], "loss history")
    _close_weights(m, r["weights"], "final weights")
    assert [type(o).__name__ for o in opt.optimizers] == r["sub_classes"]
    assert [int(o.iterations) for o in opt.optimizers] == r["sub_iterations"]


def test_ema_sub_optimizer_is_finalized_by_fit(ref):
    r = ref["ema"]
    m = _model(ref)
    opt = MultiOptimizer(OptimizerMap(O.SGD(0.05, momentum=0.9, use_ema=True, ema_momentum=0.8),
                                      {"enc/.*": O.Adam(0.01)}))
    assert opt.use_ema
    m.compile(optimizer=opt, loss="mse")
    _close(_fit(m, ref, 2), r["loss"], "loss history")
    _close_weights(m, r["weights"], "final weights (the SGD variables' averages)")


def test_apply_gradients_on_free_variables_equals_keras(ref):
    r = ref["apply"]
    vs = [tf.Variable(np.array(v, "float32"), name=n) for v, n in zip(ref["data"]["init"], "abc")]
    assert [v.path for v in vs] == r["paths"]
    opt = MultiOptimizer(OptimizerMap(O.SGD(0.1, momentum=0.5), {"a": O.Adam(0.01), "b": O.RMSprop(0.05)}))
    for k, (grads, want) in enumerate(zip(ref["data"]["grads"], r["steps"])):
        opt.apply_gradients(zip([tf.constant(np.array(g, "float32")) for g in grads], vs))
        for v, w in zip(vs, want):
            _close(v.numpy(), w, f"step {k}: {v.path}")
    assert int(opt.iterations) == r["iterations"]
    assert [int(o.iterations) for o in opt.optimizers] == r["sub_iterations"]


def test_custom_training_loop_equals_fit(ref):
    x, y, _ = _data(ref)
    m = _model(ref)
    opt = _map_optimizer()
    loss_fn = tf.keras.losses.MeanSquaredError()
    for _ in range(3):
        for i in range(0, len(x), 8):
            with tf.GradientTape() as tape:
                loss = loss_fn(y[i:i + 8], m(x[i:i + 8], training=True))
            grads = tape.gradient(loss, m.trainable_variables)
            opt.apply_gradients(zip(grads, m.trainable_variables))
    _close_weights(m, ref["map"]["weights"], "custom loop")
    assert int(opt.iterations) == 12


def test_keras_written_model_file_loads_and_trains_on(ref):
    m = tf.keras.models.load_model(os.path.join(HERE, "keras3_multi_optimizer.keras"))
    opt = m.optimizer
    assert isinstance(opt, MultiOptimizer) and int(opt.iterations) == 8
    assert [type(o).__name__ for o in opt.optimizers] == ["Adam", "RMSprop", "SGD"]
    assert [int(o.iterations) for o in opt.optimizers] == [8, 8, 8]
    _close_weights(m, ref["map"]["weights_after_2"], "weights after 2 epochs")
    _close(_fit(m, ref, 1), ref["map"]["loss"][2:], "third epoch's loss")
    _close_weights(m, ref["map"]["weights"], "after a third epoch")


# -- save / load round trips -------------------------------------------------------------------
def _trained_2_epochs(ref):
    m = _model(ref)
    m.compile(optimizer=_map_optimizer(), loss="mse")
    _fit(m, ref, 2)
    return m


@pytest.mark.parametrize("fmt", [".keras", ".h5"])
def test_model_file_round_trip_continues_training(ref, tmp_path, fmt):
    path = str(tmp_path / f"m{fmt}")
    _trained_2_epochs(ref).save(path)
    m = tf.keras.models.load_model(path)
    assert isinstance(m.optimizer, MultiOptimizer) and int(m.optimizer.iterations) == 8
    _close(_fit(m, ref, 1), ref["map"]["loss"][2:], "third epoch's loss")
    _close_weights(m, ref["map"]["weights"], "after reload and a third epoch")


def test_weights_file_round_trip_restores_optimizer_state(ref, tmp_path):
    path = str(tmp_path / "m.weights.h5")
    _trained_2_epochs(ref).save_weights(path)
    m = _model(ref)
    opt = _map_optimizer()
    m.compile(optimizer=opt, loss="mse")
    m.load_weights(path)  # builds the MultiOptimizer and its sub-optimizers, then loads every slot
    assert int(opt.iterations) == 8 and [int(o.iterations) for o in opt.optimizers] == [8, 8, 8]
    _fit(m, ref, 1)
    _close_weights(m, ref["map"]["weights"], "after load_weights and a third epoch")


def test_checkpoint_restored_before_build_fills_sub_optimizer_slots(ref, tmp_path):
    m = _trained_2_epochs(ref)
    path = tf.train.Checkpoint(model=m, optimizer=m.optimizer).save(str(tmp_path / "ckpt"))
    m2 = _model(ref)
    opt = _map_optimizer()
    m2.compile(optimizer=opt, loss="mse")
    tf.train.Checkpoint(model=m2, optimizer=opt).restore(path)
    _fit(m2, ref, 1)
    _close_weights(m2, ref["map"]["weights"], "after a checkpoint restore and a third epoch")


def test_registered_selector_function_saves_by_name(ref, tmp_path):
    @tf.keras.saving.register_keras_serializable(package="test_multi")
    def pick(variable):
        return O.Adam(0.02) if "kernel" in variable.path else O.SGD(0.1)

    m = _model(ref)
    m.compile(optimizer=MultiOptimizer(pick), loss="mse")
    _fit(m, ref, 2)
    cfg = O.serialize(m.optimizer)["config"]["optimizer_map"]
    assert cfg == {"module": "builtins", "class_name": "function", "config": "test_multi>pick",
                   "registered_name": "function"}  # Keras 3.15.1's form
    path = str(tmp_path / "m.keras")
    m.save(path)
    m2 = tf.keras.models.load_model(path)
    assert m2.optimizer._optimizer_map is pick and int(m2.optimizer.iterations) == 8
    for a, b in zip(m2.optimizer.variables, m.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_unregistered_selector_function_fails_to_load_with_a_hint():
    def chooser(variable):
        return O.SGD()

    cfg = O.serialize(MultiOptimizer(chooser))
    with pytest.raises(ValueError, match="chooser.*custom_objects"):
        O.deserialize(cfg)
    assert O.deserialize(cfg, custom_objects={"chooser": chooser})._optimizer_map is chooser


# -- fast paths -------------------------------------------------------------------------------
def test_one_sub_optimizer_equals_that_optimizer_alone(monkeypatch):
    """A large model: fit replays on batch shards and the sub-optimizer updates on threads (parallel.py); the
    weights are bitwise those of the plain optimizer."""
    from tapeflow.backend import blas, threads
    from tapeflow.keras.optimizers import parallel
    ran = []
    original = parallel.parallel_update
    monkeypatch.setattr(parallel, "parallel_update", lambda *a: ran.append(original(*a)) or ran[-1])
    rs = np.random.default_rng(0)
    x, y = rs.normal(size=(4096, 64)).astype("float32"), rs.normal(size=(4096, 8)).astype("float32")
    results, status = [], []
    threads.set_intra_op_threads(4)
    threads.set_inter_op_threads(2)
    try:
        for multi in (False, True):
            tf.keras.utils.set_random_seed(1)
            m = tf.keras.Sequential([tf.keras.Input((64,)), layers.Dense(512, activation="relu"),
                                     layers.Dense(256, activation="relu"), layers.Dense(8)])
            adam = O.Adam(1e-3)
            m.compile(optimizer=MultiOptimizer(OptimizerMap(adam)) if multi else adam, loss="mse")
            m.fit(x, y, batch_size=2048, epochs=2, shuffle=False, verbose=0)
            results.append(m.get_weights())
            status.append(m._trace_status)
    finally:
        threads.set_intra_op_threads(0)
        threads.set_inter_op_threads(0)
    assert ran and all(ran)                                 # 4 threaded updates each
    if blas.available():
        assert status == ["replaying on 2 batch shards"] * 2
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


# -- OptimizerMap ------------------------------------------------------------------------------
def test_optimizer_map_lookups_as_keras_docstring():
    adam, sgd, rms = O.Adam(), O.SGD(), O.RMSprop()
    om = OptimizerMap(default_optimizer=rms)
    om["encoder/layer_0/dense"] = adam
    om["encoder/.*"] = sgd
    om["decoder"] = adam
    assert om["decoder"] is adam
    assert om["encoder/layer_0/dense"] is adam          # an exact key wins over a matching regex
    assert om["encoder/layer_0/attention/query"] is sgd
    assert om["decoder/layer_0/dense"] is rms           # "decoder" matches only "decoder" (fullmatch)
    assert om.default_optimizer is rms
    assert len(om) == 3 and list(om) == ["encoder/layer_0/dense", "encoder/.*", "decoder"]
    assert om(tf.Variable([1.0], name="decoder")) is adam
    del om["decoder"]
    assert om["decoder"] is rms and len(om) == 2


def test_optimizer_map_errors():
    om = OptimizerMap(O.SGD(), {"a.*": O.Adam()})
    om["ab.*"] = O.Adam()
    with pytest.raises(ValueError, match="Multiple optimizers assigned to variable abc"):
        om["abc"]
    with pytest.raises(ValueError, match="'a.\\*' already exists"):
        om["a.*"] = O.SGD()
    with pytest.raises(ValueError, match="key must be a string"):
        om[3] = O.SGD()
    with pytest.raises(ValueError, match="must be a Keras Optimizer instance"):
        om["x"] = "adam"
    with pytest.raises(ValueError, match="cannot be a LossScaleOptimizer"):
        om["y"] = O.LossScaleOptimizer(O.SGD())
    with pytest.raises(ValueError, match="cannot be a MultiOptimizer"):
        om["z"] = MultiOptimizer(OptimizerMap(O.SGD()))
    with pytest.raises(TypeError, match="default_optimizer"):
        OptimizerMap("sgd")
    with pytest.raises(TypeError, match="optimizer_map.*dict"):
        OptimizerMap(O.SGD(), [O.Adam()])
    bad = OptimizerMap(O.SGD(), {"w[": O.Adam(name="exact")})
    assert bad["w["].name == "exact"                     # an exact key need not be a regex
    with pytest.raises(ValueError, match="not a valid regular expression.*re.escape"):
        bad["v"]


def test_optimizer_map_config_round_trip_in_keras_form(ref):
    import zipfile
    with zipfile.ZipFile(os.path.join(HERE, "keras3_multi_optimizer.keras")) as z:
        keras_cfg = json.loads(z.read("config.json"))["compile_config"]["optimizer"]
    ours = O.serialize(_map_optimizer())

    def shape(c):
        if isinstance(c, dict):
            return {k: shape(v) for k, v in c.items() if k not in ("name", "learning_rate")}
        return type(c).__name__ if not isinstance(c, str) else c
    assert shape(ours) == shape(keras_cfg)
    back = O.deserialize(keras_cfg)
    assert isinstance(back, MultiOptimizer)
    om = back._optimizer_map
    assert isinstance(om, OptimizerMap) and list(om) == ["enc/kernel", "mid/.*", "head/bias"]
    assert om["enc/kernel"] is om["head/bias"]          # Keras's shared_object_id: one Adam again
    again = O.deserialize(ours)
    assert again._optimizer_map["enc/kernel"] is again._optimizer_map["head/bias"]
    assert len(again.optimizers) == 3
    assert type(om.default_optimizer).__name__ == "SGD" and om.default_optimizer.momentum == 0.9
    assert [type(o).__name__ for o in back.optimizers] == ["Adam", "RMSprop", "SGD"]


# -- MultiOptimizer's own rules -----------------------------------------------------------------
def test_learning_rate_is_not_an_attribute_of_a_multi_optimizer():
    opt = _map_optimizer()
    with pytest.raises(AttributeError, match="sub-optimizers"):
        opt.learning_rate
    with pytest.raises(AttributeError, match="sub-optimizers"):
        opt.learning_rate = 0.1
    assert not hasattr(opt, "learning_rate")
    assert [round(float(o.learning_rate), 6) for o in opt.optimizers] == [0.01, 0.01, 0.05]


def test_loss_scale_factor_overrides_sub_optimizers(ref):
    opt = MultiOptimizer(OptimizerMap(O.SGD(loss_scale_factor=8.0), {"enc/.*": O.Adam()}), loss_scale_factor=4.0)
    assert [o.loss_scale_factor for o in opt.optimizers] == [4.0, 4.0]
    opt.loss_scale_factor = None
    assert [o.loss_scale_factor for o in opt.optimizers] == [None, None]
    scaled = _map_optimizer(loss_scale_factor=4.0)
    m = _model(ref)
    m.compile(optimizer=scaled, loss="mse")   # the loss is scaled by 4, each sub-optimizer divides by 4
    _close(_fit(m, ref, 3), ref["map"]["loss"], "loss history with loss_scale_factor")
    _close_weights(m, ref["map"]["weights"], "final weights with loss_scale_factor")


def test_variables_before_and_after_build(ref):
    tf.keras.backend.clear_session()
    opt = _map_optimizer()
    assert opt.name == "multi_optimizer" and not opt.built
    assert [v.name for v in opt.variables] == ["multi_optimizer/iteration", "multi_optimizer/learning_rate"]
    m = _model(ref)
    opt.build(m.trainable_variables)
    assert len(opt.variables) == len(ref["map"]["variables"]) == 16
    weights = [np.full(v.shape, k, v.dtype) for k, v in enumerate(opt.variables)]
    opt.set_weights(weights)
    assert all(np.all(w == k) for k, w in enumerate(opt.get_weights()))
    with pytest.raises(ValueError, match="has 16 variables.*got 2"):
        opt.set_weights(weights[:2])


def test_apply_errors(ref):
    m = _model(ref)
    opt = _map_optimizer()
    variables = m.trainable_variables
    with pytest.raises(ValueError, match="must already be built"):
        opt.apply([np.zeros((5, 4), "float32")])
    opt.build(variables)
    with pytest.raises(ValueError, match="one-to-one.*1 gradients"):
        opt.apply_gradients([(np.zeros((5, 4), "float32"), variables[0])])
    other = tf.Variable(np.zeros((5, 4), "float32"), name="other")
    with pytest.raises(ValueError, match="Unknown variable: 'other'"):
        opt.apply([np.zeros(v.shape, "float32") for v in variables], [other] + variables[1:])
    grads = [np.ones(v.shape, "float32") for v in variables]
    grads[4] = None                                   # head/kernel (SGD): skipped with Keras's warning
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        opt.apply(grads)
    assert any("head/kernel" in str(x.message) for x in w)
    assert int(opt.iterations) == 1 and [int(o.iterations) for o in opt.optimizers] == [1, 1, 1]


def test_constructor_and_selector_errors(ref):
    with pytest.raises(TypeError, match="wrap it in an OptimizerMap"):
        MultiOptimizer({"enc/.*": O.Adam()})
    with pytest.raises(TypeError, match="OptimizerMap or a callable"):
        MultiOptimizer(O.Adam())
    with pytest.raises(ValueError, match="variable 'enc/kernel' cannot be a LossScaleOptimizer"):
        MultiOptimizer(lambda v: O.LossScaleOptimizer(O.SGD())).build(_model(ref).trainable_variables)
    with pytest.raises(ValueError, match="variable 'enc/kernel' must be a Keras Optimizer"):
        MultiOptimizer(lambda v: "sgd").build(_model(ref).trainable_variables)
    sgd = O.SGD()
    sgd.build([tf.Variable([1.0])])
    with pytest.raises(ValueError, match="already built on other variables"):
        MultiOptimizer(OptimizerMap(sgd)).build(_model(ref).trainable_variables)
