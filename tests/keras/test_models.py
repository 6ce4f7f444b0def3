"""Models: Sequential, functional, subclassed; weights, freezing, summary, configs, errors."""
import json

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()
    yield


def spec_mlp():
    return tf.keras.Sequential([
        tf.keras.layers.Dense(128, activation="relu", input_shape=(784,)),
        tf.keras.layers.Dense(10, activation="softmax"),
    ])


def summary_text(model, **kw):
    lines = []
    model.summary(print_fn=lines.append, **kw)
    return "\n".join(lines)


# -- Sequential ----------------------------------------------------------------------------
def test_spec_mlp_params_summary_and_weights():
    model = spec_mlp()
    assert model.built and model.count_params() == 101_770
    assert [tuple(w.shape) for w in model.weights] == [(784, 128), (128,), (128, 10), (10,)]
    assert [w.path for w in model.trainable_variables] == [  # Keras 3's paths
        "sequential/dense/kernel", "sequential/dense/bias", "sequential/dense_1/kernel", "sequential/dense_1/bias"]
    text = summary_text(model)
    assert 'Model: "sequential"' in text
    assert "dense (Dense)" in text and "(None, 128)" in text and "100,480" in text
    assert "dense_1 (Dense)" in text and "(None, 10)" in text and "1,290" in text
    assert "Total params: 101,770 (397.54 KB)" in text
    assert "Trainable params: 101,770" in text and "Non-trainable params: 0 (0.00 B)" in text
    assert "InputLayer" not in text
    y = model(np.random.default_rng(0).random((32, 784)))
    assert tuple(y.shape) == (32, 10) and y.dtype == np.float32
    np.testing.assert_allclose(y.numpy().sum(axis=1), 1.0, rtol=1e-5)
    assert getattr(y, "_keras_logits", None) is not None
    assert model.input_shape == (None, 784) and model.output_shape == (None, 10)


def test_model_is_trainer_and_layer():
    from tapeflow.keras.trainer import Trainer
    model = spec_mlp()
    assert isinstance(model, Trainer) and isinstance(model, keras.Model) and isinstance(model, layers.Layer)


def test_sequential_with_input_add_pop_get_layer():
    model = keras.Sequential(name="seq")
    model.add(keras.Input(shape=(4,)))
    model.add(layers.Dense(8, activation="relu", name="h"))
    assert model.output_shape == (None, 8)
    model.add(layers.Dense(2, name="o"))
    assert [layer.name for layer in model.layers] == ["h", "o"]
    assert model.get_layer("o") is model.layers[1] and model.get_layer(index=0).name == "h"
    with pytest.raises(ValueError, match="No such layer: nope"):
        model.get_layer("nope")
    popped = model.pop()
    assert popped.name == "o" and model.output_shape == (None, 8) and model.count_params() == 40
    with pytest.raises(ValueError, match="Only instances of keras.layers.Layer"):
        model.add("dense")


def test_sequential_lazy_build_on_first_call():
    model = keras.Sequential([layers.Dense(4), layers.Dense(2)])
    assert not model.built
    with pytest.raises(ValueError, match="not yet been built"):
        model.summary(print_fn=lambda s: None)
    assert model.weights == []
    model(np.ones((3, 7)))
    assert model.built and model.count_params() == 7 * 4 + 4 + 4 * 2 + 2
    assert "(None, 4)" in summary_text(model)
    m2 = keras.Sequential([layers.Dense(3)])
    m2.build((None, 5))
    assert m2.count_params() == 18


def test_sequential_bad_input_names_layer_expected_actual():
    model = spec_mlp()
    with pytest.raises(ValueError) as e:
        model(np.ones((2, 100)))
    msg = str(e.value)
    assert '"dense"' in msg and "784" in msg and "(2, 100)" in msg


def test_training_flag_reaches_dropout():
    model = keras.Sequential([layers.Dropout(0.5, input_shape=(1000,))])
    x = np.ones((2, 1000), np.float32)
    np.testing.assert_array_equal(model(x).numpy(), x)
    np.testing.assert_array_equal(model(x, training=False).numpy(), x)
    assert (model(x, training=True).numpy() == 0).mean() > 0.3


def test_sequential_config_round_trip_json():
    model = keras.Sequential([
        layers.Dense(16, activation="relu", input_shape=(8,), kernel_regularizer=keras.regularizers.l2(1e-4)),
        layers.Dropout(0.25),
        layers.Dense(3, activation="softmax"),
    ], name="clf")
    cfg = json.loads(json.dumps(model.get_config()))
    assert cfg["name"] == "clf" and cfg["build_input_shape"] == [None, 8]
    assert [c["class_name"] for c in cfg["layers"]] == ["InputLayer", "Dense", "Dropout", "Dense"]
    again = keras.Sequential.from_config(cfg)
    assert again.count_params() == model.count_params()
    again.set_weights(model.get_weights())
    x = np.random.default_rng(1).random((4, 8)).astype(np.float32)
    np.testing.assert_allclose(again(x).numpy(), model(x).numpy(), rtol=1e-6)
    assert len(again.losses) == 1
    clone = keras.models.model_from_json(model.to_json())
    assert isinstance(clone, keras.Sequential) and clone.count_params() == model.count_params()


