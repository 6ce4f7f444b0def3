"""``tapeflow tune``: search the MLP's hyperparameters on Fashion-MNIST (or MNIST/CIFAR-10) with Optuna.

The space: hidden activation, learning rate (log 1e-4..1e-1), L2 (off, or log 1e-6..1e-2), hidden
units, dropout (0..0.5) and optimizer. Trials are pruned by a median rule on the epoch's
validation metric. The study lives in an SQLite file (``<run dir>/study.db`` unless ``--storage``),
so running the same command again resumes it and adds ``--trials`` more trials. The run directory
gets ``best.json`` (best trial, value, config and the matching ``tapeflow train`` command),
``trials.csv``/``trials.json`` and Optuna's plots as PNGs.

    tapeflow tune --trials 30 --jobs 2 --epochs 3 --limit 20000 --out runs/tune
    tapeflow tune --tiny --out runs/tune-test
"""
from __future__ import annotations

import argparse
import functools
import os
import shlex
import sys

from . import rundir

IMAGE_SHAPES = {"fashion_mnist": (28, 28, 1), "mnist": (28, 28, 1), "cifar10": (32, 32, 3)}
TUNE_MODELS = ("mlp", "mlp3")
DEFAULTS = {"trials": 20, "epochs": 3, "limit": 0, "units": "64,128,256,512", "batch_size": 128}
TINY = {"trials": 4, "epochs": 3, "limit": 1500, "units": "16,32,64", "batch_size": 64}


def _names(allowed, flag):
    def parse(text):
        items = [s.strip() for s in text.split(",") if s.strip()]
        bad = [s for s in items if s not in allowed]
        if not items or bad:
            raise argparse.ArgumentTypeError(f"{flag}: expected a comma-separated list of "
                                             f"{', '.join(allowed)}; got {text!r}")
        return list(dict.fromkeys(items))
    return parse


def add_arguments(p) -> None:
    """Add ``tapeflow tune``'s options to the sub-parser ``p``."""
    from .main import ACTIVATIONS, OPTIMIZERS, _add_common, _ranged
    _add_common(p)
    p.set_defaults(verbose=1)
    for action in p._actions:
        if action.dest == "verbose":
            action.help = "0 silent, 1 or 2 one line per finished trial (default 1)"
    p.add_argument("--tiny", action="store_true",
                   help=f"test size: {TINY['trials']} trials of {TINY['epochs']} epochs on {TINY['limit']} images, "
                        f"units {TINY['units']} (explicit options still win)")
    p.add_argument("--model", default="mlp3", choices=TUNE_MODELS,
                   help="mlp: one hidden Dense(units); mlp3: Dense(units) then Dense(units // 2) (default)")
    p.add_argument("--trials", type=_ranged(int, 1), default=None,
                   help=f"trials to run now, added to those already in the study (default {DEFAULTS['trials']})")
    p.add_argument("--jobs", type=_ranged(int, 1, 256), default=1,
                   help="trials in parallel, each in its own process sharing the study file (default 1)")
    p.add_argument("--epochs", type=_ranged(int, 1, 10000), default=None,
                   help=f"epochs per trial (default {DEFAULTS['epochs']})")
    p.add_argument("--batch-size", type=_ranged(int, 1, 1 << 20), default=None,
                   help=f"batch size (default {DEFAULTS['batch_size']})")
    p.add_argument("--timeout", type=_ranged(float, 0, None, lo_open=True), default=None,
                   help="stop starting new trials after this many seconds")
    p.add_argument("--storage", default=None,
                   help="study database: an SQLite file path or URL (default <run dir>/study.db)")
    p.add_argument("--study-name", default=None, help="study name in the storage (default <dataset>-<model>)")
    p.add_argument("--activations", type=_names(ACTIVATIONS, "--activations"), default="relu,elu,swish,gelu,tanh",
                   help="hidden activations to try (default relu,elu,swish,gelu,tanh)")
    p.add_argument("--optimizers", type=_names(OPTIMIZERS, "--optimizers"), default="adam,sgd,rmsprop,nadam",
                   help="optimizers to try (default adam,sgd,rmsprop,nadam; sgd has momentum 0.9)")
    p.add_argument("--units", default=None,
                   help=f"comma-separated hidden sizes to try (default {DEFAULTS['units']})")
    p.add_argument("--monitor", default="val_accuracy", choices=("val_accuracy", "val_loss"),
                   help="what each trial is scored and pruned on (default val_accuracy)")
    p.add_argument("--pruner", default="median", choices=("median", "none"),
                   help="median: stop a trial whose epoch score is below the median of earlier trials (default)")
    p.add_argument("--validation-split", type=_ranged(float, 0, 1, lo_open=True, hi_open=True), default=0.1,
                   help="fraction of the training images held out to score trials (default 0.1)")


