"""tapeflow.tune on Optuna: space -> suggest mapping, pruning, SQLite resume, parallel workers, the CLI."""
import csv
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from _oracle import require_fashion_mnist, require_module

optuna = require_module("optuna", "pip install 'tapeflow[tune]'")

import tapeflow as tf  # noqa: E402
from tapeflow import tune  # noqa: E402
from tapeflow.tune import Categorical, IntRange, LogUniform, SearchSpace, Uniform  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)

_RNG = np.random.default_rng(0)
X = _RNG.normal(size=(240, 6)).astype("float32")
Y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype("int64")


def build_small(config):
    """Module-level (picklable) build_fn for the worker-process tests."""
    m = tf.keras.Sequential([tf.keras.Input((6,)),
                             tf.keras.layers.Dense(int(config.get("units", 8)), activation=config["activation"]),
                             tf.keras.layers.Dense(2, activation="softmax")])
    m.compile(tf.keras.optimizers.Adam(config["learning_rate"]), "sparse_categorical_crossentropy",
              metrics=["accuracy"])
    return m


def space_small():
    return SearchSpace({"activation": Categorical(["relu", "tanh"]), "learning_rate": LogUniform(1e-2, 1e-1),
                        "units": IntRange(4, 16)})


def objective_small():
    return tune.FitObjective(build_small, X, Y, validation_split=0.25, epochs=2, batch_size=60)


# -- search space ---------------------------------------------------------------------------------
def test_space_maps_onto_optuna_distributions():
    space = SearchSpace({"activation": Categorical(["relu", "elu", "swish"]),
                         "learning_rate": LogUniform(1e-4, 1e-1), "l2": LogUniform(1e-6, 1e-2, include_zero=True),
                         "units": IntRange(32, 256, log=True), "dropout": Uniform(0.0, 0.5, step=0.1),
                         "optimizer": Categorical(["adam", "sgd"]), "epochs": 3})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen_zero = seen_l2 = False
    for _ in range(12):
        trial = study.ask()
        config = space.sample(trial)
        d = trial.distributions
        assert d["activation"] == optuna.distributions.CategoricalDistribution(("relu", "elu", "swish"))
        assert d["learning_rate"] == optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)
        assert d["units"] == optuna.distributions.IntDistribution(32, 256, log=True)
        assert d["dropout"] == optuna.distributions.FloatDistribution(0.0, 0.5, step=0.1)
        assert d["use_l2"] == optuna.distributions.CategoricalDistribution((True, False))
        assert config["epochs"] == 3 and "epochs" not in trial.params
        assert 1e-4 <= config["learning_rate"] <= 1e-1 and 32 <= config["units"] <= 256
        if trial.params["use_l2"]:
            seen_l2 = True
            assert 1e-6 <= config["l2"] <= 1e-2 and d["l2"].log
        else:
            seen_zero = True
            assert config["l2"] == 0.0 and "l2" not in trial.params
        assert space.config_from_params(trial.params) == config
        study.tell(trial, 0.0)
    assert seen_zero and seen_l2
    fixed = optuna.trial.FixedTrial({"activation": "elu", "learning_rate": 0.01, "use_l2": False, "units": 64,
                                     "dropout": 0.2, "optimizer": "sgd"})
    assert space.sample(fixed) == {"activation": "elu", "learning_rate": 0.01, "l2": 0.0, "units": 64,
                                   "dropout": 0.2, "optimizer": "sgd", "epochs": 3}


@pytest.mark.parametrize("params,exc,words", [
    ({"activation": Categorical(["relu", "relux"])}, ValueError, ["'activation'", "'relux'", "known activation"]),
    ({"dense_activation": "sigmoidd"}, ValueError, ["'dense_activation'", "'sigmoidd'"]),
    ({"optimizer": Categorical(["adam", "adamm"])}, ValueError, ["'optimizer'", "'adamm'", "Known optimizers"]),
    ({"learning_rate": Uniform(0.0, 0.1)}, ValueError, ["'learning_rate'", "> 0"]),
    ({"dropout": Uniform(0.0, 1.5)}, ValueError, ["'dropout'", "[0, 1)", "1.5"]),
    ({"units": Categorical([0, 8])}, ValueError, ["'units'", ">= 1"]),
    ({"units": [32, 64]}, TypeError, ["'units'", "Categorical"]),
    ({"l2": LogUniform(1e-4, 1e-2, include_zero=True), "use_l2": True}, ValueError, ["'use_l2'", "rename"]),
    ({}, ValueError, ["empty"]),
    ({"loss_fn": print}, TypeError, ["'loss_fn'", "JSON"]),
])
def test_space_bad_input(params, exc, words):
    with pytest.raises(exc) as info:
        SearchSpace(params)
    for w in words:
        assert w in str(info.value), (w, str(info.value))


