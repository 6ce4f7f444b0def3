"""Intra-op threads for the large elementwise work NumPy runs on one core (optimizer updates).

NumPy's ufuncs release the GIL, so a large elementwise update split into contiguous chunks runs
on several threads at once. Chunks are whole elements of one array, so results are bitwise the
same for every thread count.

The default is one thread (no pool). Inside training the update follows BLAS calls, and OpenBLAS's
worker thread keeps spinning on the other core for about 0.1 s after each threaded matmul (its CPU
ticks in ``/proc/self/task``); a second Python-side thread competing with it makes the update slower.
Measured on 2 cores: a 1M-parameter Adam update inside ``fit`` (MLP 784-1024-256-10, batch 128) took
5.0 ms on two threads against 4.6 ms on one; with ``OPENBLAS_NUM_THREADS=1`` (no spinning worker) 3.4
against 4.7 ms; the same update in a loop of updates alone 2.65 against 3.28 ms. Choosing per optimizer
by timing the update both ways picked the threads where the update alone was faster, yet a batch-32 epoch
got 10% slower (the cost lands on the next matmuls, outside the update's timer). Opt in with
``tf.config.threading.set_intra_op_parallelism_threads(n)`` or ``TAPEFLOW_NUM_THREADS=n``.

Inter-op threads are another matter: ``fit`` runs the batch shards of a large traced step on them
(``keras/sharded_step.py``), with BLAS held to one thread per shard, so nothing spins against them.
Their count defaults to the usable cores; ``set_inter_op_threads`` / ``TAPEFLOW_INTER_OP_THREADS``.

>>> from tapeflow.backend import threads
>>> threads.set_intra_op_threads(2)
>>> import numpy as np
>>> a = np.zeros(8)
>>> threads.run([lambda s=s: a[s:s + 4].fill(s) for s in (0, 4)])
>>> a.tolist()
[0.0, 0.0, 0.0, 0.0, 4.0, 4.0, 4.0, 4.0]
>>> threads.set_intra_op_threads(0)
"""
from __future__ import annotations

import os

_requested = 0     # 0: decided by the environment
_inter_requested = 0
_pool = None
_pool_key = None   # (threads, pid): a forked child rebuilds the pool (its threads did not survive the fork)


def _checked(n, kind: str) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"{kind} thread count must be an integer >= 0 (0: system default), got {n!r}")
    return n


def _from_env(name: str) -> int:
    """A positive count from environment variable ``name``, or 0 when it is unset or not one."""
    text = os.environ.get(name, "").strip()
    return int(text) if text.isdigit() else 0


def set_intra_op_threads(n: int) -> None:
    """Use ``n`` threads for chunked elementwise work (0: the environment's default)."""
    global _requested
    _requested = _checked(n, "intra-op")


def intra_op_threads() -> int:
    """The number of threads chunked elementwise work uses (>= 1)."""
    return _requested or _from_env("TAPEFLOW_NUM_THREADS") or 1


def set_inter_op_threads(n: int) -> None:
    """Run large traced training steps as up to ``n`` batch shards at once (0: every usable core; 1: off)."""
    global _inter_requested
    _inter_requested = _checked(n, "inter-op")


def inter_op_threads() -> int:
    """Threads ``fit`` may run batch shards on (>= 1): the setting, ``TAPEFLOW_INTER_OP_THREADS``, or the cores."""
    n = _inter_requested or _from_env("TAPEFLOW_INTER_OP_THREADS")
    if n:
        return n
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def run(tasks, n: int | None = None) -> None:
    """Run zero-argument callables on ``n`` threads (default: the intra-op count; the caller alone when 1);
    re-raise the first error."""
    global _pool, _pool_key
    n = intra_op_threads() if n is None else n
    if n == 1 or len(tasks) < 2:
        for t in tasks:
            t()
        return
    key = (n, os.getpid())
    if _pool_key != key:
        from concurrent.futures import ThreadPoolExecutor
        if _pool is not None and _pool_key[1] == key[1]:
            _pool.shutdown(wait=True)
        _pool, _pool_key = ThreadPoolExecutor(max_workers=n - 1, thread_name_prefix="tapeflow"), key
    # The caller runs the last task itself: one fewer hand-off, and the pool never sits idle waiting on it.
    futures = [_pool.submit(t) for t in tasks[:-1]]
    tasks[-1]()
    for f in futures:
        f.result()


def chunks(size: int, parts: int, min_chunk: int) -> list:
    """``[(start, stop), ...]`` splitting ``range(size)`` into at most ``parts`` pieces of >= ``min_chunk``."""
    if size <= 0:
        return []
    parts = max(1, min(parts, size // max(min_chunk, 1)))
    step = -(-size // parts)
    return [(s, min(s + step, size)) for s in range(0, size, step)]