def _resolve(args) -> None:
    """Fill the options left unset from ``--tiny`` or the defaults; parse ``--units``."""
    preset = TINY if args.tiny else DEFAULTS
    for key in ("trials", "epochs", "batch_size"):
        if getattr(args, key) is None:
            setattr(args, key, preset[key])
    if not args.limit:
        args.limit = preset["limit"]
    text = args.units or preset["units"]
    try:
        units = [int(u) for u in text.split(",") if u.strip()]
    except ValueError:
        units = []
    if not units or min(units) < 1:
        raise ValueError(f"--units: expected comma-separated whole numbers >= 1, got {text!r}")
    args.units = list(dict.fromkeys(units))


def load_data(dataset: str, limit: int, data_dir, model: str):
    """``(x, y)`` for the tuned model: the first ``limit`` training images scaled to [0, 1], flattened."""
    (x, y), _ = rundir.load_dataset(dataset, limit=limit, test_limit=1, data_dir=data_dir)
    return rundir.to_model_input(x, rundir.input_shape_for(model, x.shape[1:])), y


class MLPBuilder:
    """``build_fn`` for the tuned MLP: config -> compiled model (picklable, for worker processes)."""

    def __init__(self, model: str, input_shape: tuple, num_classes: int):
        self.model, self.input_shape, self.num_classes = model, tuple(input_shape), int(num_classes)

    def hidden(self, config) -> list:
        units = int(config["units"])
        return [units] if self.model == "mlp" else [units, max(1, units // 2)]

    def __call__(self, config):
        m = rundir.build_model(self.model, self.input_shape, self.num_classes, activation=config["activation"],
                               l2=float(config["l2"]), dropout=float(config["dropout"]), hidden=self.hidden(config))
        m.compile(optimizer=rundir.make_optimizer(config["optimizer"], float(config["learning_rate"])),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return m


class TrialPrinter:
    """Study callback printing one line per finished trial (picklable, for worker processes)."""

    def __init__(self, monitor: str):
        self.monitor = monitor

    def __call__(self, study, trial):
        cfg = " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in trial.user_attrs.get("config", trial.params).items())
        steps = trial.intermediate_values
        if trial.value is not None:
            value = f" {self.monitor}={trial.value:.4f}"
        else:
            value = f" (last epoch {self.monitor}={steps[max(steps)]:.4f})" if steps else ""
        secs = trial.duration.total_seconds() if trial.duration is not None else 0.0
        print(f"trial {trial.number:3d} {trial.state.name.lower():8s}{value} after {len(steps)} epoch(s), "
              f"{secs:.1f} s: {cfg}", flush=True)


def train_command(args, builder: MLPBuilder, config: dict) -> str:
    """The ``tapeflow train`` command line that trains ``config`` on the whole training set."""
    argv = ["tapeflow", "train", "--dataset", args.dataset, "--model", args.model,
            "--hidden", ",".join(str(h) for h in builder.hidden(config)), "--activation", config["activation"],
            "--optimizer", config["optimizer"], "--learning-rate", f"{config['learning_rate']:.6g}",
            "--l2", f"{config['l2']:.6g}", "--dropout", f"{config['dropout']:.6g}",
            "--epochs", str(args.epochs), "--batch-size", str(args.batch_size), "--seed", str(args.seed)]
    return shlex.join(argv)


def run_tune(args) -> int:
    """Run ``tapeflow tune`` with parsed ``args``; returns the exit status."""
    from .. import tune
    from ..tune._optuna import require_optuna
    try:
        optuna = require_optuna("tapeflow tune")
    except ImportError as e:
        print(f"tapeflow tune: error: {e}", file=sys.stderr)
        return 1
    _resolve(args)
    run_dir = rundir.make_run_dir(args.out, "tune")
    storage = args.storage or os.path.join(run_dir, "study.db")
    study_name = args.study_name or f"{args.dataset}-{args.model}"
    space = tune.SearchSpace({"activation": tune.Categorical(args.activations),
                              "learning_rate": tune.LogUniform(1e-4, 1e-1),
                              "l2": tune.LogUniform(1e-6, 1e-2, include_zero=True),
                              "units": tune.Categorical(args.units),
                              "dropout": tune.Uniform(0.0, 0.5),
                              "optimizer": tune.Categorical(args.optimizers)})
    in_shape = rundir.input_shape_for(args.model, IMAGE_SHAPES[args.dataset])
    builder = MLPBuilder(args.model, in_shape, len(rundir.CLASS_NAMES[args.dataset]))
    objective = tune.FitObjective(builder, data_fn=functools.partial(load_data, args.dataset, args.limit,
                                                                     args.data_dir, args.model),
                                  validation_split=args.validation_split, epochs=args.epochs,
                                  batch_size=args.batch_size, monitor=args.monitor)
    x, _, _ = objective.data()  # a missing dataset fails here, before any worker starts
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=2 if args.tiny else 5, n_warmup_steps=1)
              if args.pruner == "median" else optuna.pruners.NopPruner())
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"run directory: {run_dir}\nstudy {study_name!r} in {storage}: {args.trials} trial(s) of "
          f"{args.epochs} epoch(s) on {len(x)} images, {args.jobs} job(s)", flush=True)
    interrupted = False
    try:
        study = tune.search(objective, space, n_trials=args.trials, storage=storage, study_name=study_name,
                            n_jobs=args.jobs, pruner=pruner, seed=args.seed, timeout=args.timeout,
                            callbacks=[TrialPrinter(args.monitor)] if args.verbose else [])
    except KeyboardInterrupt:
        interrupted = True
        print("interrupted: writing the results of the trials so far", file=sys.stderr)
        study = optuna.load_study(study_name=study_name, storage=tune.make_storage(storage))
    return _write_results(args, run_dir, storage, study, builder, interrupted)


