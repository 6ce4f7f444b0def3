"""compile / fit / evaluate / predict: behaviour, logs, bad input, and the spec's workflow."""
import numpy as np
import pytest

import tapeflow as tf

keras = tf.keras


def mlp(inputs=4, hidden=8, classes=3, act="softmax"):
    return keras.Sequential([keras.layers.Dense(hidden, activation="relu", input_shape=(inputs,)),
                             keras.layers.Dense(classes, activation=act)])


def toy(n=64, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    return x, y % k


def test_fit_before_compile_says_compile():
    m = mlp()
    x, y = toy()
    for call in (lambda: m.fit(x, y, verbose=0), lambda: m.evaluate(x, y, verbose=0)):
        with pytest.raises(RuntimeError, match="compile"):
            call()


def test_fit_history_keys_and_learning():
    tf.random.set_seed(1)
    x, y = toy(256)
    m = mlp()
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = m.fit(x, y, epochs=5, batch_size=16, validation_data=(x[:32], y[:32]), verbose=0)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(h.history["loss"]) == 5 and h.epoch == [0, 1, 2, 3, 4]
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert m.history is h
    res = m.evaluate(x, y, verbose=0)
    assert isinstance(res, list) and len(res) == 2
    d = m.evaluate(x, y, verbose=0, return_dict=True)
    assert set(d) == {"loss", "accuracy"} and abs(d["loss"] - res[0]) < 1e-6
    p = m.predict(x, verbose=0)
    assert p.shape == (256, 3) and np.allclose(p.sum(1), 1, atol=1e-5)


def test_loss_is_batch_size_weighted_mean_over_epoch():
    x, y = toy(10)
    m = mlp()
    m.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    h = m.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)  # batches of 4, 4, 2
    full = m.evaluate(x, y, batch_size=10, verbose=0)
    assert abs(h.history["loss"][0] - full) < 1e-5


def test_accuracy_string_resolution():
    x, y = toy(32)
    for loss, yy, name in (("sparse_categorical_crossentropy", y, "SparseCategoricalAccuracy"),
                           ("categorical_crossentropy", np.eye(3)[y], "CategoricalAccuracy")):
        m = mlp()
        m.compile("adam", loss, metrics=["accuracy"])
        m.fit(x, yy, epochs=1, verbose=0)
        assert type(m.compiled_metrics.metrics[0]).__name__ == name
    mb = mlp(classes=1, act="sigmoid")
    mb.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    mb.fit(x, (y > 0).astype(np.float32)[:, None], epochs=1, verbose=0)
    assert type(mb.compiled_metrics.metrics[0]).__name__ == "BinaryAccuracy"


def test_validation_split_takes_last_fraction(monkeypatch):
    x, y = toy(100)
    m = mlp()
    m.compile("sgd", "sparse_categorical_crossentropy")
    seen = []
    orig = m.test_step
    monkeypatch.setattr(m, "test_step", lambda data: (seen.append(np.array(data[0])), orig(data))[1])
    m.fit(x, y, validation_split=0.2, epochs=1, batch_size=100, verbose=0)
    np.testing.assert_array_equal(seen[0], x[80:])