@pytest.mark.parametrize("make,words", [
    (lambda: LogUniform(0.0, 1e-2), ["LogUniform", "low must be > 0", "include_zero"]),
    (lambda: Uniform(0.5, 0.1), ["Uniform", "low must be <= high"]),
    (lambda: IntRange(0, 10, log=True), ["IntRange", "log=True"]),
    (lambda: Categorical([]), ["Categorical", "empty"]),
    (lambda: Categorical(["a", "a"]), ["repeat"]),
    (lambda: Categorical([object()]), ["None, bool, int, float and str"]),
])
def test_distribution_bad_input(make, words):
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    for w in words:
        assert w in str(info.value)


# -- search arguments -------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,exc,words", [
    ({"n_trials": 0}, ValueError, ["n_trials must be a positive integer", "0"]),
    ({"n_trials": -3}, ValueError, ["n_trials must be a positive integer"]),
    ({"n_trials": 2.5}, ValueError, ["n_trials"]),
    ({"n_trials": None}, ValueError, ["n_trials or timeout"]),
    ({"n_trials": 2, "n_jobs": 2}, ValueError, ["n_jobs=2", "storage="]),
    ({"n_trials": 2, "n_jobs": 0}, ValueError, ["n_jobs"]),
    ({"n_trials": 2, "direction": "minimize"}, ValueError, ["direction='minimize'", "val_accuracy"]),
    ({"n_trials": 2, "seed": -1}, ValueError, ["seed"]),
    ({"n_trials": 2, "storage": "/no/such/folder/study.db"}, FileNotFoundError, ["/no/such/folder", "create it"]),
])
def test_search_bad_input(kwargs, exc, words):
    with pytest.raises(exc) as info:
        tune.search(objective_small(), space_small(), **kwargs)
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_storage_that_is_not_a_database_is_refused(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("not a database\n" * 100)
    with pytest.raises(ValueError, match=r"notes\.db.*not a usable SQLite database"):
        tune.search(objective_small(), space_small(), n_trials=1, storage=str(bad))


def test_parallel_search_needs_picklable_objective(tmp_path):
    with pytest.raises(TypeError, match="picklable"):
        tune.search(lambda trial, config: 0.0, {"x": Uniform(0, 1)}, n_trials=2, n_jobs=2,
                    storage=str(tmp_path / "s.db"))


def test_objective_must_return_a_number():
    with pytest.raises(TypeError, match="must return a number"):
        tune.search(lambda trial, config: "good", {"x": Uniform(0, 1)}, n_trials=1)


def test_import_tapeflow_does_not_import_optuna_and_missing_optuna_is_explained(monkeypatch):
    code = "import sys, tapeflow; tapeflow.tune.SearchSpace; assert 'optuna' not in sys.modules, 'optuna loaded'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ImportError, match=r"pip install 'tapeflow\[tune\]'"):
        tune.search(lambda trial, config: 0.0, {"x": Uniform(0, 1)}, n_trials=1)


# -- pruning ---------------------------------------------------------------------------------------
class _TrainEnd(tf.keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.ended = 0

    def on_train_end(self, logs=None):
        self.ended += 1


def test_pruning_callback_prunes_a_bad_trial_and_stops_fit_cleanly():
    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1))
    ended = _TrainEnd()

    def objective(trial):
        tf.keras.utils.set_random_seed(trial.number)
        lr = trial.suggest_float("learning_rate", 1e-7, 0.1, log=True)
        epochs = trial.suggest_categorical("epochs", [2, 6])
        model = build_small({"activation": "tanh", "learning_rate": lr, "units": 8})
        cb = tune.PruningCallback(trial, monitor="val_accuracy")
        h = model.fit(X, Y, validation_split=0.25, epochs=epochs, batch_size=20, verbose=0, callbacks=[ended, cb])
        return h.history["val_accuracy"][-1]

    # two good trials set the median, then a learning rate that learns nothing, for 6 epochs and for 2
    for lr, epochs in ((0.05, 6), (0.05, 6), (1e-7, 6), (1e-7, 2)):
        study.enqueue_trial({"learning_rate": lr, "epochs": epochs})
    study.optimize(objective, n_trials=4)
    good, _, bad, bad_but_done = study.trials
    assert good.state == optuna.trial.TrialState.COMPLETE and len(good.intermediate_values) == 6
    assert good.value > 0.8
    assert bad.state == optuna.trial.TrialState.PRUNED
    assert len(bad.intermediate_values) == 2  # reported epochs 0 and 1, pruned at the first step after warm-up
    assert bad.intermediate_values[1] < good.intermediate_values[1]
    assert ended.ended == 4  # on_train_end ran for the pruned trial too: fit stopped at the epoch boundary
    # its last epoch is step 1 too, but a finished fit is not pruned: nothing left to save
    assert bad_but_done.state == optuna.trial.TrialState.COMPLETE and len(bad_but_done.intermediate_values) == 2
    assert bad_but_done.value == bad_but_done.intermediate_values[1] < good.value


