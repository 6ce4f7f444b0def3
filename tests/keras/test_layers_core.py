"""Layer base contract and core layers: weights (shapes, order, paths), calling, config, errors."""
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


# -- Dense -------------------------------------------------------------------------------
def test_dense_weights_shapes_order_and_paths():
    d = layers.Dense(3)
    assert d.name == "dense" and not d.built
    y = d(np.ones((2, 5), dtype=np.float32))
    assert d.built and tuple(y.shape) == (2, 3)
    assert [tuple(w.shape) for w in d.weights] == [(5, 3), (3,)]
    assert [w.name for w in d.weights] == ["kernel", "bias"]
    assert [w.path for w in d.weights] == ["dense/kernel", "dense/bias"]
    assert d.kernel is d.weights[0] and d.bias is d.weights[1]
    assert layers.Dense(2).name == "dense_1"
    assert len(layers.Dense(2, use_bias=False)(np.ones((1, 4))).shape) == 2


def test_dense_math_matches_numpy_and_rank3():
    d = layers.Dense(4, activation="relu")
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    y = d(x).numpy()
    k, b = d.get_weights()
    np.testing.assert_allclose(y, np.maximum(x @ k + b, 0), rtol=1e-5, atol=1e-6)
    x3 = np.random.default_rng(1).normal(size=(2, 5, 3)).astype(np.float32)
    y3 = d(x3).numpy()
    assert y3.shape == (2, 5, 4)
    np.testing.assert_allclose(y3, np.maximum(x3 @ k + b, 0), rtol=1e-5, atol=1e-6)
    assert d.compute_output_shape((None, 7, 3)) == (None, 7, 4)


def test_dense_initializers_bias_zero_and_glorot_limit():
    tf.random.set_seed(0)
    d = layers.Dense(200)
    d(np.ones((1, 300)))
    k, b = d.get_weights()
    assert np.all(b == 0)
    assert np.abs(k).max() <= np.sqrt(6 / 500)
    d2 = layers.Dense(2, kernel_initializer="ones", bias_initializer=keras.initializers.Constant(0.5))
    np.testing.assert_allclose(d2(np.ones((1, 3))).numpy(), [[3.5, 3.5]])


def test_dense_casts_float64_inputs_to_float32():
    d = layers.Dense(2)
    y = d(np.ones((1, 3), dtype=np.float64))
    assert y.dtype == np.float32
    assert layers.Dense(2, dtype="float64")(np.ones((1, 3), dtype=np.float32)).dtype == np.float64


def test_dense_input_mismatch_error_names_layer_and_shapes():
    d = layers.Dense(3)
    d(np.ones((2, 784)))
    with pytest.raises(ValueError) as e:
        d(np.ones((2, 100)))
    msg = str(e.value)
    assert '"dense"' in msg and "784" in msg and "(2, 100)" in msg
    with pytest.raises(ValueError, match="min_ndim=2"):
        d(np.ones((784,)))


def test_dense_bad_arguments():
    with pytest.raises(ValueError, match="units"):
        layers.Dense(0)
    with pytest.raises(ValueError, match="Unrecognized keyword arguments passed to Dense"):
        layers.Dense(3, kernal_initializer="zeros")
    with pytest.raises(ValueError, match="Unknown activation"):
        layers.Dense(3, activation="rleu")


def test_dense_regularizers_losses_and_constraints():
    d = layers.Dense(2, kernel_regularizer=keras.regularizers.l2(1e-4), bias_regularizer="l1",
                     activity_regularizer=keras.regularizers.L2(0.5), kernel_constraint="non_neg")
    x = np.ones((3, 4), dtype=np.float32)
    y = d(x)
    losses = d.losses
    assert len(losses) == 3  # activity term from the call, then kernel and bias regularizers
    k = d.kernel.numpy()
    assert float(losses[0]) == pytest.approx(0.5 * float((y.numpy() ** 2).sum()), rel=1e-5)
    assert float(losses[1]) == pytest.approx(1e-4 * float((k ** 2).sum()), rel=1e-5)
    assert isinstance(d.kernel.constraint, keras.constraints.NonNeg)
    assert d.bias.constraint is None
    assert isinstance(d.kernel.regularizer, keras.regularizers.L2)
    d(x)
    assert len(d.losses) == 3  # activity loss replaced, not accumulated


