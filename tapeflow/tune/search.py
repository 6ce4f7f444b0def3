"""``search``: run an Optuna study over a SearchSpace, in one process or in several sharing storage.

Why processes and not Optuna's ``n_jobs`` threads: tapeflow's training state is per process, not per
thread -- the list of recording tapes (``autodiff.tape._recording``), the global random generator
(``backend.rng``) and the layer-name counters are module globals. Two fits in two threads record
into each other's tapes and draw from one generator, so results depend on thread timing (measured:
two seeded fits in threads gave final losses 0.6175/0.6046 where the same fits in turn gave
0.6176/0.7731). So ``n_jobs > 1`` starts ``n_jobs`` worker processes (spawn, not fork), each
loading the study from the shared storage and running its share of the trials; the storage hands
out trial numbers, so every trial of every worker lands in the one study.

Resuming is the same mechanism over time: ``search`` on an existing ``storage`` + ``study_name``
loads the study and adds ``n_trials`` more to it.
"""
from __future__ import annotations

import contextlib
import json
import multiprocessing
import numbers
import os
import pickle
import signal
import sys
import time
import traceback
import warnings

import numpy as np

from ._optuna import require_optuna
from .space import as_space

DEFAULT_STUDY_NAME = "tapeflow"
_BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# an SQLite writer waits up to this long for another process's lock instead of failing at once
_SQLITE_LOCK_TIMEOUT_S = 60


def make_storage(storage):
    """An Optuna storage for ``storage``: None (in memory), a URL, a path to an SQLite file, or a storage.

    A path without ``://`` means an SQLite file (``study.db`` -> ``sqlite:///<abs path>/study.db``).
    Database storages get a heartbeat, so a trial left RUNNING by a killed process is marked FAIL
    when the study is next resumed instead of hanging about forever.

    >>> make_storage(None) is None
    True
    """
    optuna = require_optuna("tapeflow.tune.search")
    if storage is None or isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if not isinstance(storage, (str, os.PathLike)):
        raise TypeError(f"search: storage must be None, a database URL such as 'sqlite:///study.db', a file "
                        f"path or an Optuna storage, got {type(storage).__name__}")
    url = os.fspath(storage)
    if "://" not in url:
        url = "sqlite:///" + os.path.abspath(url)
    kwargs = {}
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        folder = os.path.dirname(os.path.abspath(path)) if path else ""
        if not path or not os.path.isdir(folder):
            raise FileNotFoundError(f"search: storage {url!r}: the folder {folder!r} for the SQLite file does not "
                                    f"exist; create it first")
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": _SQLITE_LOCK_TIMEOUT_S}}
        _use_wal(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # the heartbeat arguments
        return optuna.storages.RDBStorage(url, heartbeat_interval=60, grace_period=180, **kwargs)


def _use_wal(path: str) -> None:
    """Switch the SQLite file to write-ahead logging (kept in the file): readers no longer wait for a writer."""
    import sqlite3
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=_SQLITE_LOCK_TIMEOUT_S)) as con:
            con.execute("PRAGMA journal_mode=WAL").fetchall()
    except sqlite3.Error as e:
        raise ValueError(f"search: storage {path!r} is not a usable SQLite database: {e}") from e


def _derived_seed(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


class _TrialRunner:
    """What each trial runs: sample the config, reset Keras state, seed, call the objective."""

    def __init__(self, objective, space, seed):
        self.objective, self.space, self.seed = objective, space, seed

    def __call__(self, trial):
        from ..keras import backend, utils
        config = self.space.sample(trial)
        trial.set_user_attr("config", config)
        backend.clear_session()
        if self.seed is not None:
            utils.set_random_seed(_derived_seed(self.seed, trial.number))
        value = self.objective(trial, config)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"search: the objective must return a number (the score to optimize), got "
                            f"{type(value).__name__} {value!r}")
        return float(value)


def _worker(storage, study_name, runner, sampler, pruner, n_trials, timeout, callbacks, catch, verbosity,
            reseed):
    optuna = require_optuna("tapeflow.tune.search")
    optuna.logging.set_verbosity(verbosity)
    if reseed:
        sampler.reseed_rng()
    study = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler, pruner=pruner)
    study.optimize(runner, n_trials=n_trials, timeout=timeout, callbacks=callbacks, catch=catch)


