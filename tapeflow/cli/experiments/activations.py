"""activations: the spec's MLP with nine activations: accuracy, time per epoch, dead-unit fraction; and a
plot of each function with its derivative, the derivative taken with GradientTape."""
from __future__ import annotations

import time

import numpy as np

from .. import plots
from . import accuracy, mlp

ACTIVATIONS = ("relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "swish", "mish", "hard_swish")


def function_and_derivative(name: str, x: np.ndarray) -> tuple:
    """``(f(x), f'(x))`` for activation ``name``; the derivative comes from ``tf.GradientTape``.

    >>> f, df = function_and_derivative("relu", np.array([-1.0, 2.0], "float32"))
    >>> f.tolist(), df.tolist()
    ([0.0, 2.0], [0.0, 1.0])
    """
    import tapeflow as tf
    xt = tf.constant(x)
    if name == "prelu":
        layer = tf.keras.layers.PReLU(alpha_initializer=tf.keras.initializers.Constant(0.25))
        layer.build((None, x.shape[-1]))
        fn = layer
    elif name == "leaky_relu":
        def fn(v):
            return tf.nn.leaky_relu(v, alpha=0.1)
    else:
        fn = tf.keras.activations.get(name)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = fn(xt)
        total = tf.reduce_sum(y)
    dy = tape.gradient(total, xt)
    return np.asarray(y.numpy()), np.asarray(dy.numpy())


def dead_fraction(model, x) -> float:
    """Fraction of hidden units that output exactly 0 for every example of ``x`` (after their activation)."""
    from ...debug import diagnostics as D
    acts = D.capture_activations(model, x)
    names = list(acts)[:-1]  # the softmax output layer is not a hidden layer
    dead, total = 0, 0
    for i, name in enumerate(names):
        nxt = names[i + 1] if i + 1 < len(names) else None
        layer = model.get_layer(name)
        if type(layer).__name__ == "Dense" and nxt is not None and type(model.get_layer(nxt)).__name__ in (
                "LeakyReLU", "PReLU"):
            continue  # this Dense is linear; its activation is the next layer
        a = acts[name].reshape(-1, acts[name].shape[-1])
        dead += int(np.sum(np.all(a == 0, axis=0)))
        total += a.shape[-1]
    return dead / max(1, total)


def run(ctx) -> dict:
    """Train the MLP once per activation from the same seed; plot functions, derivatives and results."""
    xs = np.linspace(-4, 4, 401, dtype=np.float32)
    curves = {a: function_and_derivative(a, xs) for a in ACTIVATIONS}
    ctx.plot(plots.functions_and_derivatives(xs, curves, ctx.path("activations.png"),
                                             "activation functions and their derivatives"))
    (x, y), (xv, yv) = ctx.data(flat=True)
    epochs = ctx.epochs
    rows = []
    for act in ACTIVATIONS:
        ctx.seed_all()
        model = mlp(x.shape[1], activation=act, name=f"mlp_{act}")
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        t0 = time.perf_counter()
        h = model.fit(x, y, batch_size=64, epochs=epochs, verbose=0).history
        per_epoch = (time.perf_counter() - t0) / epochs
        rows.append({"activation": act, "val_accuracy": accuracy(model, xv, yv), "final_loss": h["loss"][-1],
                     "seconds_per_epoch": per_epoch, "dead_unit_fraction": dead_fraction(model, xv[:512])})
    ctx.plot(plots.bars({r["activation"]: r["val_accuracy"] for r in rows}, ctx.path("activations_accuracy.png"),
                        f"validation accuracy after {epochs} epoch(s)", "validation accuracy"))
    ctx.plot(plots.bars({r["activation"]: r["seconds_per_epoch"] for r in rows}, ctx.path("activations_time.png"),
                        "training time per epoch", "seconds per epoch"))
    ctx.plot(plots.bars({r["activation"]: r["dead_unit_fraction"] for r in rows}, ctx.path("activations_dead.png"),
                        "fraction of dead hidden units (zero on the whole validation sample)", "dead fraction"))
    best = max(rows, key=lambda r: r["val_accuracy"])
    return {"rows": rows, "summary": {"best_activation": best["activation"], "epochs": epochs},
            "lines": [f"best activation: {best['activation']} (validation accuracy {best['val_accuracy']:.4f})"]}