def test_pruning_callback_missing_monitor_names_the_available_keys():
    trial = optuna.create_study().ask()
    model = build_small({"activation": "relu", "learning_rate": 0.01})
    with pytest.raises(ValueError, match=r"'val_accuracy' is not in the epoch logs.*validation_data"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[tune.PruningCallback(trial)])
    with pytest.raises(TypeError, match="optuna.Trial"):
        tune.PruningCallback("not a trial")


# -- resume and reproducibility --------------------------------------------------------------------
def test_resume_from_sqlite_continues_and_seeded_search_repeats(tmp_path):
    db = str(tmp_path / "study.db")
    first = tune.search(objective_small(), space_small(), n_trials=3, storage=db, study_name="s", seed=7)
    assert [t.number for t in first.trials] == [0, 1, 2]
    resumed = tune.search(objective_small(), space_small(), n_trials=2, storage="sqlite:///" + db,
                          study_name="s", seed=7)
    trials = optuna.load_study(study_name="s", storage="sqlite:///" + db).trials
    assert len(resumed.trials) == 5 and [t.number for t in trials] == [0, 1, 2, 3, 4]
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert trials[3].params != trials[0].params  # the resumed run went on rather than repeating trial 0
    # the same seed in a fresh study repeats the first run exactly: params and trained scores
    again = tune.search(objective_small(), space_small(), n_trials=3, seed=7)
    assert [t.params for t in again.trials] == [t.params for t in trials[:3]]
    assert [t.value for t in again.trials] == [t.value for t in trials[:3]]
    with pytest.raises(ValueError, match="made to maximize"):
        tune.search(lambda trial, config: 0.0, space_small(), n_trials=1, storage=db, study_name="s",
                    direction="minimize")
    with pytest.warns(UserWarning, match="different search space"):
        tune.search(objective_small(), {**space_small().params, "units": IntRange(4, 32)}, n_trials=1,
                    storage=db, study_name="s")


# -- parallel trials in worker processes -------------------------------------------------------------
def test_two_worker_processes_share_the_sqlite_study(tmp_path):
    db = str(tmp_path / "par.db")
    objective = PidObjective(build_small, X, Y, validation_split=0.25, epochs=2, batch_size=60)
    pickle.dumps(objective)
    study = tune.search(objective, space_small(), n_trials=4, n_jobs=2, storage=db, study_name="par", seed=0)
    trials = optuna.load_study(study_name="par", storage="sqlite:///" + db).trials
    assert sorted(t.number for t in trials) == [0, 1, 2, 3] and len(study.trials) == 4
    assert all(t.state == optuna.trial.TrialState.COMPLETE and 0.0 <= t.value <= 1.0 for t in trials)
    pids = {t.user_attrs["pid"] for t in trials}
    assert len(pids) == 2 and os.getpid() not in pids
    assert all(len(t.intermediate_values) == 2 for t in trials)  # PruningCallback reported from the workers


