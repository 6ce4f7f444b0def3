"""l2: validation accuracy of the spec's MLP against the L2 penalty on its kernels."""
from __future__ import annotations

from .. import plots
from . import accuracy, mlp

STRENGTHS = {"tiny": (0.0, 1e-3, 1e-1), "default": (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1),
             "full": (0.0, 1e-6, 1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 1e-1)}


def run(ctx) -> dict:
    """Train one model per L2 strength from the same initial weights; table and plots of accuracy."""
    (x, y), (xv, yv) = ctx.data(flat=True)
    epochs = ctx.epochs
    rows = []
    for lam in STRENGTHS[ctx.size]:
        ctx.seed_all()
        model = mlp(x.shape[1], l2=lam, name="mlp_l2")
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        h = model.fit(x, y, batch_size=64, epochs=epochs, validation_data=(xv, yv), verbose=0).history
        train_acc, val_acc = accuracy(model, x, y), accuracy(model, xv, yv)
        wnorm = sum(float((v.numpy() ** 2).sum()) for v in model.trainable_variables if "kernel" in v.path)
        rows.append({"l2": lam, "train_accuracy": train_acc, "val_accuracy": val_acc,
                     "generalization_gap": train_acc - val_acc, "final_loss": h["loss"][-1],
                     "val_loss": h["val_loss"][-1], "kernel_sq_norm": wnorm})
    labels = [f"{r['l2']:g}" for r in rows]
    ctx.plot(plots.compare_curves({"training accuracy": [r["train_accuracy"] for r in rows],
                                   "validation accuracy": [r["val_accuracy"] for r in rows]},
                                  ctx.path("accuracy_vs_l2.png"), "accuracy against L2 strength",
                                  "L2 strength", "accuracy", xticklabels=labels,
                                  xs={"training accuracy": range(len(rows)), "validation accuracy": range(len(rows))}))
    ctx.plot(plots.bars(dict(zip(labels, [r["val_accuracy"] for r in rows])), ctx.path("val_accuracy_vs_l2.png"),
                        "validation accuracy against L2 strength", "validation accuracy"))
    best = max(rows, key=lambda r: r["val_accuracy"])
    return {"rows": rows, "summary": {"best_l2": best["l2"], "best_val_accuracy": best["val_accuracy"],
                                      "epochs": epochs},
            "lines": [f"best L2 strength {best['l2']:g}: validation accuracy {best['val_accuracy']:.4f}"]}
