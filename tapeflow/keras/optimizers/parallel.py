"""Elementwise update rules run on several threads, chunk by chunk.

An optimizer whose rule touches each parameter on its own (SGD, Adam, RMSprop, ...) writes it once
as ``_update_arrays(g, w, slots, scratch, lr)`` on plain arrays. For a large model the update
is memory-bound NumPy work on one core, so ``apply`` cuts every variable (and its gradient,
slots and scratch buffers) into contiguous chunks of ``MIN_CHUNK`` elements or more and runs the
chunks on ``tapeflow.backend.threads`` (NumPy releases the GIL in ufunc loops). Each element
sees exactly the operations it would see unchunked, so the result is bitwise the same for any
thread count (``blas.axpby_into`` picks BLAS or NumPy by the size of the whole variable, not of
the chunk, and chunks are cut at multiples of ``ALIGN`` elements, so a chunk rounds as the whole
does). Small models (under ``MIN_TOTAL`` elements) skip the pool: the hand-off would cost more than
it saves.
"""
from __future__ import annotations

import numpy as np

from ...backend import blas, threads

MIN_TOTAL = 1 << 17     # elements: below this the update runs in the caller
MIN_CHUNK = 1 << 15     # elements per task at least (the pool hand-off costs ~10 us)


ALIGN = 64  # elements: a variable is cut only at multiples of this from its start


def _cut(i: int, size: int) -> int:
    """A cut point inside a variable, moved down to a multiple of ``ALIGN``: BLAS kernels run SIMD blocks
    (fused multiply-adds) and a scalar tail, so a chunk must end its blocks where the whole variable does."""
    return i if i >= size else i - i % ALIGN


def _chunkable(arrays) -> bool:
    return all(a is None or a.flags.c_contiguous for a in arrays)


def parallel_update(opt, grads, variables, learning_rate) -> bool:
    """Run ``opt._update_arrays`` for all pairs on the thread pool; False (nothing done) when not worth it.

    The variables, in order, are laid end to end and cut into ``n`` ranges of equal length
    (``threads.chunks``); a run updates the variables, or the pieces of them, inside its range.
    """
    total = sum(g.size for g in grads)
    if total < MIN_TOTAL:
        return False
    n = min(threads.intra_op_threads(), total // MIN_CHUNK)
    if n <= 1:
        return False
    index = opt._trainable_variables_indices
    ranges = threads.chunks(total, n, MIN_CHUNK)
    runs = [[] for _ in ranges]
    start = 0                        # where this variable begins in the end-to-end layout
    for g, v in zip(grads, variables):
        i = index[id(v)]
        slots = opt._slot_values(i)
        arrays = [np.ascontiguousarray(g), v._value] + list(slots + opt._scratch_values(i))  # None: unused slot
        k, stop = len(slots), start + g.size
        if not _chunkable(arrays):   # a non-contiguous variable or slot: updated whole, by the run it starts in
            runs[next(r for r, (lo, hi) in enumerate(ranges) if start < hi or hi == total)].append((arrays, k))
        else:
            flat = [None if a is None else a.reshape(-1) for a in arrays]
            for run, (lo, hi) in zip(runs, ranges):
                a, b = _cut(max(lo, start) - start, g.size), _cut(min(hi, stop) - start, g.size)
                if a < b:
                    run.append(([None if x is None else x[a:b] for x in flat], k))
        start = stop
    kernel = opt._update_arrays

    def task(work):
        def go():
            for arrays, k in work:
                kernel(arrays[0], arrays[1], tuple(arrays[2:2 + k]), tuple(arrays[2 + k:]), learning_rate)
        return go
    with blas.single_threaded():  # a rule's BLAS calls (axpby_into) run on the chunk's own thread
        threads.run([task(r) for r in runs])
    return True
