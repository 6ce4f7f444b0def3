"""``tapeflow experiment NAME``: the spec's practice problems, one module per experiment.

Each module has ``run(ctx) -> dict`` returning ``{"rows": [...], "summary": {...}, "lines": [...]}``;
``run_experiment`` writes ``results.csv``, ``results.json`` and ``summary.json`` to the run directory and
prints a one-screen summary. Plots go next to them (skipped, with a message, without matplotlib).
Sizes: ``--tiny`` (seconds, for tests), default (a few minutes at most on 2 cores), ``--full``.
"""
from __future__ import annotations

import importlib
import os
import time

import numpy as np

from .. import plots, rundir

# name -> (module, one-line description)
EXPERIMENTS = {
    "fit-vs-loop": ("fit_vs_loop", "3-layer MLP trained with model.fit and with a GradientTape loop"),
    "l2": ("l2", "validation accuracy against L2 strength"),
    "lr-finder": ("lr", "the learning-rate range test: loss against learning rate"),
    "lr-schedules": ("lr", "constant/step/exponential/cosine/one-cycle/cyclical schedules compared"),
    "activations": ("activations", "9 activations: accuracy, time per epoch, dead units; f and f' plots"),
    "optimizers": ("optimizers", "SGD+momentum, Adam, AdamW, RAdam, AdaBelief, Nadam, L-BFGS, K-FAC: "
                                 "iterations to a target loss"),
    "one-cycle-vs-cosine": ("one_cycle", "one-cycle vs cosine decay on a small CNN"),
    "gradient-noise": ("gradient_noise", "annealed Gaussian gradient noise at several strengths"),
    "softmax-temperature": ("softmax", "softmax distributions at several temperatures"),
    "sparsemax": ("softmax", "sparsemax (tapeflow ops, GradientTape gradient) against softmax"),
}

SIZES = {  # n_train, n_test, epochs
    "tiny": (512, 256, 1),
    "default": (6000, 2000, 3),
    "full": (60000, 10000, 10),
}


class Context:
    """What an experiment gets: the parsed args, its run directory, its size and small helpers."""

    def __init__(self, args, run_dir: str):
        self.args = args
        self.name = args.name
        self.run_dir = run_dir
        self.size = "tiny" if args.tiny else "full" if args.full else "default"
        self.n_train, self.n_test, self.epochs = SIZES[self.size]
        if args.limit:
            self.n_train = args.limit
        self.seed = args.seed
        self.plots: list = []

    def path(self, filename: str) -> str:
        """A path inside the run directory."""
        return os.path.join(self.run_dir, filename)

    def plot(self, written) -> None:
        """Record a plot path returned by a ``plots`` function (None when skipped)."""
        if written:
            self.plots.append(os.path.basename(written))

    def data(self, flat: bool = True, dataset: str | None = None):
        """``(x, y), (x_val, y_val)``: floats in [0, 1] (flattened when ``flat``), labels int64; the
        validation set is the start of the test set."""
        (x, y), (xt, yt) = rundir.load_dataset(dataset or self.args.dataset, limit=self.n_train,
                                               test_limit=self.n_test, data_dir=self.args.data_dir)
        shape = (int(np.prod(x.shape[1:])),) if flat else x.shape[1:]
        return (rundir.to_model_input(x, shape), y), (rundir.to_model_input(xt, shape), yt)

    def seed_all(self, offset: int = 0) -> None:
        """Reset every random generator to ``seed + offset`` (same initial weights across variants)."""
        from ... import keras
        keras.utils.set_random_seed(self.seed + offset)


def mlp(input_dim: int, hidden=(256, 128), activation="relu", l2: float = 0.0, name="mlp"):
    """The spec's MLP (uncompiled): Dense hidden layers then Dense(10, softmax)."""
    return rundir.build_model("mlp3", (input_dim,), activation=activation, l2=l2, hidden=list(hidden), name=name)


def accuracy(model, x, y) -> float:
    """Top-1 accuracy of ``model`` on ``(x, y)``."""
    p = np.asarray(model.predict(x, batch_size=1024, verbose=0))
    return float(np.mean(p.argmax(-1) == y))


def crossentropy(model, x, y) -> float:
    """Mean sparse categorical cross-entropy of ``model`` (softmax outputs) on ``(x, y)``."""
    p = np.asarray(model.predict(x, batch_size=1024, verbose=0), dtype=np.float64)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1.0))))


def run_experiment(args) -> int:
    """Run the experiment named ``args.name`` and write its outputs; returns the exit status."""
    module_name, description = EXPERIMENTS[args.name]
    run_dir = rundir.make_run_dir(args.out, args.name)
    ctx = Context(args, run_dir)
    mod = importlib.import_module(f"{__name__}.{module_name}")
    print(f"experiment {args.name} ({ctx.size} size): {description}\nrun directory: {run_dir}")
    t0 = time.perf_counter()
    ctx.seed_all()
    result = mod.run(ctx)
    seconds = time.perf_counter() - t0
    rows = result.get("rows", [])
    rundir.write_table(run_dir, "results", rows)
    summary = {"experiment": args.name, "description": description, "size": ctx.size, "seconds": seconds,
               "n_train": ctx.n_train, "n_test": ctx.n_test, "seed": ctx.seed, "plots": ctx.plots,
               **result.get("summary", {})}
    rundir.write_json(ctx.path("summary.json"), summary)
    print(rundir.format_table(result.get("display_rows", rows), result.get("columns")))
    for line in result.get("lines", []):
        print(line)
    if not plots.available():
        print(plots.SKIP_MESSAGE)
    print(f"wrote {run_dir}: results.csv, results.json, summary.json"
          + (", " + ", ".join(ctx.plots) if ctx.plots else "") + f"  ({seconds:.1f} s)")
    return 0
