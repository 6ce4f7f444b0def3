"""Elementwise update rules run on several threads, chunk by chunk.

An optimizer whose rule touches each parameter on its own (SGD, Adam, RMSprop, ...) writes it once
as ``_update_arrays(g, w, slots, scratch, lr)`` on plain arrays. For a large model the update
is memory-bound NumPy work on one core, so ``apply`` cuts every variable (and its gradient,
slots and scratch buffers) into contiguous chunks of ``MIN_CHUNK`` elements or more and runs the
chunks on ``tapeflow.backend.threads`` (NumPy releases the GIL in ufunc loops). Each element
sees exactly the operations it would see unchunked, so the result is bitwise the same for any
thread count. Small models (under ``MIN_TOTAL`` elements) skip the pool: the hand-off would cost
more than it saves.
"""
from __future__ import annotations

import numpy as np

from ...backend import threads

MIN_TOTAL = 1 << 17     # elements: below this the update runs in the caller
MIN_CHUNK = 1 << 15     # elements per task at least (the pool hand-off costs ~10 us)


def _chunkable(arrays) -> bool:
    return all(a is None or a.flags.c_contiguous for a in arrays)


def parallel_update(opt, grads, variables, learning_rate) -> bool:
    """Run ``opt._update_arrays`` for all pairs on the thread pool; False (nothing done) when not worth it."""
    n = threads.intra_op_threads()
    if n == 1 or sum(g.size for g in grads) < MIN_TOTAL:
        return False
    index = opt._trainable_variables_indices
    pieces = []    # (size, arrays) per chunk
    for g, v in zip(grads, variables):
        i = index[id(v)]
        slots, scratch = opt._slot_values(i), opt._scratch_values(i)
        arrays = [np.ascontiguousarray(g), v._value] + list(slots + scratch)   # slots may hold None (unused)
        if not _chunkable(arrays):   # a non-contiguous variable or slot: updated whole, in one piece
            pieces.append((g.size, arrays, len(slots)))
            continue
        flat = [None if a is None else a.reshape(-1) for a in arrays]
        for lo, hi in threads.chunks(g.size, n, MIN_CHUNK):
            pieces.append((hi - lo, [None if a is None else a[lo:hi] for a in flat], len(slots)))
    # Greedy balance: biggest piece to the least-loaded thread.
    bins = [[0, []] for _ in range(n)]
    for size, arrays, k in sorted(pieces, key=lambda p: -p[0]):
        b = min(bins, key=lambda b: b[0])
        b[0] += size
        b[1].append((arrays, k))
    kernel = opt._update_arrays

    def task(work):
        def run():
            for arrays, k in work:
                kernel(arrays[0], arrays[1], tuple(arrays[2:2 + k]), tuple(arrays[2 + k:]), learning_rate)
        return run
    threads.run([task(work) for _, work in bins if work])
    return True
