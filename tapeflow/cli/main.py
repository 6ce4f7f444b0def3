"""The ``tapeflow`` command: ``train``, ``evaluate``, ``predict`` and ``experiment NAME``.

    tapeflow train                                  # the spec's 3-layer MLP on Fashion-MNIST, 3 epochs
    tapeflow train --model cnn --epochs 2 --limit 10000 --out runs/cnn
    tapeflow evaluate runs/cnn
    tapeflow predict runs/cnn/model.keras images.npy --top-k 3
    tapeflow experiment l2 --tiny
    tapeflow tune --trials 20 --jobs 2 --out runs/tune  # Optuna search; run again to resume

Heavy imports (tapeflow itself, matplotlib) happen only once a command runs, so ``--help`` is instant.
"""
from __future__ import annotations

import argparse
import sys

from .rundir import DATASETS, MODELS

OPTIMIZERS = ("adam", "sgd", "adamw", "nadam", "radam", "adabelief", "rmsprop", "adagrad", "adamax", "lion")
SCHEDULES = ("none", "exponential", "cosine", "step", "one-cycle", "cyclical")
ACTIVATIONS = ("relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "swish", "silu", "mish", "hard_swish",
               "tanh", "sigmoid")


def _ranged(kind, lo=None, hi=None, lo_open=False, hi_open=False):
    """An argparse ``type=`` that parses ``kind`` and checks ``lo <= v <= hi`` (open ends when asked)."""
    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                             f"got {text!r}") from None
        bad = (lo is not None and (v <= lo if lo_open else v < lo)) or \
              (hi is not None and (v >= hi if hi_open else v > hi))
        if bad or v != v:
            rng = (("(" if lo_open else "[") + ("-inf" if lo is None else f"{lo:g}") + ", " +
                   ("inf" if hi is None else f"{hi:g}") + (")" if hi_open or hi is None else "]"))
            raise argparse.ArgumentTypeError(f"must be in {rng}, got {text}")
        return v
    parse.__name__ = kind.__name__
    return parse


def _add_common(p, epochs_default=3):
    p.add_argument("--dataset", default="fashion_mnist", choices=DATASETS, help="dataset (default fashion_mnist)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default=None, help="run directory (default runs/<timestamp>-<name>)")
    p.add_argument("--limit", type=_ranged(int, 0), default=0,
                   help="use only the first N training images (0: all)")
    p.add_argument("--data-dir", default=None, help="folder holding the dataset files")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="0 silent, 1 progress bar, 2 one line "
                                                                              "per epoch")


