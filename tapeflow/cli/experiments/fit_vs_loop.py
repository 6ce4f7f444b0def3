"""fit-vs-loop: the spec's 3-layer MLP on Fashion-MNIST trained with ``model.fit`` and with a hand-written
GradientTape loop from the same initial weights; per-epoch curves compared."""
from __future__ import annotations

import time

import numpy as np

from .. import plots
from . import accuracy, crossentropy, mlp

BATCH = 64


def tape_loop(model, x, y, x_val, y_val, epochs: int, seed: int, lr: float = 1e-3) -> list:
    """Train ``model`` with a GradientTape loop (Adam, mini-batches of 64, reshuffled each epoch);
    returns one dict per epoch with loss, accuracy, val_loss, val_accuracy and seconds."""
    import tapeflow as tf
    keras = tf.keras
    opt = keras.optimizers.Adam(learning_rate=lr)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    rng = np.random.default_rng(seed)
    out = []
    for epoch in range(epochs):
        t0 = time.perf_counter()
        order = rng.permutation(len(x))
        losses, correct = [], 0
        for i in range(0, len(x), BATCH):
            idx = order[i:i + BATCH]
            xb, yb = x[idx], y[idx]
            with tf.GradientTape() as tape:
                probs = model(xb, training=True)
                loss = loss_fn(yb, probs)
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
            losses.append(float(loss.numpy()) * len(idx))
            correct += int(np.sum(np.asarray(probs.numpy()).argmax(-1) == yb))
        out.append({"loss": sum(losses) / len(x), "accuracy": correct / len(x),
                    "val_loss": crossentropy(model, x_val, y_val), "val_accuracy": accuracy(model, x_val, y_val),
                    "seconds": time.perf_counter() - t0})
    return out


def run(ctx) -> dict:
    """Train with fit and with the tape loop; plot and tabulate the per-epoch curves."""
    (x, y), (xv, yv) = ctx.data(flat=True)
    epochs = max(2, ctx.epochs) if ctx.size != "tiny" else 2
    rows = []
    curves = {}
    # model.fit
    ctx.seed_all()
    m_fit = mlp(x.shape[1], name="mlp_fit")
    m_fit.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    times = []
    import tapeflow as tf
    t = [0.0]
    timer = tf.keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda e, logs=None: t.__setitem__(0, time.perf_counter()),
        on_epoch_end=lambda e, logs=None: times.append(time.perf_counter() - t[0]))
    h = m_fit.fit(x, y, batch_size=BATCH, epochs=epochs, validation_data=(xv, yv), verbose=0,
                  callbacks=[timer], shuffle=True).history
    for e in range(epochs):
        rows.append({"method": "fit", "epoch": e + 1, "loss": h["loss"][e], "accuracy": h["accuracy"][e],
                     "val_loss": h["val_loss"][e], "val_accuracy": h["val_accuracy"][e], "seconds": times[e]})
    # GradientTape loop from the same initial weights
    ctx.seed_all()
    m_loop = mlp(x.shape[1], name="mlp_loop")
    m_loop.build((None, x.shape[1]))
    for e, r in enumerate(tape_loop(m_loop, x, y, xv, yv, epochs, ctx.seed)):
        rows.append({"method": "GradientTape loop", "epoch": e + 1, **r})
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        curves[key] = {f"{m} {key}": [r[key] for r in rows if r["method"] == m] for m in ("fit", "GradientTape loop")}
    ctx.plot(plots.compare_curves({**curves["loss"], **curves["val_loss"]}, ctx.path("loss.png"),
                                  "model.fit vs GradientTape loop: loss", "epoch", "cross-entropy"))
    ctx.plot(plots.compare_curves({**curves["accuracy"], **curves["val_accuracy"]}, ctx.path("accuracy.png"),
                                  "model.fit vs GradientTape loop: accuracy", "epoch", "accuracy"))
    last = {m: [r for r in rows if r["method"] == m][-1] for m in ("fit", "GradientTape loop")}
    gap = abs(last["fit"]["val_accuracy"] - last["GradientTape loop"]["val_accuracy"])
    return {"rows": rows, "summary": {"final": last, "val_accuracy_gap": gap, "epochs": epochs},
            "lines": [f"final validation accuracy: fit {last['fit']['val_accuracy']:.4f}, GradientTape loop "
                      f"{last['GradientTape loop']['val_accuracy']:.4f} (gap {gap:.4f})"]}