# -- functional ----------------------------------------------------------------------------
def build_two_tower():
    a = keras.Input(shape=(4,), name="a")
    b = keras.Input(shape=(3,), name="b")
    ha = layers.Dense(5, activation="relu", name="ha")(a)
    hb = layers.Dense(5, name="hb")(b)
    h = layers.Concatenate(name="cat")([ha, hb])
    out1 = layers.Dense(1, name="reg")(h)
    out2 = layers.Dense(2, activation="softmax", name="cls")(h)
    return keras.Model(inputs=[a, b], outputs=[out1, out2], name="towers")


def test_functional_multi_input_output():
    model = build_two_tower()
    assert type(model).__name__ == "Functional" and isinstance(model, keras.Model)
    assert [layer.name for layer in model.layers] == ["a", "b", "ha", "hb", "cat", "reg", "cls"]
    assert [tuple(x.shape) for x in model.inputs] == [(None, 4), (None, 3)]
    assert [tuple(x.shape) for x in model.outputs] == [(None, 1), (None, 2)]
    xa, xb = np.ones((6, 4), np.float32), np.ones((6, 3), np.float32)
    y1, y2 = model([xa, xb])
    assert tuple(y1.shape) == (6, 1) and tuple(y2.shape) == (6, 2)
    z1, z2 = model({"a": xa, "b": xb})
    np.testing.assert_allclose(z2.numpy(), y2.numpy())
    assert model.count_params() == 25 + 20 + 11 + 22
    text = summary_text(model)
    assert "Connected to" in text and "ha[0][0]," in text and "hb[0][0]" in text and "Total params: 78" in text


def test_functional_dict_outputs_and_input_errors():
    x = keras.Input(shape=(3,), name="x")
    model = keras.Model(x, {"p": layers.Dense(2, name="p")(x), "q": layers.Dense(1, name="q")(x)})
    out = model(np.ones((2, 3)))
    assert set(out) == {"p", "q"} and tuple(out["q"].shape) == (2, 1)
    with pytest.raises(ValueError) as e:
        model(np.ones((2, 5)))
    assert "expected shape=(None, 3)" in str(e.value) and "(2, 5)" in str(e.value)
    with pytest.raises(ValueError, match="expects 1 input"):
        model([np.ones((2, 3)), np.ones((2, 3))])


def test_shared_layer_shares_weights():
    shared = layers.Dense(4, name="shared")
    a, b = keras.Input((4,)), keras.Input((4,))
    model = keras.Model([a, b], layers.Add()([shared(a), shared(b)]))
    assert len(model.weights) == 2 and model.count_params() == 20
    assert len(shared._inbound_nodes) == 2
    x = np.random.default_rng(0).random((3, 4)).astype(np.float32)
    k, bias = shared.get_weights()
    np.testing.assert_allclose(model([x, x]).numpy(), 2 * (x @ k + bias), rtol=1e-5)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model([x, x]))
    grads = tape.gradient(loss, model.trainable_variables)
    assert all(g is not None for g in grads)
    again = keras.Model.from_config(json.loads(json.dumps(model.get_config())))
    assert len(again.weights) == 2


def test_nested_models_as_layers():
    inner = keras.Sequential([layers.Dense(3, input_shape=(5,)), layers.Dense(2)], name="inner")
    x = keras.Input((5,))
    outer = keras.Model(x, layers.Dense(1, name="head")(inner(x)))
    assert [layer.name for layer in outer.layers][1:] == ["inner", "head"]
    assert len(outer.weights) == 6 and outer.count_params() == 18 + 8 + 3
    assert "inner (Sequential)" in summary_text(outer)
    inner.trainable = False
    assert len(outer.trainable_weights) == 2 and len(outer.non_trainable_weights) == 4
    cfg = json.loads(json.dumps(outer.get_config()))
    again = keras.Model.from_config(cfg)
    again.set_weights(outer.get_weights())
    xx = np.random.default_rng(2).random((2, 5)).astype(np.float32)
    np.testing.assert_allclose(again(xx).numpy(), outer(xx).numpy(), rtol=1e-5)