def test_verbose_modes(capsys):
    x, y = toy(64)
    m = mlp()
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(x, y, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""
    m.fit(x, y, epochs=2, verbose=2)
    out = capsys.readouterr().out
    assert out.count("Epoch ") == 2 and "loss:" in out and "accuracy:" in out
    m.fit(x, y, epochs=1, verbose=1, validation_data=(x, y))
    out = capsys.readouterr().out
    assert "2/2" in out and "val_loss:" in out and "step" in out


def test_initial_epoch_and_validation_freq():
    x, y = toy(32)
    m = mlp()
    m.compile("adam", "sparse_categorical_crossentropy")
    h = m.fit(x, y, epochs=5, initial_epoch=2, validation_data=(x, y), validation_freq=2, verbose=0)
    assert h.epoch == [2, 3, 4]
    assert len(h.history["loss"]) == 3 and len(h.history["val_loss"]) == 1  # only after epoch index 3


def test_sample_weight_zero_means_no_update():
    x, y = toy(16)
    m = mlp()
    m.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    w0 = [w.copy() for w in m.get_weights()]
    m.fit(x, y, sample_weight=np.zeros(16), epochs=1, verbose=0)
    for a, b in zip(w0, m.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_class_weight_matches_sample_weight():
    x, y = toy(32)
    weights = []
    for kw in ({"class_weight": {0: 1.0, 1: 3.0, 2: 0.5}},
               {"sample_weight": np.array([{0: 1.0, 1: 3.0, 2: 0.5}[int(c)] for c in y])}):
        tf.random.set_seed(3)
        m = mlp()
        m.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
        m.fit(x, y, epochs=2, shuffle=False, verbose=0, **kw)
        weights.append(m.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    m = mlp()
    m.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="class_weight has no entry for classes"):
        m.fit(x, y, class_weight={0: 1.0}, verbose=0)


def test_frozen_layer_does_not_update():
    x, y = toy(32)
    m = mlp()
    m.layers[0].trainable = False
    m.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    k0 = m.layers[0].get_weights()[0].copy()
    k1 = m.layers[1].get_weights()[0].copy()
    m.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(k0, m.layers[0].get_weights()[0])
    assert not np.array_equal(k1, m.layers[1].get_weights()[0])


def test_generator_and_iterable_inputs():
    x, y = toy(64)

    def gen():
        while True:
            for i in range(0, 64, 16):
                yield x[i:i + 16], y[i:i + 16]

    m = mlp()
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    h = m.fit(gen(), steps_per_epoch=4, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2
    class Batches:  # a re-iterable source, as a tf.data.Dataset is
        def __iter__(self):
            return ((x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16))

    h = m.fit(Batches(), epochs=2, validation_data=Batches(), verbose=0)
    assert len(h.history["val_loss"]) == 2


def test_train_and_test_on_batch():
    x, y = toy(16)
    m = mlp()
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    out = m.train_on_batch(x, y)
    assert isinstance(out, list) and len(out) == 2
    d = m.test_on_batch(x, y, return_dict=True)
    assert set(d) == {"loss", "accuracy"}
    assert m.predict_on_batch(x).shape == (16, 3)


def test_custom_train_step_logs_flow_to_history():
    class Custom(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = keras.layers.Dense(1)

        def call(self, x):
            return self.d(x)

        def train_step(self, data):
            x, y = data
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(self(x, training=True) - y))
            g = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply_gradients(zip(g, self.trainable_variables))
            return {"my_loss": loss}

    m = Custom()
    m.compile(optimizer="sgd")
    x = np.random.default_rng(0).normal(size=(32, 2)).astype(np.float32)
    h = m.fit(x, x[:, :1] * 2, epochs=3, verbose=0)
    assert "my_loss" in h.history and h.history["my_loss"][-1] < h.history["my_loss"][0]


def test_regularization_losses_enter_the_loss():
    x, y = toy(16)
    m = keras.Sequential([keras.layers.Dense(3, input_shape=(4,), kernel_regularizer=keras.regularizers.l2(10.0))])
    m.compile(keras.optimizers.SGD(0.0), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    plain = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, m(x)))
    reg = 10.0 * float(np.sum(m.layers[0].get_weights()[0] ** 2))
    assert abs(m.evaluate(x, y, verbose=0) - (plain + reg)) < 1e-3 * (plain + reg)


# -- bad input ---------------------------------------------------------------------------
def compiled():
    m = mlp()
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def test_x_y_length_mismatch():
    x, y = toy(16)
    with pytest.raises(ValueError, match="x has 16.*y has 15|y has 15.*x has 16"):
        compiled().fit(x, y[:15], verbose=0)


def test_input_shape_mismatch_names_layer():
    with pytest.raises(ValueError) as e:
        compiled().fit(np.zeros((8, 5), np.float32), np.zeros(8, np.int64), verbose=0)
    msg = str(e.value)
    assert "dense" in msg and "4" in msg and "5" in msg


def test_sparse_labels_out_of_range():
    x, _ = toy(8)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        compiled().fit(x, np.full(8, 3), verbose=0)


def test_one_hot_to_sparse_loss_and_sparse_to_categorical():
    x, y = toy(8)
    with pytest.raises(ValueError, match="CategoricalCrossentropy|categorical_crossentropy"):
        compiled().fit(x, np.eye(3)[y], verbose=0)
    m = mlp()
    m.compile("adam", "categorical_crossentropy")
    with pytest.raises(ValueError, match="[Ss]parse"):
        m.fit(x, y, verbose=0)


def test_nan_in_x():
    x, y = toy(8)
    x[5, 1] = np.nan
    with pytest.raises(ValueError, match="NaN.*sample 5"):
        compiled().fit(x, y, verbose=0)


def test_empty_data():
    with pytest.raises(ValueError, match="empty"):
        compiled().fit(np.zeros((0, 4), np.float32), np.zeros(0, np.int64), verbose=0)
    with pytest.raises(ValueError, match="no batches|empty"):
        compiled().fit([], epochs=1, verbose=0)


def test_unknown_names_list_close_matches():
    m = mlp()
    with pytest.raises(ValueError, match="adam"):
        m.compile(optimizer="adma", loss="mse")
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy_")
    with pytest.raises(ValueError, match="relu"):
        keras.layers.Dense(3, activation="rleu")


# -- the spec's workflow and the PyTorch equivalence ---------------------------------------
def _fashion(n=None):
    (x, y), (xt, yt) = keras.datasets.fashion_mnist.load_data()
    x = x.reshape(-1, 784) / 255.0
    xt = xt.reshape(-1, 784) / 255.0
    return (x[:n], y[:n]) if n else (x, y), (xt, yt)


def test_spec_workflow_fashion_mnist_reaches_085(require_dataset):
    tf.random.set_seed(0)
    (x_train, y_train), (x_val, y_val) = _fashion()
    model = tf.keras.Sequential([
        tf.keras.layers.Dense(128, activation="relu", input_shape=(784,)),
        tf.keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=3, batch_size=32, verbose=0)
    loss, acc = model.evaluate(x_val, y_val, verbose=0)
    assert acc >= 0.85, h.history
    assert abs(acc - h.history["val_accuracy"][-1]) < 1e-6


def test_one_epoch_of_sgd_matches_pytorch(require_dataset, torch):
    (x, y), _ = _fashion()
    x = x.astype(np.float32)
    tf.random.set_seed(0)
    model = keras.Sequential([keras.layers.Dense(128, activation="relu", input_shape=(784,)),
                              keras.layers.Dense(10, activation="softmax")])
    w0 = model.get_weights()
    net = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    with torch.no_grad():  # Keras kernels are (in, out); torch weights are (out, in)
        net[0].weight.copy_(torch.from_numpy(w0[0].T)); net[0].bias.copy_(torch.from_numpy(w0[1]))
        net[2].weight.copy_(torch.from_numpy(w0[2].T)); net[2].bias.copy_(torch.from_numpy(w0[3]))
    model.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    X, Y = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    for s in range(0, len(x), 32):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(X[s:s + 32]), Y[s:s + 32]).backward()
        opt.step()
    w = model.get_weights()
    ref = [net[0].weight.detach().numpy().T, net[0].bias.detach().numpy(),
           net[2].weight.detach().numpy().T, net[2].bias.detach().numpy()]
    for a, b in zip(w, ref):
        np.testing.assert_allclose(a, b, rtol=0, atol=2e-4)