def _check_args(objective, n_trials, n_jobs, timeout, seed, direction):
    if not callable(objective):
        raise TypeError(f"search: objective must be callable as objective(trial, config), "
                        f"got {type(objective).__name__}")
    if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, numbers.Integral)
                                 or n_trials < 1):
        raise ValueError(f"search: n_trials must be a positive integer, got {n_trials!r}")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, numbers.Real)
                                or not timeout > 0):
        raise ValueError(f"search: timeout must be a number of seconds > 0, got {timeout!r}")
    if n_trials is None and timeout is None:
        raise ValueError("search: give n_trials or timeout (or both), or the search would never end")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or (n_jobs < 1 and n_jobs != -1):
        raise ValueError(f"search: n_jobs must be a positive integer or -1 (one per CPU), got {n_jobs!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise ValueError(f"search: seed must be a non-negative integer or None, got {seed!r}")
    if direction not in ("maximize", "minimize"):
        raise ValueError(f"search: direction must be 'maximize' or 'minimize', got {direction!r}")


def search(objective, space, n_trials: int | None = None, *, storage=None, study_name: str | None = None,
           direction: str | None = None, n_jobs: int = 1, sampler=None, pruner=None, seed: int | None = None,
           timeout: float | None = None, callbacks=(), catch=()):
    """Run ``n_trials`` trials of ``objective(trial, config)`` over ``space``; returns the ``optuna.Study``.

    ``space``: a SearchSpace or a dict of distributions. ``objective``: any ``(trial, config) -> float``,
    e.g. a ``FitObjective`` (whose ``direction`` is then the default ``direction``; otherwise
    ``"maximize"``). ``storage``: None (in memory), ``"sqlite:///study.db"`` or a path to an SQLite
    file; an existing study of that ``study_name`` (default ``"tapeflow"`` with storage) is resumed
    and ``n_trials`` more trials are added to it. ``n_jobs > 1`` (-1: one per CPU) runs trials in
    that many processes sharing ``storage`` (required then), so ``objective``, ``sampler`` and
    ``pruner`` must be picklable (module-level functions or class instances, not lambdas).
    ``sampler`` defaults to TPE and ``pruner`` to ``MedianPruner()``. With ``seed`` and one job the
    search repeats exactly: the default sampler and each trial's tapeflow/NumPy seed derive from
    it (and from the trial number, so a resumed study continues rather than repeats). With several
    jobs, which worker takes which trial depends on timing, so trials are not repeatable; the workers
    are spawned, so a script calling ``search(n_jobs > 1)`` needs the ``if __name__ == "__main__":`` guard.

    >>> import optuna
    >>> from tapeflow.tune import Uniform, search
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> study = search(lambda trial, c: -(c["x"] - 0.3) ** 2, {"x": Uniform(0, 1)}, n_trials=20, seed=0)
    >>> len(study.trials), abs(study.best_params["x"] - 0.3) < 0.1
    (20, True)
    """
    optuna = require_optuna("tapeflow.tune.search")
    space = as_space(space)
    own_direction = getattr(objective, "direction", None)
    if direction is None:
        direction = own_direction or "maximize"
    elif own_direction is not None and own_direction != direction:
        raise ValueError(f"search: direction={direction!r} but the objective's monitor "
                         f"{getattr(objective, 'monitor', '')!r} should be {own_direction[:-1]}ed; pass "
                         f"direction={own_direction!r} or another monitor")
    _check_args(objective, n_trials, n_jobs, timeout, seed, direction)
    n_jobs = (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)
    callbacks, catch = list(callbacks), tuple(catch)
    if n_jobs > 1:
        try:
            pickle.dumps((objective, space, sampler, pruner, callbacks, catch))
        except Exception as e:  # noqa: BLE001 - any pickling failure means the same thing here
            raise TypeError(f"search: n_jobs={n_jobs} sends the objective, sampler, pruner and callbacks to "
                            f"worker processes, so they must be picklable (module-level functions or class "
                            f"instances, not lambdas or nested functions): {e}") from e
    storage = make_storage(storage)
    if n_jobs > 1 and storage is None:
        raise ValueError(f"search: n_jobs={n_jobs} runs trials in separate processes that share the study "
                         f"through storage; pass storage='sqlite:///study.db' (or a path to an SQLite file)")
    if study_name is None and storage is not None:
        study_name = DEFAULT_STUDY_NAME
    user_sampler = sampler is not None
    pruner = optuna.pruners.MedianPruner() if pruner is None else pruner

    def default_sampler(n_before, worker):
        base = _derived_seed(seed, n_before, worker) if seed is not None else None
        return optuna.samplers.TPESampler(seed=base, constant_liar=n_jobs > 1)

    study = optuna.create_study(storage=storage, study_name=study_name, direction=direction,
                                sampler=sampler or default_sampler(0, 0), pruner=pruner, load_if_exists=True)
    if study.direction.name.lower() != direction:
        raise ValueError(f"search: study {study_name!r} in the storage was made to {study.direction.name.lower()}, "
                         f"not to {direction}; use another study_name or direction={study.direction.name.lower()!r}")
    _note_space(study, space)
    n_before = len(study.trials)
    runner = _TrialRunner(objective, space, seed)
    if n_jobs == 1:
        if not user_sampler and n_before:
            study.sampler = default_sampler(n_before, 0)
        study.optimize(runner, n_trials=n_trials, timeout=timeout, callbacks=callbacks, catch=catch)
        return study

    shares = [None] * n_jobs if n_trials is None else [n_trials // n_jobs + (i < n_trials % n_jobs)
                                                        for i in range(min(n_jobs, n_trials))]
    samplers = [sampler if user_sampler else default_sampler(n_before, i) for i in range(len(shares))]
    _run_workers(storage, study_name, runner, samplers, pruner, shares, timeout, callbacks, catch,
                 reseed=user_sampler, verbosity=optuna.logging.get_verbosity())
    return study


def _run_workers(storage, study_name, runner, samplers, pruner, shares, timeout, callbacks, catch, reseed,
                 verbosity):
    """Run one spawned worker process per share; wait for all, then raise the first worker's error.

    An interrupt (Ctrl-C, or SIGINT to this process alone) is passed on to the workers, which mark
    their running trials failed and stop; then it is raised here.
    """
    ctx = multiprocessing.get_context("spawn")
    threads = str(max(1, (os.cpu_count() or 1) // len(shares)))
    # BLAS reads these when NumPy loads in the child, so they must be in the environment it is spawned with
    added = {v: threads for v in _BLAS_VARS if v not in os.environ}
    procs, conns = [], []
    os.environ.update(added)
    try:
        for i, (sampler, n) in enumerate(zip(samplers, shares)):
            reader, writer = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_worker_main, name=f"tapeflow-tune-{i}", daemon=True,
                            args=(writer, storage, study_name, runner, sampler, pruner, n, timeout, callbacks,
                                  catch, verbosity, reseed))
            p.start()
            writer.close()
            procs.append(p)
            conns.append(reader)
    finally:
        for v in added:
            os.environ.pop(v, None)
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:
        _interrupt(procs)
        raise
    errors = []
    for i, (p, reader) in enumerate(zip(procs, conns)):
        try:
            message = reader.recv() if reader.poll() else None
        except EOFError:
            message = None
        if p.exitcode != 0:
            errors.append((i, message or f"the process ended with exit code {p.exitcode} (killed, out of memory, "
                                         f"or a script that calls search(n_jobs > 1) at import time: put that "
                                         f"call under `if __name__ == '__main__':`)"))
    if errors:
        i, message = errors[0]
        more = f"\n({len(errors) - 1} other worker(s) failed too)" if len(errors) > 1 else ""
        raise RuntimeError(f"search: worker {i} of {len(shares)} failed: {message}{more}")


def _worker_main(conn, *args):
    """A worker process's body: run ``_worker``; on failure send the error text back and exit 1."""
    try:
        _worker(*args)
    except BaseException as e:  # noqa: BLE001 - KeyboardInterrupt included: the parent reports it
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the report short
        conn.send(f"{type(e).__name__}: {e}\n{traceback.format_exc()[-8000:]}")
        conn.close()
        sys.exit(1)
    conn.close()


def _interrupt(procs, grace_s: float = 20.0) -> None:
    """SIGINT every live worker, give them ``grace_s`` to record their trials as failed, then terminate.

    A Ctrl-C in a terminal has reached the workers already (one process group), so they get a moment
    to stop by themselves before a second SIGINT could cut their clean-up short.
    """
    deadline = time.monotonic() + 2.0
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            try:
                os.kill(p.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
    for p in procs:
        p.join(grace_s)
        if p.is_alive():
            p.terminate()
            p.join()


def _note_space(study, space) -> None:
    """Store the space with a new study; warn when a resumed study was started with another space."""
    described = json.loads(json.dumps(space.describe()))  # as it reads back from a database
    before = study.user_attrs.get("tapeflow_space")
    if before is None:
        study.set_user_attr("tapeflow_space", described)
    elif before != described:
        changed = sorted(k for k in set(before) | set(described) if before.get(k) != described.get(k))
        warnings.warn(f"search: study {study.study_name!r} was started with a different search space (changed: "
                      f"{', '.join(changed)}); the new trials use the new space", stacklevel=3)