def test_functional_config_round_trip_and_keras_format():
    model = build_two_tower()
    cfg = json.loads(json.dumps(model.get_config()))
    assert cfg["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    assert cfg["output_layers"] == [["reg", 0, 0], ["cls", 0, 0]]
    cat = next(c for c in cfg["layers"] if c["name"] == "cat")
    arg = cat["inbound_nodes"][0]["args"][0][0]
    assert arg["class_name"] == "__keras_tensor__" and arg["config"]["keras_history"] == ["ha", 0, 0]
    again = keras.Model.from_config(cfg)
    again.set_weights(model.get_weights())
    xa = np.random.default_rng(3).random((2, 4)).astype(np.float32)
    xb = np.random.default_rng(4).random((2, 3)).astype(np.float32)
    for u, v in zip(again([xa, xb]), model([xa, xb])):
        np.testing.assert_allclose(u.numpy(), v.numpy(), rtol=1e-6)


def test_keras_tensor_operators_in_graph():
    x = keras.Input((3,))
    y = layers.Dense(3)(x) * 2.0 + x
    model = keras.Model(x, y[:, :2])
    assert model.output_shape == (None, 2)
    data = np.ones((4, 3), np.float32)
    k, b = model.get_weights()
    np.testing.assert_allclose(model(data).numpy(), ((data @ k + b) * 2 + data)[:, :2], rtol=1e-5)
    again = keras.Model.from_config(json.loads(json.dumps(model.get_config())))
    again.set_weights(model.get_weights())
    np.testing.assert_allclose(again(data).numpy(), model(data).numpy(), rtol=1e-6)
    with pytest.raises(TypeError, match="symbolic"):
        np.asarray(x)


def test_graph_disconnected_error():
    a, b = keras.Input((2,)), keras.Input((2,))
    out = layers.Add()([a, b])
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(a, out)


# -- subclassed ----------------------------------------------------------------------------
class MLP(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = [layers.Dense(8, activation="relu", kernel_regularizer=keras.regularizers.l2(0.01))
                       for _ in range(2)]
        self.drop = layers.Dropout(0.5)
        self.head = layers.Dense(3)

    def call(self, x, training=None):
        for layer in self.hidden:
            x = layer(x)
        return self.head(self.drop(x, training=training))


def test_subclassed_model_variables_losses_summary():
    model = MLP()
    assert model.name == "mlp" and model.weights == []
    model(np.ones((2, 4)))
    assert [w.path for w in model.weights][:2] == ["mlp/dense/kernel", "mlp/dense/bias"]
    assert len(model.trainable_variables) == 6 and model.count_params() == 40 + 72 + 27
    assert [layer.name for layer in model.layers] == ["dense", "dense_1", "dropout", "dense_2"]
    losses = model.losses
    assert len(losses) == 2
    k = model.hidden[0].kernel.numpy()
    assert float(losses[0]) == pytest.approx(0.01 * float((k ** 2).sum()), rel=1e-5)
    text = summary_text(model)
    assert "dense_1 (Dense)" in text and "(None, 8)" in text and "Total params: 139" in text
    model.hidden[0].trainable = False
    assert len(model.trainable_variables) == 4 and len(model.losses) == 1


def test_subclassed_build_creates_weights():
    model = MLP()
    model.build((None, 4))
    assert model.built and model.count_params() == 139


def test_model_freezing_stops_gradients():
    model = spec_mlp()
    model.layers[0].trainable = False
    assert [w.name for w in model.trainable_variables] == ["kernel", "bias"]
    assert model.trainable_variables[0] is model.layers[1].kernel
    assert len(model.non_trainable_variables) == 2
    text = summary_text(model)
    assert "Trainable params: 1,290" in text and "Non-trainable params: 100,480" in text
    model.trainable = False
    assert model.trainable_variables == []
    x = np.ones((2, 784), np.float32)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(model(x))
    assert tape.gradient(y, model.layers[1].kernel) is None
    model.trainable = True
    assert len(model.trainable_variables) == 4


def test_whole_model_get_set_weights_order_and_errors():
    model = spec_mlp()
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(784, 128), (128,), (128, 10), (10,)]
    new = [np.full_like(w, i) for i, w in enumerate(weights)]
    model.set_weights(new)
    assert float(model.layers[1].bias.numpy()[0]) == 3.0
    with pytest.raises(ValueError, match="3 arrays"):
        model.set_weights(new[:3])


def test_training_step_reduces_loss():
    tf.random.set_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.int32).ravel()
    model = keras.Sequential([layers.Dense(16, activation="relu", input_shape=(4,)),
                              layers.Dense(2, activation="softmax")])

    def loss_value():
        probs = model(x, training=True)
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, probs._keras_logits))
    start = float(loss_value())
    for _ in range(50):
        with tf.GradientTape() as tape:
            loss = loss_value()
        for v, g in zip(model.trainable_variables, tape.gradient(loss, model.trainable_variables)):
            v.assign_sub(0.5 * g.numpy())
    assert float(loss_value()) < 0.5 * start


