"""BackupAndRestore: a run killed (SIGKILL) after epoch k and restarted ends bit-for-bit equal to an uninterrupted
run; a kill during a backup write never leaves a broken backup."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from _oracle import require_module  # noqa: E402

require_module("h5py")
import tapeflow as tf  # noqa: E402
from tapeflow.keras.saving import ModelFileError  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TRAIN = r"""
import json, os, signal, sys, numpy as np, tapeflow as tf
from tapeflow.keras.callbacks.backup import capture_rng_state
backup, out, kill_after, save_freq = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
tf.random.set_seed(42)
np.random.seed(7)
rng = np.random.default_rng(0)
x = rng.normal(size=(48, 6)).astype("float32")
y = (x[:, 0] - x[:, 2] > 0).astype("int64")
L = tf.keras.layers
model = tf.keras.Sequential([tf.keras.Input((6,)), L.Dense(16, activation="relu"), L.Dropout(0.3),
                             L.Dense(8, activation="relu"), L.Dropout(0.2, seed=3), L.Dense(2, activation="softmax")])
model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])

class Kill(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

# the learning rate depends on NumPy's global RNG, so its state must be restored too
cbs = [tf.keras.callbacks.LearningRateScheduler(lambda e: 0.01 * (1.0 + 0.5 * np.random.rand()))]
if backup != "-":
    cbs.append(tf.keras.callbacks.BackupAndRestore(backup, save_freq="epoch" if save_freq == "epoch" else int(save_freq)))
cbs.append(Kill())
h = model.fit(x, y, epochs=6, batch_size=8, validation_split=0.25, callbacks=cbs, verbose=0)
arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
arrays.update({f"o{i}": w for i, w in enumerate(model.optimizer.get_weights())})
np.savez(out, epochs=np.array(h.epoch), rng=np.frombuffer(json.dumps(capture_rng_state()).encode(), np.uint8),
         **arrays)
"""


def run(tmp_path, backup, out, kill_after=-1, save_freq="epoch"):
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, "-c", TRAIN, str(backup), str(out), str(kill_after), save_freq],
                          env=env, cwd=tmp_path, capture_output=True, text=True)


def test_killed_run_resumes_bitwise_equal_to_uninterrupted_run(tmp_path):
    ref = run(tmp_path, "-", tmp_path / "ref.npz")
    assert ref.returncode == 0, ref.stderr
    backup = tmp_path / "backup"
    killed = run(tmp_path, backup, tmp_path / "never.npz", kill_after=2)
    assert killed.returncode == -signal.SIGKILL
    assert os.path.exists(backup / "latest.weights.h5") and not os.path.exists(tmp_path / "never.npz")
    resumed = run(tmp_path, backup, tmp_path / "resumed.npz")
    assert resumed.returncode == 0, resumed.stderr
    a, b = np.load(tmp_path / "ref.npz"), np.load(tmp_path / "resumed.npz")
    assert list(a["epochs"]) == [0, 1, 2, 3, 4, 5] and list(b["epochs"]) == [3, 4, 5]  # epoch counter restored
    keys = [k for k in a.files if k[0] in "wo"]
    assert keys == [k for k in b.files if k[0] in "wo"] and any(k.startswith("o") for k in keys)
    for k in keys:  # weights and optimizer state (iterations, Adam moments), bit for bit
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k
    assert json.loads(a["rng"].tobytes()) == json.loads(b["rng"].tobytes())  # tapeflow + NumPy RNG state
    assert not os.path.exists(backup)  # delete_checkpoint=True removes it when training completes


def test_batch_frequency_backup_restarts_the_interrupted_epoch(tmp_path):
    backup = tmp_path / "b"
    killed = run(tmp_path, backup, tmp_path / "x.npz", kill_after=1, save_freq="2")
    assert killed.returncode == -signal.SIGKILL
    resumed = run(tmp_path, backup, tmp_path / "r.npz", save_freq="2")
    assert resumed.returncode == 0, resumed.stderr
    # the last backup was taken during epoch 1's batches (epoch end comes after them): epoch 1 is run again
    assert list(np.load(tmp_path / "r.npz")["epochs"]) == [1, 2, 3, 4, 5]


def small_model():
    m = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    m.compile(optimizer="adam", loss="mse")
    return m


def test_bad_backups_are_refused_with_the_file_named(tmp_path):
    x, y = np.ones((4, 3), "float32"), np.ones((4, 2), "float32")
    d = tmp_path / "bk"
    m = small_model()
    m.fit(x, y, epochs=2, verbose=0, callbacks=[tf.keras.callbacks.BackupAndRestore(str(d), delete_checkpoint=False)])
    path = d / "latest.weights.h5"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 3])
    with pytest.raises(ModelFileError, match=r"latest\.weights\.h5"):
        small_model().fit(x, y, epochs=3, verbose=0, callbacks=[tf.keras.callbacks.BackupAndRestore(str(d))])
    m.save_weights(str(d / "latest.weights.h5"))  # a weights file without training state
    with pytest.raises(ModelFileError, match=r"latest\.weights\.h5.*training_state"):
        small_model().fit(x, y, epochs=3, verbose=0, callbacks=[tf.keras.callbacks.BackupAndRestore(str(d))])
    other = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(5)])
    other.compile(optimizer="adam", loss="mse")
    d2 = tmp_path / "bk2"
    small_model().fit(x, y, epochs=1, verbose=0,
                      callbacks=[tf.keras.callbacks.BackupAndRestore(str(d2), delete_checkpoint=False)])
    with pytest.raises(ModelFileError, match=r"bk2.*latest\.weights\.h5.*shape"):
        other.fit(x, np.ones((4, 5), "float32"), epochs=2, verbose=0,
                  callbacks=[tf.keras.callbacks.BackupAndRestore(str(d2))])
    unbuilt = tf.keras.Sequential([tf.keras.layers.Dense(2)])
    unbuilt.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="must be built"):
        unbuilt.fit(x, y, epochs=1, verbose=0, callbacks=[tf.keras.callbacks.BackupAndRestore(str(tmp_path / "u"))])


LOOP = r"""
import sys, numpy as np, tapeflow as tf
d = sys.argv[1]
L = tf.keras.layers
m = tf.keras.Sequential([tf.keras.Input((64,)), L.Dense(256), L.Dense(256), L.Dense(4)])
m.compile(optimizer="adam", loss="mse")
cb = tf.keras.callbacks.BackupAndRestore(d, delete_checkpoint=False)
x, y = np.ones((8, 64), "float32"), np.ones((8, 4), "float32")
first = True
while True:
    m.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[cb])
    if first:
        print("saved", flush=True)
        first = False
"""


def test_sigkill_during_backup_write_leaves_a_restorable_backup(tmp_path):
    d = tmp_path / "bk"
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.Popen([sys.executable, "-c", LOOP, str(d)], stdout=subprocess.PIPE, env=env)
    rng = np.random.default_rng(1)
    try:
        proc.stdout.readline()
        for _ in range(4):
            time.sleep(float(rng.uniform(0.01, 0.15)))
            os.kill(proc.pid, signal.SIGSTOP)  # frozen at a random point, often mid-write
            check_restorable(d)
            os.kill(proc.pid, signal.SIGCONT)
        time.sleep(float(rng.uniform(0.01, 0.1)))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    check_restorable(d)


def check_restorable(d):
    L = tf.keras.layers
    m = tf.keras.Sequential([tf.keras.Input((64,)), L.Dense(256), L.Dense(256), L.Dense(4)])
    m.compile(optimizer="adam", loss="mse")
    cb = tf.keras.callbacks.BackupAndRestore(str(d), delete_checkpoint=False)
    cb.set_model(m)
    cb.on_train_begin()
    assert m._initial_epoch >= 1 and int(m.optimizer.iterations) >= 1