def test_regularization_loss_is_differentiable():
    d = layers.Dense(2, kernel_regularizer=keras.regularizers.l2(0.5), use_bias=False)
    d(np.ones((1, 2)))
    with tf.GradientTape() as tape:
        loss = tf.add_n(d.losses)
    g = tape.gradient(loss, d.kernel)
    np.testing.assert_allclose(g.numpy(), d.kernel.numpy(), rtol=1e-6)  # d/dw 0.5*w^2 = w


def test_dense_config_round_trip():
    d = layers.Dense(5, activation="softmax", use_bias=False, kernel_initializer="he_normal",
                     kernel_regularizer=keras.regularizers.l2(1e-3), name="out")
    cfg = d.get_config()
    assert cfg["units"] == 5 and cfg["activation"] == "softmax" and cfg["name"] == "out"
    assert cfg["kernel_initializer"]["class_name"] == "HeNormal"
    assert cfg["kernel_regularizer"]["config"]["l2"] == pytest.approx(1e-3)
    d2 = layers.Dense.from_config(json.loads(json.dumps(cfg)))
    assert d2.units == 5 and d2.activation is keras.activations.softmax and not d2.use_bias
    assert isinstance(d2.kernel_initializer, keras.initializers.HeNormal)
    ser = layers.serialize(d)
    assert ser["class_name"] == "Dense" and ser["module"] == "keras.layers"
    assert isinstance(layers.deserialize(json.loads(json.dumps(ser))), layers.Dense)
    with pytest.raises(ValueError, match="Unknown layer"):
        layers.deserialize({"class_name": "os.system", "config": {}})


def test_set_weights_checks_count_and_shapes():
    d = layers.Dense(3)
    d(np.ones((1, 2)))
    with pytest.raises(ValueError, match='"dense".*3 arrays.*2 weights'):
        d.set_weights([np.ones((2, 3)), np.ones(3), np.ones(3)])
    with pytest.raises(ValueError, match=r"dense/kernel.*\(2, 3\).*\(3, 2\)"):
        d.set_weights([np.ones((3, 2)), np.ones(3)])
    before = d.get_weights()
    with pytest.raises(ValueError):
        d.set_weights([np.full((2, 3), 7.0), np.ones(4)])
    np.testing.assert_array_equal(d.get_weights()[0], before[0])  # nothing assigned on error
    d.set_weights([np.full((2, 3), 2.0), np.ones(3)])
    assert d.kernel.numpy().sum() == 12.0


def test_count_params_requires_build():
    d = layers.Dense(3)
    with pytest.raises(ValueError, match="isn't built"):
        d.count_params()
    d(np.ones((1, 4)))
    assert d.count_params() == 15


# -- other core layers ---------------------------------------------------------------------
def test_dropout_training_semantics():
    drop = layers.Dropout(0.5)
    x = np.ones((100, 100), dtype=np.float32)
    for training in (None, False, 0):
        np.testing.assert_array_equal(drop(x, training=training).numpy(), x)
    tf.random.set_seed(3)
    y = drop(x, training=True).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert 0.45 < (y == 0).mean() < 0.55
    tf.random.set_seed(3)
    np.testing.assert_array_equal(drop(x, training=True).numpy(), y)
    y = layers.Dropout(0.5, noise_shape=(None, 1))(x, training=True).numpy()
    assert all(len(np.unique(row)) == 1 for row in y)
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(1.5)
    assert layers.Dropout(0.3, seed=1).get_config()["rate"] == 0.3


def test_flatten_reshape_activation_identity():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    assert tuple(layers.Flatten()(x).shape) == (2, 12)
    assert layers.Flatten().compute_output_shape((None, 3, 4)) == (None, 12)
    cf = layers.Flatten(data_format="channels_first")(x).numpy()
    np.testing.assert_array_equal(cf, x.transpose(0, 2, 1).reshape(2, 12))
    r = layers.Reshape((4, -1))
    assert tuple(r(x).shape) == (2, 4, 3)
    assert r.compute_output_shape((None, 3, 4)) == (None, 4, 3)
    with pytest.raises(ValueError, match="reshape"):
        layers.Reshape((5, -1))(x)
    with pytest.raises(ValueError):
        layers.Reshape((-1, -1))
    a = layers.Activation("tanh")
    np.testing.assert_allclose(a(x[:1]).numpy(), np.tanh(x[:1]), rtol=1e-6)
    assert a.get_config()["activation"] == "tanh"
    assert layers.Identity()(tf.constant(x)).numpy().sum() == x.sum()