def test_keras_namespace_exports():
    import tapeflow.keras as k
    for name in ("layers", "models", "activations", "initializers", "regularizers", "constraints",
                 "Sequential", "Model", "Input", "backend"):
        assert hasattr(k, name), name
    assert tf.keras.Model is k.models.Model and tf.keras.layers.Dense is k.layers.Dense
    assert k.backend.epsilon() == 1e-7 and k.backend.floatx() == "float32"
    assert k.backend.image_data_format() == "channels_last"


# -- against real Keras 3 (fixture made by tests/fixtures/make_keras_fixture.py) ----------
def _fixture():
    import os
    here = os.path.join(os.path.dirname(__file__), "..", "fixtures")
    with open(os.path.join(here, "keras_functional_fixture.json")) as fh:
        meta = json.load(fh)
    return meta, np.load(os.path.join(here, "keras_functional_fixture.npz"))


def _lines(text):
    return [line.rstrip() for line in text.strip("\n").split("\n")]


def test_keras3_functional_config_loads_with_same_weights_and_outputs():
    meta, data = _fixture()
    model = keras.Model.from_config(meta["config"])
    assert [layer.name for layer in model.layers] == meta["layer_names"]
    assert [w.path for w in model.weights] == meta["weight_paths"]
    assert [list(w.shape) for w in model.weights] == meta["weight_shapes"]
    assert model.count_params() == meta["count_params"]
    model.set_weights([data[f"w{i}"] for i in range(len(meta["weight_paths"]))])
    y1, y2 = model([data["xa"], data["xb"]])
    np.testing.assert_allclose(y1.numpy(), data["y1"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y2.numpy(), data["y2"], rtol=1e-5, atol=1e-6)
    assert _lines(summary_text(model)) == _lines(meta["summary"])
    again = keras.Model.from_config(json.loads(json.dumps(model.get_config())))
    assert [w.path for w in again.weights] == meta["weight_paths"]


def test_keras3_sequential_config_and_summary_match():
    meta, _ = _fixture()
    model = keras.Sequential.from_config(meta["sequential_config"])
    assert model.count_params() == 101_770
    assert _lines(summary_text(model)) == _lines(meta["sequential_summary"])
    assert _lines(summary_text(spec_mlp())) == _lines(meta["sequential_summary"])


def test_subclassed_model_automatic_config_and_node_views():
    class Tower(keras.Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.dense = layers.Dense(units)

        def call(self, x):
            return self.dense(x)

    cfg = Tower(5, name="tw").get_config()
    assert cfg["units"] == 5 and cfg["name"] == "tw"
    assert Tower.from_config(cfg).units == 5
    x = keras.Input((3,), name="x")
    d = layers.Dense(2, name="d")
    y = d(x)
    assert d.input is x and d.output is y and d.input_shape == (None, 3) and d.output_shape == (None, 2)
    with pytest.raises(AttributeError, match="never been called"):
        _ = layers.Dense(2).output


def test_mixed_precision_policy_and_mask_propagation():
    d = layers.Dense(2, dtype="mixed_float16")
    out = d(np.ones((1, 3)))
    assert out.dtype == np.float16 and d.kernel.dtype == np.float32
    assert d.compute_dtype == "float16" and d.variable_dtype == "float32"
    t = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    t._keras_mask = tf.constant([True, False])
    assert layers.Dense(3)(t)._keras_mask is t._keras_mask  # Dense supports masking
    assert layers.Flatten()(t)._keras_mask is None


def test_a_one_item_output_list_returns_the_tensor_itself_as_keras():
    keras = tf.keras
    inp = keras.Input((3,))
    m = keras.Model(inp, [keras.layers.Dense(2)(inp)])
    assert isinstance(m.outputs, list) and len(m.outputs) == 1
    assert isinstance(m(np.ones((4, 3), "float32")), tf.Tensor)
    assert m.predict(np.ones((4, 3)), verbose=0).shape == (4, 2)
    m.compile("sgd", "mse")
    assert sorted(m.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0).history) == ["loss"]


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_integer_data_takes_the_dtype_of_its_input_as_keras(kind):
    keras = tf.keras
    inp = keras.Input((3,))
    if kind == "functional":
        m = keras.Model(inp, keras.layers.Dense(2)(inp))
    else:
        m = keras.Sequential([inp, keras.layers.Dense(2)])
    xi = np.arange(12, dtype="int64").reshape(4, 3)
    np.testing.assert_allclose(m.predict(xi, verbose=0), m.predict(xi.astype("float32"), verbose=0), rtol=1e-6)
    m.compile("sgd", "mse")
    m.fit(xi, np.ones((4, 2)), verbose=0)
