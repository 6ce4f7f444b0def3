"""gradient-noise: annealed Gaussian gradient noise (Neelakantan et al. 2015), variance eta / (1 + t)^0.55,
added to the gradients of SGD+momentum on a deeper MLP, at several strengths."""
from __future__ import annotations

from .. import plots
from . import accuracy, mlp

ETAS = {"tiny": (0.0, 0.01), "default": (0.0, 0.001, 0.01, 0.03), "full": (0.0, 0.0003, 0.001, 0.003, 0.01, 0.03)}
HIDDEN = (128, 128, 128, 128, 128)


def run(ctx) -> dict:
    """Train the 5-hidden-layer MLP once per noise strength from the same initial weights."""
    import tapeflow as tf
    (x, y), (xv, yv) = ctx.data(flat=True)
    epochs = max(2, ctx.epochs)
    rows, loss_curves, val_curves = [], {}, {}
    for eta in ETAS[ctx.size]:
        ctx.seed_all()
        model = mlp(x.shape[1], hidden=HIDDEN, name="deep_mlp")
        opt = tf.keras.optimizers.SGD(learning_rate=0.02, momentum=0.9, gradient_noise_eta=eta or None,
                                      gradient_noise_seed=ctx.seed)
        model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        h = model.fit(x, y, batch_size=64, epochs=epochs, validation_data=(xv, yv), verbose=0).history
        label = f"eta={eta:g}"
        loss_curves[label], val_curves[label] = h["loss"], h["val_accuracy"]
        rows.append({"eta": eta, "final_loss": h["loss"][-1], "val_loss": h["val_loss"][-1],
                     "val_accuracy": accuracy(model, xv, yv)})
    ctx.plot(plots.compare_curves(loss_curves, ctx.path("loss.png"), "training loss with gradient noise", "epoch",
                                  "training loss"))
    ctx.plot(plots.compare_curves(val_curves, ctx.path("val_accuracy.png"), "validation accuracy with gradient noise",
                                  "epoch", "validation accuracy"))
    best = max(rows, key=lambda r: r["val_accuracy"])
    return {"rows": rows, "summary": {"best_eta": best["eta"], "epochs": epochs, "hidden": list(HIDDEN)},
            "lines": [f"best noise strength eta={best['eta']:g} (validation accuracy {best['val_accuracy']:.4f})"]}
