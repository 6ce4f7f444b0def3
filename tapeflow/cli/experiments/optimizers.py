"""optimizers: full-batch training of a small MLP with eight optimizers from the same initial weights;
iterations (and seconds) until the training loss first reaches a target."""
from __future__ import annotations

import math
import time

import numpy as np

from .. import plots
from . import accuracy, mlp

SETTINGS = {  # examples, max iterations, target loss, hidden sizes
    "tiny": (256, 25, 1.0, (64,)),
    "default": (2000, 150, 0.4, (64,)),
    "full": (10000, 400, 0.3, (256, 128)),
}


def make(name: str, model):
    """The optimizer ``name`` with a learning rate suited to full-batch training of the MLP."""
    import tapeflow as tf
    O = tf.keras.optimizers
    if name == "SGD+momentum":
        return O.SGD(learning_rate=0.1, momentum=0.9)
    if name == "L-BFGS":
        return O.LBFGS(learning_rate=1.0, max_iter=1, history_size=20, line_search_fn="strong_wolfe")
    if name == "K-FAC":
        return O.KFAC(model, learning_rate=0.05, damping=0.03, momentum=0.9, inv_update_interval=5)
    cls = {"Adam": O.Adam, "AdamW": O.AdamW, "RAdam": O.RAdam, "AdaBelief": O.AdaBelief, "Nadam": O.Nadam}[name]
    return cls(learning_rate=3e-3)


OPTIMIZERS = ("SGD+momentum", "Adam", "AdamW", "RAdam", "AdaBelief", "Nadam", "L-BFGS", "K-FAC")


def train_full_batch(name: str, model, x, y, iterations: int) -> tuple:
    """Run ``iterations`` full-batch steps of optimizer ``name``; returns ``(losses, loss evaluations)``
    where ``losses[i]`` is the training loss before step ``i`` (and the last one after the last step)."""
    import tapeflow as tf
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy()
    opt = make(name, model)
    variables = model.trainable_variables
    losses, evals = [], 0
    for _ in range(iterations):
        if name == "L-BFGS":
            before = opt.state.get("func_evals", 0)
            loss = opt.minimize(lambda: loss_fn(y, model(x, training=True)), variables)
            evals += max(1, opt.state.get("func_evals", 0) - before)
        elif name == "K-FAC":
            loss = opt.train_step(x, y, loss_fn)
            evals += 1
        else:
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            grads = tape.gradient(loss, variables)
            opt.apply_gradients(zip(grads, variables))
            evals += 1
        val = float(loss.numpy() if hasattr(loss, "numpy") else loss)
        losses.append(val)
        if not math.isfinite(val):
            break
    losses.append(float(loss_fn(y, model(x)).numpy()))
    return losses, evals


def run(ctx) -> dict:
    """Compare the optimizers on iterations to the target loss; plot loss against iteration."""
    n, iters, target, hidden = SETTINGS[ctx.size]
    if ctx.args.limit:
        n = ctx.args.limit
    ctx.n_train = n
    (x, y), (xv, yv) = ctx.data(flat=True)
    rows, curves = [], {}
    for name in OPTIMIZERS:
        ctx.seed_all()
        model = mlp(x.shape[1], hidden=hidden, name="mlp_opt")
        model.build((None, x.shape[1]))
        t0 = time.perf_counter()
        losses, evals = train_full_batch(name, model, x, y, iters)
        seconds = time.perf_counter() - t0
        hit = next((i for i, v in enumerate(losses) if v <= target), None)
        curves[name] = losses
        rows.append({"optimizer": name, "iterations_to_target": hit if hit is not None else "",
                     "reached_target": hit is not None, "final_loss": losses[-1], "min_loss": min(losses),
                     "loss_evaluations": evals, "seconds": seconds, "val_accuracy": accuracy(model, xv, yv)})
    ctx.plot(plots.compare_curves(curves, ctx.path("optimizers_loss.png"),
                                  f"full-batch training loss ({n} examples); target {target}", "iteration",
                                  "training loss (log scale)", logy=True))
    reached = [r for r in rows if r["reached_target"]]
    ctx.plot(plots.bars({r["optimizer"]: r["iterations_to_target"] for r in reached},
                        ctx.path("optimizers_iterations.png"), f"iterations to reach loss {target}",
                        "iterations") if reached else None)
    best = min(reached, key=lambda r: r["iterations_to_target"]) if reached else None
    line = (f"fastest to loss {target}: {best['optimizer']} ({best['iterations_to_target']} iterations)" if best
            else f"no optimizer reached loss {target} in {iters} iterations")
    return {"rows": rows, "summary": {"target_loss": target, "max_iterations": iters, "examples": n,
                                      "fastest": best["optimizer"] if best else None},
            "lines": [line]}
