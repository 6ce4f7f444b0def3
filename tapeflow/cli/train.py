"""``tapeflow train``: train a model with compile/fit, evaluate it on the test set, write a run directory.

The run directory holds ``model.keras``, ``history.csv``, ``history.json``, TensorBoard logs in ``logs/``,
``summary.json`` (final metrics and the settings) and, when matplotlib is installed, ``curves.png``,
``weight_histograms.png``, ``gradient_norms.png`` and ``confusion_matrix.png``.
"""
from __future__ import annotations

import math
import os
import time

import numpy as np

from . import plots, rundir


def _weight_hist_callback(store: list):
    from ..debug import diagnostics as D
    from ..keras.callbacks import Callback

    class WeightHistograms(Callback):
        """Keep ``weight_histograms(model)`` after every epoch."""

        def on_epoch_end(self, epoch, logs=None):
            store.append({k: v for k, v in D.weight_histograms(self.model, bins=40).items()
                          if "bias" not in k})

    return WeightHistograms()


def run_train(args) -> int:
    """Run ``tapeflow train`` with parsed ``args``; returns the exit status.

    As one of ``--workers N`` MPI processes (see workers.py) it trains under MultiWorkerMirroredStrategy; rank 0
    alone writes the run directory and prints.
    """
    import contextlib

    from .. import distribute, keras
    from .workers import worker_count
    strategy = distribute.MultiWorkerMirroredStrategy() if worker_count() > 1 else None
    if strategy is not None and strategy.num_workers != worker_count():
        raise ValueError(f"--workers {worker_count()} but MPI started {strategy.num_workers} processes; launch "
                         "with tapeflow train --workers N, not under another mpiexec")
    chief = strategy is None or strategy.is_chief
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    (x, y), (xt, yt) = rundir.load_dataset(args.dataset, limit=args.limit,
                                           test_limit=args.test_limit, data_dir=args.data_dir)
    in_shape = rundir.input_shape_for(args.model, x.shape[1:])
    x, xt = rundir.to_model_input(x, in_shape), rundir.to_model_input(xt, in_shape)
    hidden = [int(h) for h in args.hidden.split(",") if h] if args.hidden else None
    n_train = int(round(len(x) * (1 - args.validation_split)))
    steps_per_epoch = max(1, math.ceil(n_train / args.batch_size))
    lr = rundir.make_schedule(args.schedule, args.learning_rate, steps_per_epoch * args.epochs, steps_per_epoch)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = rundir.build_model(args.model, in_shape, activation=args.activation, l2=args.l2,
                                   dropout=args.dropout, hidden=hidden, name=f"{args.dataset}_{args.model}")
        model.compile(optimizer=rundir.make_optimizer(args.optimizer, lr), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    run_dir = rundir.make_run_dir(args.out, args.model) if chief else None
    if strategy is not None:  # every worker names the same directory (only rank 0 writes into it)
        run_dir = strategy.broadcast_bytes(run_dir.encode() if chief else None).decode()
    if chief:
        print(f"run directory: {run_dir}" + (f" ({strategy.num_workers} workers)" if strategy else ""))
    if args.verbose and chief:
        model.summary()

    hists: list = []
    grad_cb = keras.callbacks.GradientNorms(freq=max(1, steps_per_epoch // 20), warn=False)
    epoch_times: list = []
    t_epoch = [0.0]
    timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda e, logs=None: t_epoch.__setitem__(0, time.perf_counter()),
        on_epoch_end=lambda e, logs=None: epoch_times.append(time.perf_counter() - t_epoch[0]))
    callbacks = [timer, grad_cb, _weight_hist_callback(hists),
                 keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv")),
                 keras.callbacks.TensorBoard(log_dir=os.path.join(run_dir, "logs"))]
    t0 = time.perf_counter()
    history = model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs,
                        validation_split=args.validation_split or 0.0, verbose=args.verbose, callbacks=callbacks)
    train_s = time.perf_counter() - t0
    test_loss, test_acc = model.evaluate(xt, yt, batch_size=1024, verbose=0)
    if not chief:
        return 0
    probs = np.asarray(model.predict(xt, batch_size=1024, verbose=0))
    pred = probs.argmax(-1)
    names = rundir.CLASS_NAMES[args.dataset]
    cm = rundir.confusion_matrix(yt, pred, len(names))

    model.save(os.path.join(run_dir, "model.keras"))
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    rundir.write_json(os.path.join(run_dir, "history.json"), {"epoch": list(range(1, len(epoch_times) + 1)),
                                                                 "epoch_seconds": epoch_times, **hist})
    np.savetxt(os.path.join(run_dir, "confusion_matrix.csv"), cm, fmt="%d", delimiter=",")
    settings = {k: v for k, v in vars(args).items() if k not in ("func",)}
    summary = {"test_loss": float(test_loss), "test_accuracy": float(test_acc),
               "train_seconds": train_s, "epoch_seconds": epoch_times,
               "workers": strategy.num_workers if strategy else 1, "params": rundir.count_params(model),
               "n_train": int(len(x)), "n_test": int(len(xt)), "input_shape": list(in_shape),
               "final": {k: v[-1] for k, v in hist.items() if v}, "settings": settings, "class_names": names}
    written = []
    if plots.available():
        written = [p for p in (
            plots.training_curves(hist, os.path.join(run_dir, "curves.png"),
                                  title=f"{args.model} on {args.dataset}: training vs validation"),
            plots.weight_histograms_by_epoch(hists, os.path.join(run_dir, "weight_histograms.png")),
            plots.gradient_norms(grad_cb.steps, os.path.join(run_dir, "gradient_norms.png")),
            plots.confusion(cm, names, os.path.join(run_dir, "confusion_matrix.png"),
                            title=f"test confusion matrix (accuracy {test_acc:.3f})")) if p]
        summary["plots"] = [os.path.basename(p) for p in written]
    else:
        summary["plots"] = []
        print(plots.SKIP_MESSAGE)
    rundir.write_json(os.path.join(run_dir, "summary.json"), summary)
    print(f"test loss {test_loss:.4f}  test accuracy {test_acc:.4f}  "
          f"({train_s:.1f} s training, {args.epochs} epochs)")
    print(f"wrote {run_dir}: model.keras, history.csv, history.json, summary.json, logs/"
          + (", " + ", ".join(os.path.basename(p) for p in written) if written else ""))
    return 0