def _write_results(args, run_dir, storage, study, builder, interrupted) -> int:
    from .. import tune
    rows = tune.trials_table(study)
    rundir.write_table(run_dir, "trials", rows)
    try:
        best = tune.best_summary(study)
    except ValueError as e:
        print(f"tapeflow tune: {e}", file=sys.stderr)
        return 130 if interrupted else 1
    best.update({"monitor": args.monitor, "storage": storage,
                 "train_command": train_command(args, builder, best["config"]),
                 "settings": {k: v for k, v in vars(args).items() if k != "func"}})
    written, skipped = tune.write_plots(study, run_dir, target_name=args.monitor)
    best["plots"] = [os.path.basename(p) for p in written]
    best["plots_skipped"] = skipped
    rundir.write_json(os.path.join(run_dir, "best.json"), best)
    states = ", ".join(f"{n} {s.lower()}" for s, n in sorted(best["states"].items()))
    print(f"{best['n_trials']} trial(s) in study {best['study_name']!r} ({states})")
    print(f"best trial {best['best_trial']}: {args.monitor}={best['value']:.4f} with "
          + " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in best["config"].items()))
    print(f"train it on all the data: {best['train_command']}")
    for name, why in skipped.items():
        print(f"plot {name} skipped: {why}")
    print(f"wrote {run_dir}: best.json, trials.csv, trials.json"
          + "".join(", " + os.path.basename(p) for p in written))
    again = f"--storage {shlex.quote(storage)}" if args.storage else f"--out {shlex.quote(run_dir)}"
    print(f"resume: tapeflow tune {again} (with the same options) adds more trials to study "
          f"{best['study_name']!r}")
    return 130 if interrupted else 0
