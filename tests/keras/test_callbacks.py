"""Callbacks: Keras 3 semantics of ModelCheckpoint, EarlyStopping, LR callbacks, CSVLogger, TerminateOnNaN,
LambdaCallback, and the spec's callback block."""
import csv
import os

import numpy as np
import pytest

from _oracle import require_module  # noqa: E402

require_module("h5py")
import tapeflow as tf  # noqa: E402

L = tf.keras.layers
cbs = tf.keras.callbacks


def make_model(lr=0.01, dropout=False):
    tf.random.set_seed(0)
    layers = [tf.keras.Input((4,)), L.Dense(8, activation="relu")]
    if dropout:
        layers.append(L.Dropout(0.2))
    layers.append(L.Dense(2, activation="softmax"))
    m = tf.keras.Sequential(layers)
    m.compile(optimizer=tf.keras.optimizers.SGD(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64")
    return x, y


class ScriptedLogs(cbs.Callback):
    """Replace epoch logs by a scripted sequence (runs before the callback under test)."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, list(values)

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


def test_model_checkpoint_templates_and_every_epoch(tmp_path, data):
    x, y = data
    m = make_model()
    ck = cbs.ModelCheckpoint(str(tmp_path / "m-{epoch:02d}-{val_loss:.2f}.keras"))
    h = m.fit(x, y, validation_data=(x, y), epochs=3, verbose=0, callbacks=[ck])
    names = sorted(os.listdir(tmp_path))
    assert names == [f"m-{e + 1:02d}-{v:.2f}.keras" for e, v in enumerate(h.history["val_loss"])]
    last = tf.keras.models.load_model(tmp_path / names[-1])
    assert np.array_equal(last.predict(x, verbose=0), m.predict(x, verbose=0))


def test_model_checkpoint_save_best_only_modes_and_threshold(tmp_path, data):
    x, y = data
    m = make_model()
    path = str(tmp_path / "best.weights.h5")
    ck = cbs.ModelCheckpoint(path, monitor="score", save_best_only=True, save_weights_only=True, mode="max",
                             initial_value_threshold=0.5)
    saved = []

    class Spy(cbs.Callback):
        def on_epoch_end(self, epoch, logs=None):
            saved.append((os.path.exists(path), ck.best))
    m.fit(x, y, epochs=5, verbose=0, callbacks=[ScriptedLogs("score", [0.4, 0.6, 0.55, 0.9, 0.1]), ck, Spy()])
    assert ck.best == 0.9  # 0.4 is below the threshold, 0.55 and 0.1 are not improvements
    assert saved == [(False, 0.5), (True, 0.6), (True, 0.6), (True, 0.9), (True, 0.9)]
    # mode auto: a loss is minimized, an accuracy maximized
    assert cbs.ModelCheckpoint(str(tmp_path / "a.keras"), monitor="val_loss").mode == "min"
    assert cbs.ModelCheckpoint(str(tmp_path / "a.keras"), monitor="val_accuracy").mode == "max"
    with pytest.raises(ValueError, match="weights.h5"):
        cbs.ModelCheckpoint(str(tmp_path / "w.h5"), save_weights_only=True)


def test_model_checkpoint_batch_frequency(tmp_path, data):
    x, y = data
    m = make_model()
    ck = cbs.ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}.weights.h5"), save_weights_only=True, save_freq=3)
    m.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[ck])  # 4 batches per epoch
    assert sorted(os.listdir(tmp_path)) == ["e1-b3.weights.h5", "e2-b2.weights.h5"]


def test_early_stopping_patience_and_restore_best_weights_without_stopping(data):
    x, y = data
    m = make_model()
    weights_at = {}

    class Record(cbs.Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights_at[epoch] = self.model.get_weights()
    es = cbs.EarlyStopping(monitor="metric", patience=2, restore_best_weights=True)
    h = m.fit(x, y, epochs=10, verbose=0, callbacks=[ScriptedLogs("metric", [5, 3, 4, 2, 2.5, 2.2, 9, 9, 9, 9]),
                                                     es, Record()])
    assert len(h.history["loss"]) == 6 and es.stopped_epoch == 5 and es.best_epoch == 3
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), weights_at[3]))
    # Keras 3: the best weights are restored at the end even when training never stopped early
    m2 = make_model()
    es2 = cbs.EarlyStopping(monitor="metric", patience=5, restore_best_weights=True)
    weights_at.clear()
    m2.fit(x, y, epochs=4, verbose=0, callbacks=[ScriptedLogs("metric", [3, 1, 2, 2]), es2, Record()])
    assert es2.stopped_epoch == 0
    assert all(np.array_equal(a, b) for a, b in zip(m2.get_weights(), weights_at[1]))


def test_early_stopping_min_delta_baseline_start_from_epoch(data):
    x, y = data
    es = cbs.EarlyStopping(monitor="metric", min_delta=0.5, patience=1)
    h = make_model().fit(x, y, epochs=10, verbose=0, callbacks=[ScriptedLogs("metric", [5, 4.8, 4.6] + [0] * 7), es])
    assert len(h.history["loss"]) == 2  # 4.8 is not 0.5 better than 5
    es = cbs.EarlyStopping(monitor="metric", patience=2, baseline=1.0)
    h = make_model().fit(x, y, epochs=10, verbose=0, callbacks=[ScriptedLogs("metric", [5, 6, 7, 8, 9] + [9] * 5),
                                                                es])
    assert len(h.history["loss"]) == 2  # the first value sets the best but does not beat the baseline
    es = cbs.EarlyStopping(monitor="metric", patience=0, start_from_epoch=3)
    h = make_model().fit(x, y, epochs=10, verbose=0, callbacks=[ScriptedLogs("metric", [1, 2, 3, 4, 5] + [0] * 5), es])
    assert len(h.history["loss"]) == 5  # epochs 0-2 ignored; 3 sets the best; 4 is worse
    with pytest.warns(UserWarning, match="not available"):
        make_model().fit(x, y, epochs=1, verbose=0, callbacks=[cbs.EarlyStopping(monitor="nope")])


def test_learning_rate_scheduler_both_signatures_and_history(data):
    x, y = data
    m = make_model(lr=0.1)
    h = m.fit(x, y, epochs=4, verbose=0, callbacks=[cbs.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))])
    np.testing.assert_allclose(h.history["learning_rate"], [0.1, 0.05, 0.1 / 3, 0.025], rtol=1e-6)

    def halve(epoch, lr):
        return lr if epoch == 0 else lr * 0.5
    m = make_model(lr=0.2)
    h = m.fit(x, y, epochs=3, verbose=0, callbacks=[cbs.LearningRateScheduler(halve)])
    np.testing.assert_allclose(h.history["learning_rate"], [0.2, 0.1, 0.05], rtol=1e-6)
    with pytest.raises(ValueError, match="finite float"):
        make_model().fit(x, y, epochs=1, verbose=0, callbacks=[cbs.LearningRateScheduler(lambda e: "fast")])


def test_reduce_lr_on_plateau_patience_cooldown_min_lr(data):
    x, y = data
    m = make_model(lr=1.0)
    cb = cbs.ReduceLROnPlateau(monitor="metric", factor=0.5, patience=1, cooldown=2, min_lr=0.2)
    h = m.fit(x, y, epochs=7, verbose=0, callbacks=[ScriptedLogs("metric", [1.0] * 7), cb])
    # epoch 0 sets best; 1 reduces (patience 1); 2 in cooldown; 3 reduces; 4 cooldown; 5 reduces to min_lr
    np.testing.assert_allclose(h.history["learning_rate"], [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2], rtol=1e-6)
    with pytest.raises(ValueError, match="factor"):
        cbs.ReduceLROnPlateau(factor=1.5)


def test_csv_logger_append_and_separator(tmp_path, data):
    x, y = data
    path = tmp_path / "sub" / "log.csv"
    m = make_model()
    m.fit(x, y, validation_data=(x, y), epochs=2, verbose=0, callbacks=[cbs.CSVLogger(str(path), separator=";")])
    m.fit(x, y, validation_data=(x, y), epochs=1, verbose=0,
          callbacks=[cbs.CSVLogger(str(path), separator=";", append=True)])
    rows = list(csv.reader(open(path), delimiter=";"))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "0"] and len(rows) == 4
    float(rows[1][2])


def test_terminate_on_nan_stops_within_the_epoch(data):
    x, y = data
    m = make_model()
    seen = []

    class PoisonLoss(cbs.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)
            if batch == 1:
                logs["loss"] = float("nan")
    m.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[PoisonLoss(), cbs.TerminateOnNaN()])
    assert seen == [0, 1]


def test_lambda_callback_and_remote_monitor(data):
    x, y = data
    events = []
    cb = cbs.LambdaCallback(on_train_begin=lambda logs: events.append("begin"),
                            on_epoch_end=lambda epoch, logs: events.append(("epoch", epoch, "loss" in logs)),
                            on_batch_end=lambda batch, logs: events.append(("batch", batch)),
                            on_train_end=lambda logs: events.append("end"))
    make_model().fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[cb])
    assert events == ["begin", ("batch", 0), ("batch", 1), ("epoch", 0, True), ("batch", 0), ("batch", 1),
                      ("epoch", 1, True), "end"]
    with pytest.raises(TypeError, match="unknown hook"):
        cbs.LambdaCallback(on_everything=print)


def test_spec_callback_block_runs_as_written(tmp_path, data, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x, y = data
    xv, yv = x[:16], y[:16]
    model = make_model(dropout=True)
    callbacks = [
        tf.keras.callbacks.ModelCheckpoint('best_model.h5', save_best_only=True, monitor='val_loss'),
        tf.keras.callbacks.EarlyStopping(monitor='val_loss', patience=3, restore_best_weights=True),
        tf.keras.callbacks.TensorBoard(log_dir='logs', histogram_freq=1),
        tf.keras.callbacks.LearningRateScheduler(lambda epoch: 1e-3 * (0.5 ** (epoch // 5))),
    ]
    history = model.fit(x, y, validation_data=(xv, yv), epochs=20, callbacks=callbacks, verbose=0)
    n = len(history.history["loss"])
    assert 1 <= n <= 20
    np.testing.assert_allclose(history.history["learning_rate"], [1e-3 * 0.5 ** (e // 5) for e in range(n)],
                               rtol=1e-6)
    best = tf.keras.models.load_model("best_model.h5")
    best_epoch = int(np.argmin(history.history["val_loss"]))
    np.testing.assert_allclose(best.evaluate(xv, yv, verbose=0)[0], history.history["val_loss"][best_epoch],
                               rtol=1e-5)
    assert os.path.isdir("logs/train") and os.path.isdir("logs/validation")


def _post_server():
    import http.server
    import threading
    got = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers["Content-Length"])
            got.append((self.path, self.headers["Content-Type"], self.rfile.read(n).decode()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, got


@pytest.mark.parametrize("as_json", [False, True])
def test_remote_monitor_posts_each_epoch(data, as_json):
    import json
    import urllib.parse
    server, got = _post_server()
    try:
        x, y = data
        root = f"http://127.0.0.1:{server.server_address[1]}"
        make_model().fit(x, y, batch_size=32, epochs=2, verbose=0,
                         callbacks=[cbs.RemoteMonitor(root=root, path="/logs/", send_as_json=as_json,
                                                      headers={"X-Run": "a"})])
    finally:
        server.shutdown()
    assert [g[0] for g in got] == ["/logs/", "/logs/"]
    if as_json:
        sent = [json.loads(g[2]) for g in got]
        assert got[0][1] == "application/json"
    else:
        sent = [json.loads(urllib.parse.parse_qs(g[2])["data"][0]) for g in got]
        assert got[0][1] == "application/x-www-form-urlencoded"
    assert [d["epoch"] for d in sent] == [0, 1]
    assert all(isinstance(d["loss"], float) and d["loss"] > 0 for d in sent)


def test_remote_monitor_unreachable_server_warns_and_training_goes_on(data):
    import socket
    with socket.socket() as s:   # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    x, y = data
    with pytest.warns(RuntimeWarning, match="could not reach the server"):
        h = make_model().fit(x, y, batch_size=32, epochs=1, verbose=0,
                             callbacks=[cbs.RemoteMonitor(root=f"http://127.0.0.1:{port}", timeout=2)])
    assert len(h.history["loss"]) == 1
    with pytest.raises(ValueError, match="http:// or https:// URL"):
        cbs.RemoteMonitor(root="localhost:9000")