def build_parser() -> argparse.ArgumentParser:
    """The ``tapeflow`` argument parser (sub-commands train, evaluate, predict, experiment)."""
    from .experiments import EXPERIMENTS
    ap = argparse.ArgumentParser(prog="tapeflow", description="Train neural networks the Keras way, on NumPy.")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    tr = sub.add_parser("train", help="train a model, evaluate it and write a run directory",
                        description="Train a model with compile/fit (default: the spec's 3-layer MLP, Dense "
                                    "256-128-10, on Fashion-MNIST with Adam for 3 epochs), evaluate it on the test "
                                    "set and write model.keras, history.csv/json, TensorBoard logs, plots and "
                                    "summary.json to the run directory.")
    _add_common(tr)
    tr.add_argument("--model", default="mlp3", choices=MODELS,
                    help="mlp: Dense 128-10; mlp3: Dense 256-128-10 (default); cnn: 2x(Conv2D+MaxPool)+Dense; "
                         "lstm: LSTM(128) over image rows")
    tr.add_argument("--hidden", default=None, help="comma-separated hidden sizes for mlp/mlp3 (e.g. 512,256)")
    tr.add_argument("--activation", default="relu", choices=ACTIVATIONS)
    tr.add_argument("--optimizer", default="adam", choices=OPTIMIZERS)
    tr.add_argument("--learning-rate", type=_ranged(float, 0, 10, lo_open=True), default=1e-3)
    tr.add_argument("--schedule", default="none", choices=SCHEDULES)
    tr.add_argument("--epochs", type=_ranged(int, 1, 10000), default=3)
    tr.add_argument("--batch-size", type=_ranged(int, 1, 1 << 20), default=128)
    tr.add_argument("--l2", type=_ranged(float, 0, 10), default=0.0, help="L2 penalty on kernels (default 0)")
    tr.add_argument("--dropout", type=_ranged(float, 0, 1, hi_open=True), default=0.0)
    tr.add_argument("--test-limit", type=_ranged(int, 0), default=0,
                    help="evaluate on only the first N test images (0: all)")
    tr.add_argument("--workers", type=_ranged(int, 1, 1024), default=1,
                    help="data-parallel workers: N > 1 starts N processes under mpiexec (pip install "
                         "'tapeflow[mpi]'); --batch-size is the global batch")
    tr.add_argument("--validation-split", type=_ranged(float, 0, 1, hi_open=True), default=0.1,
                    help="fraction of the training set held out for validation (default 0.1)")

    ev = sub.add_parser("evaluate", help="evaluate a saved model on the test set",
                        description="Load RUN/model.keras (or a .keras file), evaluate it on the test set, print "
                                    "loss and accuracy and write a confusion matrix (CSV, and PNG with matplotlib).")
    ev.add_argument("target", metavar="RUN|MODEL")
    ev.add_argument("--dataset", default=None, choices=DATASETS, help="default: the run's dataset")
    ev.add_argument("--limit", type=_ranged(int, 0), default=0, help="use only the first N test images")
    ev.add_argument("--data-dir", default=None)
    ev.add_argument("--out", default=None, help="where to write the confusion matrix (default: the run dir)")

    pr = sub.add_parser("predict", help="predict classes of images in an .npy or IDX file")
    pr.add_argument("model", metavar="MODEL", help="a .keras file or a run directory")
    pr.add_argument("images", metavar="IMAGES", help=".npy array of images (uint8 0-255 or float 0-1) or IDX file")
    pr.add_argument("--top-k", type=_ranged(int, 1), default=1)
    pr.add_argument("--dataset", default=None, choices=DATASETS, help="for class names")

    ex = sub.add_parser("experiment", help="run one of the spec's practice experiments",
                        description="Run a practice experiment; writes plots, results.csv/json and summary.json "
                                    "to its run directory. Experiments: " + ", ".join(EXPERIMENTS))
    ex.add_argument("name", choices=list(EXPERIMENTS), metavar="NAME",
                    help="one of: " + ", ".join(EXPERIMENTS))
    size = ex.add_mutually_exclusive_group()
    size.add_argument("--tiny", action="store_true", help="test size (seconds)")
    size.add_argument("--full", action="store_true", help="full size (full datasets, more epochs)")
    _add_common(ex)
    ex.set_defaults(verbose=0)

    tu = sub.add_parser("tune", help="search the MLP's hyperparameters with Optuna (resumable)",
                        description="Search activation, learning rate, L2, units, dropout and optimizer of the MLP "
                                    "with Optuna, pruning bad trials; writes best.json, trials.csv and Optuna's "
                                    "plots. The study is kept in an SQLite file, so the same command resumes it.")
    from .tune import add_arguments as _add_tune_arguments
    _add_tune_arguments(tu)
    return ap


def main(argv=None) -> int:
    """Entry point of the ``tapeflow`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            from . import workers
            if args.workers > 1 and workers.worker_count() == 0:
                return workers.relaunch(argv, args.workers)
            from .train import run_train
            return run_train(args)
        if args.command == "evaluate":
            from .evaluate import run_evaluate
            return run_evaluate(args)
        if args.command == "predict":
            from .evaluate import run_predict
            return run_predict(args)
        if args.command == "experiment":
            from .experiments import run_experiment
            return run_experiment(args)
        if args.command == "tune":
            from .tune import run_tune
            return run_tune(args)
    except (FileNotFoundError, ValueError) as e:
        print(f"tapeflow {args.command}: error: {e}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
