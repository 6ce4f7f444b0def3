"""fit()'s batch shards on threads (tapeflow/keras/sharded_step.py): the same training as the whole-batch
replay up to float rounding, reproducible, and refused where a layer mixes batch rows."""
import threading

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.backend import blas, threads
from tapeflow.keras import sharded_step

L = tf.keras.layers
RS = np.random.RandomState(0)
X = RS.rand(256, 10, 10, 1).astype(np.float32)
LABELS = RS.randint(0, 4, 256)

pytestmark = pytest.mark.skipif(not blas.available(), reason="NumPy's BLAS is not OpenBLAS")


@pytest.fixture(autouse=True)
def two_threads(monkeypatch):
    monkeypatch.setattr(sharded_step, "MIN_WORK", 1000)  # small models, so the suite stays fast
    tf.config.threading.set_inter_op_parallelism_threads(2)
    yield
    tf.config.threading.set_inter_op_parallelism_threads(0)


def cnn():
    return tf.keras.Sequential([
        tf.keras.Input((10, 10, 1)), L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(2),
        L.Flatten(), L.Dense(16, activation="relu"), L.Dense(4)])


def train(build, shards, x=X, y=LABELS, batch_size=64, epochs=2, **compile_kw):
    tf.config.threading.set_inter_op_parallelism_threads(shards)
    tf.random.set_seed(0)
    model = build()
    compile_kw.setdefault("loss", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), metrics=["accuracy"], **compile_kw)
    hist = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=True)
    return model, model.get_weights(), hist.history


def test_sharded_cnn_trains_as_the_whole_batch_does():
    whole, w1, h1 = train(cnn, 1)
    sharded, w2, h2 = train(cnn, 2)
    assert whole._trace_status == "replaying"
    assert sharded._trace_status == "replaying on 2 batch shards"
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-5)
    assert h1["accuracy"] == h2["accuracy"]
    _, w3, h3 = train(cnn, 2)  # the same shards in the same order: bitwise reproducible
    assert all(np.array_equal(a, b) for a, b in zip(w2, w3)) and h2 == h3


def test_shards_run_on_threads_with_single_threaded_blas(monkeypatch):
    seen = []
    real = sharded_step.Shards.forward

    def spy(self, xs):
        out = real(self, xs)
        seen.append(len(self.programs))
        return out
    counts = []
    real_run = threads.run

    def run(tasks, n=None):
        counts.append((n, blas.get_threads(), threading.get_ident()))
        return real_run(tasks, n)
    monkeypatch.setattr(sharded_step.Shards, "forward", spy)
    monkeypatch.setattr(threads, "run", run)
    train(cnn, 3, batch_size=96, epochs=3)  # batches of 96, 96 and 64 rows: two recordings each, then shards
    assert seen and set(seen) == {3}
    assert all(n == 3 and b == 1 for n, b, _ in counts)


def shard_counts(model):
    return sorted(len(e.shards.programs) if isinstance(e.shards, sharded_step.Shards) else e.shards
                  for e in model._trace_cache.values())


def test_uneven_last_batch_and_regression_loss():
    y = RS.rand(256, 4).astype(np.float32)
    _, w1, h1 = train(cnn, 1, y=y, batch_size=100, loss="mse", epochs=3)
    m, w2, h2 = train(cnn, 2, y=y, batch_size=100, loss="mse", epochs=3)
    assert shard_counts(m) == [2, 2]  # batches of 100 and of 56 rows, each split in two
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_lstm_shards():
    x = RS.rand(128, 7, 5).astype(np.float32)
    y = RS.randint(0, 4, 128)

    def build():
        return tf.keras.Sequential([tf.keras.Input((7, 5)), L.LSTM(12), L.Dense(4)])
    _, w1, _ = train(build, 1, x=x, y=y, batch_size=32)
    m, w2, _ = train(build, 2, x=x, y=y, batch_size=32)
    assert m._trace_status == "replaying on 2 batch shards"
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_a_layer_mixing_batch_rows_is_never_split():
    def build():
        inp = tf.keras.Input((10, 10, 1))
        h = L.Flatten()(L.Conv2D(8, 3, activation="relu")(inp))
        h = h + h[::-1]  # row i meets row n-1-i: a shard holds only one of the two
        return tf.keras.Model(inp, L.Dense(4)(h))
    whole, w1, h1 = train(build, 1)
    m, w2, h2 = train(build, 2)
    assert m._trace_status == "replaying", m._trace_status
    assert "mixes batch rows" in next(iter(m._trace_cache.values())).shards
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2)) and h1 == h2


