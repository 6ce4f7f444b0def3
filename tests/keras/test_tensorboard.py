"""TensorBoard callback: event files read back with TensorBoard's own reader, in Keras's layout."""
import os
import subprocess
import sys

import numpy as np
import pytest

from _oracle import require_module  # noqa: E402

require_module("tensorboardX")
ea_mod = require_module("tensorboard.backend.event_processing.event_accumulator")
import tapeflow as tf  # noqa: E402

L = tf.keras.layers


def read(folder):
    acc = ea_mod.EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def make():
    tf.random.set_seed(0)
    m = tf.keras.Sequential([tf.keras.Input((4,)), L.Dense(8, activation="relu"), L.Dense(2, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype("float32")
    return m, x, (x[:, 0] > 0).astype("int64")


def test_spec_block_events_read_back_with_tensorboard(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model, x, y = make()
    callbacks = [
        tf.keras.callbacks.ModelCheckpoint('best_model.h5', save_best_only=True, monitor='val_loss'),
        tf.keras.callbacks.EarlyStopping(monitor='val_loss', patience=3, restore_best_weights=True),
        tf.keras.callbacks.TensorBoard(log_dir='logs', histogram_freq=1),
        tf.keras.callbacks.LearningRateScheduler(lambda epoch: 1e-3 * (0.5 ** (epoch // 5))),
    ]
    h = model.fit(x, y, validation_data=(x[:10], y[:10]), epochs=20, callbacks=callbacks, verbose=0).history
    n = len(h["loss"])
    train, val = read("logs/train"), read("logs/validation")
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= set(train.Tags()["scalars"])
    assert {"epoch_loss", "epoch_accuracy", "evaluation_loss_vs_iterations"} <= set(val.Tags()["scalars"])
    for tag, key in (("epoch_loss", "loss"), ("epoch_accuracy", "accuracy"), ("epoch_learning_rate", "learning_rate")):
        got = scalars(train, tag)
        assert [s for s, _ in got] == list(range(n))
        np.testing.assert_allclose([v for _, v in got], h[key], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in scalars(val, "epoch_loss")], h["val_loss"], rtol=1e-6)
    hist_tags = set(train.Tags()["histograms"])
    assert hist_tags == {f"{v.path}/histogram" for v in model.weights}
    kernel = model.layers[0].kernel.numpy()
    last = train.Histograms(f"{model.layers[0].kernel.path}/histogram")
    assert len(last) == n and last[-1].step == n - 1
    # EarlyStopping restored the best weights after the last histogram was written: compare counts only
    assert last[-1].histogram_value.num == kernel.size


def test_batch_level_scalars_with_update_freq(tmp_path):
    model, x, y = make()
    cb = tf.keras.callbacks.TensorBoard(log_dir=str(tmp_path), update_freq=2)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[cb])  # 5 batches per epoch, 10 in all
    train = read(tmp_path / "train")
    assert [s for s, _ in scalars(train, "batch_loss")] == [2, 4, 6, 8, 10]
    assert not os.path.exists(tmp_path / "validation")  # nothing validated, no validation run
    cb = tf.keras.callbacks.TensorBoard(log_dir=str(tmp_path / "b"), update_freq="batch")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[cb])
    assert len(scalars(read(tmp_path / "b" / "train"), "batch_accuracy")) == 5
    with pytest.raises(ValueError, match="update_freq"):
        tf.keras.callbacks.TensorBoard(update_freq="sometimes")


def test_import_tapeflow_does_not_import_tensorboard():
    code = "import sys, tapeflow, tapeflow.keras.callbacks; print(any(m.startswith(('tensorboard', 'tensorboardX')) " \
           "for m in sys.modules))"
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo, check=True)
    assert out.stdout.strip() == "False"


def _graph_nodes(folder):
    acc = read(folder)
    return [(n.name, n.op, list(n.input), n.attr["output_shape"].s.decode(), n.attr["params"].i)
            for n in acc.Graph().node]


def test_write_graph_puts_the_layer_graph_in_the_train_run(tmp_path):
    L = tf.keras.layers
    inp = tf.keras.Input((4,), name="x")
    a, b = L.Dense(3, name="left")(inp), L.Dense(3, name="right")(inp)
    model = tf.keras.Model(inp, L.Dense(1, name="head")(L.Add(name="sum")([a, b])))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 4)), np.ones((8, 1)), epochs=1, verbose=0,
              callbacks=[tf.keras.callbacks.TensorBoard(str(tmp_path))])
    assert _graph_nodes(tmp_path / "train") == [
        ("x", "InputLayer", [], "(None, 4)", 0), ("left", "Dense", ["x"], "(None, 3)", 15),
        ("right", "Dense", ["x"], "(None, 3)", 15), ("sum", "Add", ["left", "right"], "(None, 3)", 0),
        ("head", "Dense", ["sum"], "(None, 1)", 4)]

    seq, x, y = make()
    seq.fit(x, y, epochs=1, verbose=0,
            callbacks=[tf.keras.callbacks.TensorBoard(str(tmp_path / "seq"))])
    nodes = _graph_nodes(tmp_path / "seq" / "train")
    assert [n[2] for n in nodes] == [[]] + [[nodes[i][0]] for i in range(len(nodes) - 1)]  # a chain


def test_write_graph_false_writes_no_graph(tmp_path):
    model, x, y = make()
    model.fit(x, y, epochs=1, verbose=0,
              callbacks=[tf.keras.callbacks.TensorBoard(str(tmp_path), write_graph=False)])
    with pytest.raises(ValueError):
        read(tmp_path / "train").Graph()