def test_lambda_layer_and_config():
    lam = layers.Lambda(lambda t: t * 2.0)
    assert lam(tf.constant([[1.0, 2.0]])).numpy().tolist() == [[2.0, 4.0]]

    def triple(t):
        return t * 3.0
    cfg = layers.Lambda(triple, name="tri").get_config()
    assert cfg["function"] == "triple"
    with pytest.raises(ValueError, match="custom_objects"):
        layers.Lambda.from_config(cfg)
    again = layers.Lambda.from_config(cfg, custom_objects={"triple": triple})
    assert again(tf.constant([1.0])).numpy().tolist() == [3.0]


def test_input_layer_and_input():
    x = keras.Input(shape=(784,), name="pixels")
    assert tuple(x.shape) == (None, 784) and x.name == "pixels"
    assert keras.Input(shape=(3,), batch_size=8).shape.as_list() == [8, 3]
    il = layers.InputLayer(shape=(2, 3), dtype="int32")
    assert il.output.dtype == np.int32 and il.get_config()["batch_shape"] == [None, 2, 3]
    with pytest.raises(ValueError):
        layers.InputLayer()


def test_activation_layers():
    x = tf.constant([[-2.0, -0.5, 0.5, 8.0]])
    assert layers.ReLU()(x).numpy().tolist() == [[0.0, 0.0, 0.5, 8.0]]
    assert layers.ReLU(max_value=6.0)(x).numpy().tolist() == [[0.0, 0.0, 0.5, 6.0]]
    np.testing.assert_allclose(layers.LeakyReLU()(x).numpy(), [[-0.6, -0.15, 0.5, 8.0]], rtol=1e-6)
    p = layers.Softmax()(x)
    assert getattr(p, "_keras_logits", None) is x
    np.testing.assert_allclose(p.numpy().sum(), 1.0, rtol=1e-6)
    masked = layers.Softmax()(x, mask=tf.constant([[True, True, False, False]])).numpy()
    assert masked[0, 2] == 0 and masked[0, 3] == 0
    pr = layers.PReLU()
    pr(x)
    assert [tuple(w.shape) for w in pr.weights] == [(4,)]
    assert tuple(layers.PReLU(shared_axes=[1, 2])(tf.ones((2, 3, 4, 5))).shape) == (2, 3, 4, 5)


def test_merging_layers():
    a, b = tf.constant([[1.0, 2.0]]), tf.constant([[3.0, 5.0]])
    assert layers.Add()([a, b]).numpy().tolist() == [[4.0, 7.0]]
    assert layers.Subtract()([a, b]).numpy().tolist() == [[-2.0, -3.0]]
    assert layers.Multiply()([a, b]).numpy().tolist() == [[3.0, 10.0]]
    assert layers.Average()([a, b]).numpy().tolist() == [[2.0, 3.5]]
    assert layers.Maximum()([a, b]).numpy().tolist() == [[3.0, 5.0]]
    assert layers.Minimum()([a, b]).numpy().tolist() == [[1.0, 2.0]]
    assert layers.Concatenate()([a, b]).numpy().tolist() == [[1.0, 2.0, 3.0, 5.0]]
    assert layers.Dot(axes=1)([a, b]).numpy().tolist() == [[13.0]]
    x, y = np.ones((2, 3, 4), np.float32), np.ones((2, 5, 4), np.float32)
    assert tuple(layers.Dot(axes=(2, 2))([x, y]).shape) == (2, 3, 5)
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Add()(a)
    with pytest.raises(ValueError, match="exactly 2"):
        layers.Subtract()([a, b, a])


# -- Layer base contract -----------------------------------------------------------------------
class Scale(layers.Layer):
    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")

    def call(self, x):
        return x * self.w * self.factor


