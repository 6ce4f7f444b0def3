"""keras.RematScope: layers made inside a scope recompute their call (or activation) in the backward pass, with
the gradients, losses and weights of the plain model, in each of Keras's modes."""
import contextlib

import numpy as np
import pytest

import tapeflow as tf

keras = tf.keras
X = np.random.default_rng(0).normal(size=(16, 8)).astype("float32")
Y = np.random.default_rng(1).normal(size=(16, 1)).astype("float32")


def _model(scope=None):
    keras.utils.set_random_seed(0)
    with keras.RematScope(**scope) if scope is not None else contextlib.nullcontext():
        layers = [keras.layers.Dense(32, activation="relu", name="d1"), keras.layers.Dropout(0.3, name="drop"),
                  keras.layers.Dense(16, activation="tanh", name="d2"), keras.layers.Dense(1, name="d3")]
    m = keras.Sequential([keras.Input((8,))] + layers)  # (a model made in a "full" scope is itself recomputed)
    m.compile(keras.optimizers.SGD(0.05), "mse")
    return m


def _counting(model):
    """Per layer name: how many times its call ran (forward and recomputations)."""
    counts = {}
    for layer in model.layers:
        call = layer.call

        def counted(*a, _call=call, _name=layer.name, **k):
            counts[_name] = counts.get(_name, 0) + 1
            return _call(*a, **k)
        object.__setattr__(layer, "call", counted)
    return counts


SCOPES = {"full": dict(mode="full"), "activations": dict(mode="activations"),
          "larger_than": dict(mode="larger_than", output_size_threshold=200),
          "list_of_layers": dict(mode="list_of_layers", layer_names=["d2"])}


@pytest.mark.parametrize("name", list(SCOPES))
def test_each_mode_trains_exactly_as_the_plain_model(name):
    ref = _model()  # (each model seeds the generator the dropout masks come from, then trains)
    h0 = ref.fit(X, Y, epochs=3, batch_size=8, verbose=0, shuffle=False).history["loss"]
    m = _model(SCOPES[name])
    h = m.fit(X, Y, epochs=3, batch_size=8, verbose=0, shuffle=False).history["loss"]
    np.testing.assert_array_equal(h, h0)  # dropout masks replayed: bitwise the same
    for a, b in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert "RematScope" in m.__dict__["_trace_status"]  # fit runs such a model eagerly


@pytest.mark.parametrize("name, again", [("full", {"d1", "drop", "d2", "d3"}), ("list_of_layers", {"d2"}),
                                         ("larger_than", {"d1", "drop"}), ("activations", set())])
def test_the_mode_picks_which_layers_run_again_in_the_backward_pass(name, again):
    m = _model(SCOPES[name])
    counts = _counting(m)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(m(X[:8], training=True))  # batch 8: d1 and drop have 256 outputs > 200
    tape.gradient(loss, m.trainable_variables)
    assert {n for n, c in counts.items() if c == 2} == again
    assert all(c in (1, 2) for c in counts.values())


def test_a_model_made_in_a_full_scope_is_recomputed_as_a_whole_too():
    keras.utils.set_random_seed(0)
    with keras.RematScope(mode="full"):
        m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, name="a"), keras.layers.Dense(1, name="b")])
    counts = _counting(m)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(m(X, training=True))
    tape.gradient(loss, m.trainable_variables)
    assert counts == {"a": 3, "b": 3}  # forward; the model's recomputation; each layer's own, inside it (as Keras)


def test_activations_mode_recomputes_only_the_activation():
    keras.utils.set_random_seed(0)
    calls = []
    real = keras.activations.get("tanh")

    def act(x):
        calls.append(1)
        return real(x)
    with keras.RematScope(mode="activations"):
        dense = keras.layers.Dense(4, activation=act)
    x = tf.constant(X)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(dense(x))
    g = tape.gradient(y, dense.trainable_variables)
    assert len(calls) == 2 and dense.activation is act
    plain = keras.layers.Dense(4, activation=act)
    plain.build((None, 8))
    plain.set_weights(dense.get_weights())
    with tf.GradientTape() as tape:
        y2 = tf.reduce_sum(plain(x))
    for a, b in zip(g, tape.gradient(y2, plain.trainable_variables)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_scopes_nest_and_none_switches_off():
    with keras.RematScope(mode="full"):
        outer = keras.layers.Dense(2)
        with keras.RematScope(mode=None):
            off = keras.layers.Dense(2)
        with keras.RematScope(mode="list_of_layers", layer_names=["x"]):
            inner = keras.layers.Dense(2)
    after = keras.layers.Dense(2)
    assert outer._remat_mode.mode == "full" and off._remat_mode is None and after._remat_mode is None
    assert inner._remat_mode.mode == "list_of_layers" and inner._remat_mode.layer_names == ["x"]
    assert keras.remat is not None and callable(keras.remat)


def test_bad_mode_is_refused():
    with pytest.raises(ValueError, match="mode='partial' is not one of"):
        keras.RematScope(mode="partial")


def test_a_layer_with_several_outputs_runs_plainly_with_a_warning():
    with keras.RematScope(mode="full"):
        lstm = keras.layers.LSTM(3, return_state=True)
    x = tf.constant(np.random.default_rng(2).normal(size=(2, 5, 4)).astype("float32"))
    with pytest.warns(UserWarning, match="returns several tensors"):
        with tf.GradientTape() as tape:
            out, h, c = lstm(x)
            loss = tf.reduce_sum(out) + tf.reduce_sum(c)
    grads = tape.gradient(loss, lstm.trainable_variables)
    assert all(g is not None for g in grads)


def test_checkpointed_blocks_lower_the_peak_memory_of_a_gradient():
    import tracemalloc

    def peak(scope):
        keras.utils.set_random_seed(0)
        layers = [keras.layers.Dense(64, activation="relu") for _ in range(16)]
        with keras.RematScope(**scope) if scope else contextlib.nullcontext():  # 4 blocks of 4 layers
            blocks = [keras.Sequential(layers[i:i + 4]) for i in range(0, 16, 4)]
        model = keras.Sequential([keras.Input((64,))] + blocks)
        x = tf.constant(np.random.default_rng(3).standard_normal((1024, 64)).astype("float32"))
        model(x)
        tracemalloc.start()
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(model(x, training=True)))
        grads = tape.gradient(loss, model.trainable_variables)
        _, p = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return p, [g.numpy() for g in grads]
    (plain, g0), (remat, g1) = peak(None), peak({"mode": "full"})
    for a, b in zip(g0, g1):
        np.testing.assert_array_equal(a, b)
    assert remat < 0.8 * plain, (plain, remat)  # measured 0.69: 4 block outputs + 1 block live, not 16 layers