class PidObjective(tune.FitObjective):
    """FitObjective that notes which process ran each trial."""

    def __call__(self, trial, config):
        trial.set_user_attr("pid", os.getpid())
        return super().__call__(trial, config)


class Exploding:
    """Picklable objective whose trials raise, to check that a worker's error reaches the caller."""

    def __call__(self, trial, config):
        raise ArithmeticError(f"trial {trial.number} exploded")


def test_a_failing_worker_is_reported_with_its_error(tmp_path):
    db = str(tmp_path / "fail.db")
    with pytest.raises(RuntimeError, match=r"worker \d of 2 failed: ArithmeticError: trial \d exploded"):
        tune.search(Exploding(), {"x": Uniform(0, 1)}, n_trials=2, n_jobs=2, storage=db)
    trials = optuna.load_study(study_name="tapeflow", storage="sqlite:///" + db).trials
    assert len(trials) == 2 and all(t.state == optuna.trial.TrialState.FAIL for t in trials)


# -- reports ---------------------------------------------------------------------------------------
def test_write_plots_skips_what_cannot_be_drawn_and_says_why(tmp_path, monkeypatch):
    study = tune.search(lambda trial, config: config["x"], {"x": Uniform(0, 1), "y": Uniform(0, 1)}, n_trials=1)
    written, skipped = tune.write_plots(study, str(tmp_path))
    assert sorted(os.path.basename(p) for p in written) == ["optimization_history.png", "parallel_coordinate.png",
                                                            "slice.png"]
    assert "2 completed trials" in skipped["param_importances"]
    assert "PruningCallback" in skipped["intermediate_values"]
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in written)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    written, skipped = tune.write_plots(study, str(tmp_path / "none"))
    assert written == [] and set(skipped) == set(tune.report.PLOTS)
    assert all("matplotlib is not installed" in why for why in skipped.values())


# -- the command line --------------------------------------------------------------------------------
def test_cli_tune_tiny_on_fashion_mnist_writes_best_and_plots_and_resumes(tmp_path, capsys):
    require_fashion_mnist()
    from tapeflow.cli.main import main
    out = tmp_path / "tune"
    assert main(["tune", "--tiny", "--trials", "3", "--out", str(out), "--verbose", "0"]) == 0
    best = json.loads((out / "best.json").read_text())
    assert set(best["config"]) == {"activation", "learning_rate", "l2", "units", "dropout", "optimizer"}
    assert best["config"]["activation"] in ("relu", "elu", "swish", "gelu", "tanh")
    assert 0.2 < best["value"] <= 1.0 and best["n_trials"] == 3 and best["monitor"] == "val_accuracy"
    assert best["train_command"].startswith("tapeflow train --dataset fashion_mnist --model mlp3")
    with open(out / "trials.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["number"]) for r in rows] == [0, 1, 2]
    assert float(rows[best["best_trial"]]["value"]) == pytest.approx(best["value"], rel=1e-5)
    assert best["plots_skipped"] == {}
    for name in ("optimization_history", "param_importances", "parallel_coordinate", "slice",
                 "intermediate_values"):
        assert (out / f"{name}.png").stat().st_size > 5000, name
    assert not [p for p in os.listdir(out) if ".tmp" in p]
    assert "best trial" in capsys.readouterr().out
    # the same command resumes the study in <out>/study.db
    assert main(["tune", "--tiny", "--trials", "1", "--out", str(out), "--verbose", "0"]) == 0
    assert json.loads((out / "best.json").read_text())["n_trials"] == 4


@pytest.mark.parametrize("argv,words", [
    (["--trials", "0"], "--trials"),
    (["--activations", "relu,relux"], "--activations"),
    (["--jobs", "0"], "--jobs"),
])
def test_cli_tune_bad_input(argv, words, capsys):
    from tapeflow.cli.main import main
    with pytest.raises(SystemExit) as info:
        main(["tune", "--tiny"] + argv)
    assert info.value.code == 2
    assert words in capsys.readouterr().err


def test_cli_tune_bad_units(tmp_path, capsys):
    from tapeflow.cli.main import main
    assert main(["tune", "--tiny", "--units", "0,8", "--out", str(tmp_path / "t")]) == 1
    assert "--units" in capsys.readouterr().err