@pytest.mark.parametrize("shards, rows, why", [
    (1, 64, "one inter-op thread"), (2, 12, "too small to split")])
def test_small_steps_stay_whole(shards, rows, why):
    m, _, _ = train(cnn, shards, x=X[:rows * 4], y=LABELS[:rows * 4], batch_size=rows)
    assert m._trace_status == "replaying"
    assert why in next(iter(m._trace_cache.values())).shards


def test_inter_op_setting_and_environment(monkeypatch):
    tf.config.threading.set_inter_op_parallelism_threads(3)
    assert tf.config.threading.get_inter_op_parallelism_threads() == 3 and threads.inter_op_threads() == 3
    tf.config.threading.set_inter_op_parallelism_threads(0)
    monkeypatch.setenv("TAPEFLOW_INTER_OP_THREADS", "1")
    assert threads.inter_op_threads() == 1
    with pytest.raises(ValueError, match="inter-op thread count"):
        tf.config.threading.set_inter_op_parallelism_threads(-1)


def test_blas_single_threaded_restores_the_count():
    before = blas.get_threads()
    with pytest.raises(KeyError):
        with blas.single_threaded():
            assert blas.get_threads() == 1
            raise KeyError
    assert blas.get_threads() == before


def test_changing_the_thread_count_between_fits_replans():
    tf.config.threading.set_inter_op_parallelism_threads(2)
    tf.random.set_seed(0)
    m = cnn()
    m.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    m.fit(X, LABELS, batch_size=64, epochs=2, verbose=0)
    assert shard_counts(m) == [2]
    tf.config.threading.set_inter_op_parallelism_threads(1)
    m.fit(X, LABELS, batch_size=64, epochs=1, verbose=0)
    assert shard_counts(m) == ["one inter-op thread"]
    tf.config.threading.set_inter_op_parallelism_threads(3)
    m.fit(X, LABELS, batch_size=64, epochs=1, verbose=0)
    assert shard_counts(m) == [3]


def test_two_input_model_fed_by_a_dataset():
    b = RS.rand(256, 5).astype(np.float32)

    def build():
        ia, ib = tf.keras.Input((10, 10, 1)), tf.keras.Input((5,))
        h = L.Flatten()(L.MaxPooling2D()(L.Conv2D(8, 3, activation="relu")(ia)))
        return tf.keras.Model([ia, ib], L.Dense(4)(L.Concatenate()([h, L.Dense(4, activation="relu")(ib)])))

    def fit(shards):
        tf.config.threading.set_inter_op_parallelism_threads(shards)
        tf.random.set_seed(0)
        m = build()
        m.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        m.fit(tf.data.Dataset.from_tensor_slices(((X, b), LABELS)).batch(64), epochs=3, verbose=0)
        return m
    whole, sharded = fit(1), fit(2)
    assert shard_counts(sharded) == [2]
    for u, v in zip(whole.get_weights(), sharded.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-5)


def test_dropout_steps_stay_whole():
    def build():
        return tf.keras.Sequential([tf.keras.Input((10, 10, 1)), L.Conv2D(8, 3, activation="relu"), L.Flatten(),
                                    L.Dropout(0.3), L.Dense(4)])
    m, _, _ = train(build, 2)
    assert m._trace_status == "replaying"
    assert "draws random numbers" in shard_counts(m)[0]
