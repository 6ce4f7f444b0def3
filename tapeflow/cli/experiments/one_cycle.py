"""one-cycle-vs-cosine: a small CNN on Fashion-MNIST trained with SGD+momentum under the 1cycle policy and
under cosine decay from the same initial weights."""
from __future__ import annotations

import math

from .. import plots
from . import accuracy

MAX_LR = 0.1


def small_cnn(input_shape, name="small_cnn"):
    """Conv2D(8)-MaxPool-Conv2D(16)-MaxPool-Flatten-Dense(10, softmax): seconds per epoch on a CPU."""
    import tapeflow as tf
    L = tf.keras.layers
    return tf.keras.Sequential([tf.keras.Input(shape=tuple(input_shape)),
                                L.Conv2D(8, 3, activation="relu", padding="same"), L.MaxPooling2D(2),
                                L.Conv2D(16, 3, activation="relu", padding="same"), L.MaxPooling2D(2),
                                L.Flatten(), L.Dense(10, activation="softmax")], name=name)


def run(ctx) -> dict:
    """Train the CNN with each schedule; plot the rates and the validation curves."""
    import tapeflow as tf
    S = tf.keras.optimizers.schedules
    from ...keras.optimizers import schedules_extra as SE
    if ctx.size == "default":
        ctx.n_train = ctx.args.limit or 4000
    (x, y), (xv, yv) = ctx.data(flat=False)
    epochs = max(2, ctx.epochs)
    batch = 64
    total = math.ceil(len(x) / batch) * epochs
    schedules = {"one-cycle": SE.OneCycle(MAX_LR, total_steps=total),
                 "cosine": S.CosineDecay(MAX_LR, decay_steps=total)}
    rows, lr_curves, val_curves, loss_curves = [], {}, {}, {}
    for name, sched in schedules.items():
        ctx.seed_all()
        model = small_cnn(x.shape[1:])
        model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=sched, momentum=0.9),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        h = model.fit(x, y, batch_size=batch, epochs=epochs, validation_data=(xv, yv), verbose=0).history
        lr_curves[name] = [float(sched(s)) for s in range(total)]
        val_curves[name], loss_curves[name] = h["val_accuracy"], h["loss"]
        for e in range(epochs):
            rows.append({"schedule": name, "epoch": e + 1, "loss": h["loss"][e], "val_loss": h["val_loss"][e],
                         "val_accuracy": h["val_accuracy"][e]})
        rows[-1]["val_accuracy"] = accuracy(model, xv, yv)
    ctx.plot(plots.compare_curves(lr_curves, ctx.path("lr.png"), f"learning rate per step (max {MAX_LR})", "step",
                                  "learning rate"))
    ctx.plot(plots.compare_curves(loss_curves, ctx.path("loss.png"), "training loss: one-cycle vs cosine", "epoch",
                                  "training loss"))
    ctx.plot(plots.compare_curves(val_curves, ctx.path("val_accuracy.png"), "validation accuracy: one-cycle vs cosine",
                                  "epoch", "validation accuracy"))
    final = {n: [r for r in rows if r["schedule"] == n][-1]["val_accuracy"] for n in schedules}
    return {"rows": rows, "summary": {"final_val_accuracy": final, "epochs": epochs, "max_lr": MAX_LR},
            "lines": [f"final validation accuracy: one-cycle {final['one-cycle']:.4f}, cosine {final['cosine']:.4f}"]}
