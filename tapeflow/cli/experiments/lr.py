"""lr-finder (the learning-rate range test) and lr-schedules (six schedules compared) on the spec's MLP."""
from __future__ import annotations

import math

import numpy as np

from .. import plots, rundir
from . import accuracy, mlp

FINDER_STEPS = {"tiny": 30, "default": 200, "full": 400}
SCHEDULES = ("none", "step", "exponential", "cosine", "one-cycle", "cyclical")


def lr_range_test(model, x, y, steps: int, lr_min: float = 1e-5, lr_max: float = 10.0, batch: int = 64,
                  seed: int = 0, beta: float = 0.9) -> list:
    """Smith's LR range test: SGD(momentum 0.9) with the rate growing geometrically from ``lr_min`` to
    ``lr_max`` over ``steps`` mini-batches; stops once the smoothed loss exceeds 4x its minimum or is not
    finite. Returns ``[(lr, loss, smoothed loss)]``."""
    import tapeflow as tf
    opt = tf.keras.optimizers.SGD(learning_rate=lr_min, momentum=0.9)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy()
    rng = np.random.default_rng(seed)
    factor = (lr_max / lr_min) ** (1.0 / max(1, steps - 1))
    out, avg, best = [], 0.0, math.inf
    order = rng.permutation(len(x))
    for step in range(steps):
        lr = lr_min * factor ** step
        opt.learning_rate = lr
        i = (step * batch) % max(1, len(x) - batch + 1)
        idx = order[i:i + batch]
        with tf.GradientTape() as tape:
            loss = loss_fn(y[idx], model(x[idx], training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        val = float(loss.numpy())
        avg = beta * avg + (1 - beta) * val
        smooth = avg / (1 - beta ** (step + 1))
        out.append((lr, val, smooth))
        if not math.isfinite(smooth) or smooth > 4 * best:
            break
        best = min(best, smooth)
    return out


def suggest(points: list) -> tuple:
    """``(lr at the minimum smoothed loss / 10, lr of the steepest smoothed descent)``."""
    lrs = np.array([p[0] for p in points])
    sm = np.array([p[2] for p in points])
    finite = np.isfinite(sm)
    lrs, sm = lrs[finite], sm[finite]
    i_min = int(np.argmin(sm))
    steep = lrs[int(np.argmin(np.gradient(sm, np.log(lrs))))] if len(sm) > 2 else lrs[0]
    return float(lrs[i_min] / 10), float(steep)


def _finder(ctx) -> dict:
    (x, y), _ = ctx.data(flat=True)
    ctx.seed_all()
    model = mlp(x.shape[1], name="mlp_lr_finder")
    model.build((None, x.shape[1]))
    pts = lr_range_test(model, x, y, FINDER_STEPS[ctx.size], seed=ctx.seed)
    rows = [{"step": i, "learning_rate": lr, "loss": l, "smoothed_loss": s} for i, (lr, l, s) in enumerate(pts)]
    lr_min10, lr_steep = suggest(pts)
    ctx.plot(plots.compare_curves({"loss": [p[1] for p in pts], "smoothed loss": [p[2] for p in pts]},
                                  ctx.path("lr_finder.png"), "LR range test: loss against learning rate",
                                  "learning rate (log scale)", "training loss", logx=True,
                                  xs={"loss": [p[0] for p in pts], "smoothed loss": [p[0] for p in pts]}))
    return {"rows": rows, "display_rows": rows[:: max(1, len(rows) // 12)],
            "summary": {"suggested_lr_min_over_10": lr_min10, "steepest_descent_lr": lr_steep,
                        "steps_run": len(pts)},
            "lines": [f"suggested learning rate: {lr_min10:.3g} (minimum/10), steepest descent at {lr_steep:.3g}"]}


def _schedules(ctx) -> dict:
    import tapeflow as tf
    (x, y), (xv, yv) = ctx.data(flat=True)
    epochs = max(2, ctx.epochs)
    batch = 64
    spe = math.ceil(len(x) / batch)
    total = spe * epochs
    rows, lr_curves, val_curves, loss_curves = [], {}, {}, {}
    for kind in SCHEDULES:
        ctx.seed_all()
        sched = rundir.make_schedule(kind, 1e-3, total, spe)
        lr_curves[kind] = [float(sched(s)) if callable(sched) else sched for s in range(total)]
        model = mlp(x.shape[1], name="mlp_sched")
        model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=sched),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        h = model.fit(x, y, batch_size=batch, epochs=epochs, validation_data=(xv, yv), verbose=0).history
        val_curves[kind], loss_curves[kind] = h["val_accuracy"], h["loss"]
        rows.append({"schedule": kind, "final_loss": h["loss"][-1], "val_loss": h["val_loss"][-1],
                     "val_accuracy": accuracy(model, xv, yv), "lr_start": lr_curves[kind][0],
                     "lr_max": max(lr_curves[kind]), "lr_end": lr_curves[kind][-1]})
    ctx.plot(plots.compare_curves(lr_curves, ctx.path("schedules_lr.png"), "learning rate per step", "step",
                                  "learning rate"))
    ctx.plot(plots.compare_curves(loss_curves, ctx.path("schedules_loss.png"), "training loss per epoch by schedule",
                                  "epoch", "training loss"))
    ctx.plot(plots.compare_curves(val_curves, ctx.path("schedules_val_accuracy.png"),
                                  "validation accuracy per epoch by schedule", "epoch", "validation accuracy"))
    best = max(rows, key=lambda r: r["val_accuracy"])
    return {"rows": rows, "summary": {"best_schedule": best["schedule"], "epochs": epochs, "steps": total},
            "lines": [f"best schedule: {best['schedule']} (validation accuracy {best['val_accuracy']:.4f})"]}


def run(ctx) -> dict:
    """Dispatch on the experiment name: ``lr-finder`` or ``lr-schedules``."""
    return _finder(ctx) if ctx.name == "lr-finder" else _schedules(ctx)
