"""Run under ``mpiexec -n 2 python fit_worker.py MODE OUT`` by tests/test_mpi.py.

MODE: ``fit`` (distributed fit; rank 0 then trains a single-process reference), ``kill`` (rank 1 is SIGKILLed in
epoch 3), ``resume`` (the ``kill`` run again, restoring from its BackupAndRestore backup), ``raise`` (rank 1
raises), ``hang`` (rank 1 stops answering; the others time out). ``fit`` also trains a BatchNormalization +
Dropout model (``bn``). Each rank writes ``OUT/<mode>_rank<r>.npz`` (weights, history) when it finishes.
"""
import json
import os
import signal
import sys

import numpy as np

import tapeflow as tf

MODE, OUT = sys.argv[1], sys.argv[2]
SEED, N, BATCH, EPOCHS = 7, 257, 64, 4   # 257 = 4 * 64 + 1: the last global batch leaves rank 1 empty


def data():
    g = np.random.default_rng(0)
    x = g.normal(size=(N, 8)).astype("float32")
    y = (np.sin(x[:, :1] * 2) - x[:, 1:2] * x[:, 2:3]).astype("float32")
    return x, y, g.normal(size=(50, 8)).astype("float32"), g.normal(size=(50, 1)).astype("float32")


def build(bn=False):
    layers = [tf.keras.Input((8,)), tf.keras.layers.Dense(16, activation="tanh")]
    if bn:
        layers += [tf.keras.layers.BatchNormalization(), tf.keras.layers.Dropout(0.3)]
    model = tf.keras.Sequential(layers + [tf.keras.layers.Dense(1)])
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    return model


class Fault(tf.keras.callbacks.Callback):
    """On rank 1, at epoch 2 batch 2: die (kill), raise, or stop answering (hang)."""

    def __init__(self, rank, mode):
        super().__init__()
        self.rank, self.mode, self.epoch = rank, mode, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.rank != 1 or self.epoch != 2 or batch != 2:
            return
        if self.mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if self.mode == "raise":
            raise ValueError("planted failure on rank 1")
        if self.mode == "hang":
            os.kill(os.getpid(), signal.SIGSTOP)


def dump(path, model, history):
    weights = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    np.savez(path, history=json.dumps(history.history), **weights)


def main():
    timeout = 2 if MODE == "hang" else None
    strategy = tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout))
    rank = strategy.cluster_resolver.task_id
    tf.keras.utils.set_random_seed(SEED + 1000 * rank)   # different seeds: fit must broadcast rank 0's weights
    x, y, xv, yv = data()
    with strategy.scope():
        model = build()
    out = os.path.join(OUT, MODE if MODE != "resume" else "kill")
    callbacks = [Fault(rank, MODE), tf.keras.callbacks.BackupAndRestore(os.path.join(out, "backup"))]
    if MODE == "fit":  # the writers: each rank names its own files, only rank 0's may appear
        callbacks += [tf.keras.callbacks.CSVLogger(os.path.join(out, f"history_rank{rank}.csv")),
                      tf.keras.callbacks.ModelCheckpoint(os.path.join(out, f"ckpt_rank{rank}.weights.h5"),
                                                         save_weights_only=True),
                      tf.keras.callbacks.TensorBoard(os.path.join(out, f"tb_rank{rank}")),
                      tf.keras.callbacks.ProgbarLogger()]
    history = model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, validation_data=(xv, yv),
                        verbose=2 if MODE == "fit" else 0, callbacks=callbacks)
    result = model.evaluate(xv, yv, batch_size=16, verbose=0, return_dict=True)
    history.history["evaluate"] = [result["loss"], result["mae"]]
    dump(os.path.join(OUT, f"{MODE}_rank{rank}.npz"), model, history)
    if MODE != "fit":
        return
    with strategy.scope():
        bn = build(bn=True)
    dump(os.path.join(OUT, f"bn_rank{rank}.npz"), bn, bn.fit(x, y, batch_size=BATCH, epochs=2, verbose=0))
    if rank == 0:   # the single-process reference: same seed, same global batch
        tf.keras.utils.set_random_seed(SEED)
        ref = build()
        h = ref.fit(x, y, batch_size=BATCH, epochs=EPOCHS, validation_data=(xv, yv), verbose=0)
        result = ref.evaluate(xv, yv, batch_size=16, verbose=0, return_dict=True)
        h.history["evaluate"] = [result["loss"], result["mae"]]
        dump(os.path.join(OUT, "reference.npz"), ref, h)


if __name__ == "__main__":
    main()
