"""What a finished (or interrupted) study says: a trials table, the best config, and Optuna's plots."""
from __future__ import annotations

import os
import warnings

from ..keras.saving.safety import atomic_write
from ._optuna import require_optuna

# file stem -> the optuna.visualization.matplotlib function that draws it
PLOTS = {"optimization_history": "plot_optimization_history",
         "param_importances": "plot_param_importances",
         "parallel_coordinate": "plot_parallel_coordinate",
         "slice": "plot_slice",
         "intermediate_values": "plot_intermediate_values"}
_TAKES_TARGET_NAME = ("optimization_history", "param_importances", "parallel_coordinate", "slice")


def trial_config(trial) -> dict:
    """The config ``search`` gave ``trial`` (its ``config`` user attribute), else its raw Optuna params."""
    return dict(trial.user_attrs.get("config", trial.params))


def trials_table(study) -> list:
    """One flat dict per trial: number, state, value, epochs reported, seconds, then the config's keys.

    >>> import optuna
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> study = optuna.create_study()
    >>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    >>> [sorted(r) for r in trials_table(study)][0]
    ['epochs', 'number', 'seconds', 'state', 'value', 'x']
    """
    rows = []
    for t in study.trials:
        seconds = t.duration.total_seconds() if t.duration is not None else ""
        rows.append({"number": t.number, "state": t.state.name, "value": "" if t.value is None else t.value,
                     "epochs": len(t.intermediate_values), "seconds": seconds, **trial_config(t)})
    return rows


def best_summary(study) -> dict:
    """The best trial's number, value, config and Optuna params, and how many trials ended in each state.

    Raises ValueError when no trial has completed yet (all pruned, failed or still running).
    """
    optuna = require_optuna("tapeflow.tune.best_summary")
    states: dict = {}
    for t in study.trials:
        states[t.state.name] = states.get(t.state.name, 0) + 1
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not done:
        raise ValueError(f"study {study.study_name!r} has no completed trial yet ({states or 'no trials'}); "
                         f"run more trials, or loosen the pruner")
    best = study.best_trial
    return {"study_name": study.study_name, "direction": study.direction.name.lower(),
            "best_trial": best.number, "value": best.value, "config": trial_config(best),
            "params": dict(best.params), "n_trials": len(study.trials), "states": states}


def write_plots(study, folder: str, target_name: str = "Objective Value"):
    """Write Optuna's matplotlib plots of ``study`` as PNGs in ``folder``; returns ``(written, skipped)``.

    ``written`` lists the paths; ``skipped`` maps a plot's name to why it could not be drawn (for
    instance param importances with fewer than two completed trials, or matplotlib missing). Each
    PNG goes to a temporary name first and is then renamed into place.
    """
    optuna = require_optuna("tapeflow.tune.write_plots")
    try:
        import matplotlib
        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
        from optuna.visualization import matplotlib as ovm
    except ImportError as e:
        reason = f"matplotlib is not installed (pip install 'tapeflow[plots]'): {e}"
        return [], {name: reason for name in PLOTS}
    os.makedirs(folder, exist_ok=True)
    written, skipped = [], {}
    n_done = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    if n_done < 2:
        skipped["param_importances"] = f"needs at least 2 completed trials, the study has {n_done}"
    if not any(t.intermediate_values for t in study.get_trials(deepcopy=False)):
        skipped["intermediate_values"] = "no trial reported epoch values (they come from PruningCallback)"
    for name, func in PLOTS.items():
        if name in skipped:
            continue
        path = os.path.join(folder, name + ".png")
        try:
            with warnings.catch_warnings():
                # Optuna marks its matplotlib plots experimental; matplotlib warns about single-value axes
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                warnings.simplefilter("ignore", UserWarning)
                kwargs = {"target_name": target_name} if name in _TAKES_TARGET_NAME else {}
                axes = getattr(ovm, func)(study, **kwargs)
                first = axes.flat[0] if hasattr(axes, "flat") else axes
                fig = first.figure
                fig.set_size_inches(max(fig.get_figwidth(), 8), max(fig.get_figheight(), 5))
                with atomic_write(path) as tmp:
                    fig.savefig(tmp, dpi=100, bbox_inches="tight", format="png")
            plt.close(fig)
            written.append(path)
        except Exception as e:  # noqa: BLE001 - one plot that cannot be drawn must not cost the others
            skipped[name] = f"{type(e).__name__}: {e}"
            plt.close("all")
    return written, skipped