def test_custom_layer_build_and_weight_kinds():
    s = Scale(2.0)
    assert s.name == "scale"
    assert s(tf.ones((2, 3))).numpy().tolist() == [[2.0] * 3] * 2
    assert [w.name for w in s.weights] == ["w", "count"]
    assert [w.name for w in s.trainable_weights] == ["w"]
    assert [w.name for w in s.non_trainable_weights] == ["count"]
    assert s.trainable_variables == s.trainable_weights and s.variables == s.weights
    assert s.get_config()["factor"] == 2.0  # automatic config from simple constructor arguments
    again = Scale.from_config(s.get_config())
    assert again.factor == 2.0


def test_add_weight_in_init_and_keras2_positional_order():
    class Bias(layers.Layer):
        def __init__(self):
            super().__init__()
            self.b = self.add_weight("b", (2,), initializer="ones")
            self.k = self.add_weight((2, 2), "zeros", name="k")

        def call(self, x):
            return x + self.b

    layer = Bias()
    assert layer.b.path == "bias/b" and tuple(layer.k.shape) == (2, 2) and float(layer.k.numpy().sum()) == 0
    assert [w.name for w in layer.weights] == ["b", "k"]


def test_nested_tracking_lists_dicts_and_attribute_variables():
    class Block(layers.Layer):
        def __init__(self):
            super().__init__()
            self.first = layers.Dense(2, name="first")
            self.stack = [layers.Dense(3, name="s0")]
            self.stack.append(layers.Dense(4, name="s1"))
            self.heads = {"a": layers.Dense(1, name="ha")}
            self.scale = tf.Variable(1.0, name="scale")

        def call(self, x):
            x = self.first(x)
            for layer in self.stack:
                x = layer(x)
            return self.heads["a"](x) * self.scale

    block = Block()
    block(np.ones((1, 5)))
    assert [layer.name for layer in block._layers] == ["first", "s0", "s1", "ha"]
    assert [w.path for w in block.weights][:3] == ["scale", "block/first/kernel", "block/first/bias"]
    assert len(block.trainable_weights) == 9
    block.trainable = False
    assert block.trainable_weights == [] and len(block.non_trainable_weights) == 9
    assert not block.first.kernel.trainable
    block.trainable = True
    assert len(block.trainable_weights) == 9


def test_training_passed_only_when_accepted_and_inherited():
    seen = {}

    class Probe(layers.Layer):
        def call(self, x, training=None):
            seen["training"] = training
            return x

    class NoTraining(layers.Layer):
        def call(self, x):
            return x

    class Outer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.probe = Probe()

        def call(self, x):
            return self.probe(x)

    NoTraining()(tf.ones((1,)), training=True)  # no TypeError
    Probe()(tf.ones((1,)))
    assert seen["training"] is None
    Outer()(tf.ones((1,)), training=True)
    assert seen["training"] is True
    Outer()(tf.ones((1,)), training=False)
    assert seen["training"] is False


def test_add_loss_cleared_per_outer_call():
    class WithLoss(layers.Layer):
        def call(self, x):
            self.add_loss(tf.reduce_sum(x))
            return x

    class Outer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = WithLoss()

        def call(self, x):
            return self.inner(self.inner(x))

    o = Outer()
    o(tf.ones((2,)))
    assert [float(v) for v in o.losses] == [2.0, 2.0]
    o(tf.ones((3,)))
    assert [float(v) for v in o.losses] == [3.0, 3.0]


def test_build_called_once_with_input_shape():
    shapes = []

    class Rec(layers.Layer):
        def build(self, input_shape):
            shapes.append(input_shape)

        def call(self, x):
            return x

    r = Rec()
    r(tf.ones((4, 2)))
    r(tf.ones((4, 2)))
    assert shapes == [(4, 2)] and r.built


def test_layer_name_validation_and_uniqueness():
    assert [layers.Dense(1).name for _ in range(3)] == ["dense", "dense_1", "dense_2"]
    with pytest.raises(ValueError):
        layers.Dense(1, name="a/b")
    keras.backend.clear_session()
    assert layers.Dense(1).name == "dense"


def test_unserializable_custom_layer_needs_get_config():
    class Holder(layers.Layer):
        def __init__(self, fn):
            super().__init__()
            self.fn = fn

        def call(self, x):
            return self.fn(x)

    with pytest.raises(NotImplementedError, match="get_config"):
        Holder(lambda x: x).get_config()
