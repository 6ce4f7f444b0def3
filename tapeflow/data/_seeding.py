"""Seeds for the input pipeline.

* ``op_seed_source``: how ``shuffle(seed=...)`` combines its seed with ``tf.random.set_seed`` (as
  TF's ``get_seed``): both set -> (global, op); only the global one -> an op seed drawn from the
  global generator (repeatable across runs); only the op seed -> (87654321, op); neither ->
  fresh entropy.
* ``element_rng``: while ``Dataset.map`` runs the user's function it installs, per thread, a
  generator keyed by (a base drawn once per pass, chunk number). ``tapeflow.image``'s random ops
  draw from it, so augmentation is repeatable after ``tf.random.set_seed`` and identical with
  or without ``num_parallel_calls``, whatever thread runs which element.
"""
from __future__ import annotations

import threading

import numpy as np

from ..backend import rng

DEFAULT_GRAPH_SEED = 87654321
_local = threading.local()


def op_seed_source(seed: int | None) -> np.random.SeedSequence:
    """A SeedSequence for an op created now with op seed ``seed``."""
    global_seed = rng.get_seed()
    if seed is None and global_seed is None:
        return np.random.SeedSequence()
    if seed is None:
        seed = int(rng.generator().integers(0, 2**31 - 1))
    base = DEFAULT_GRAPH_SEED if global_seed is None else global_seed
    return np.random.SeedSequence([int(base) & 0xFFFFFFFF, int(seed) & 0xFFFFFFFF])


def pass_base() -> int:
    """A base seed for one pass of a map: repeatable after tf.random.set_seed, random otherwise."""
    return int(rng.generator().integers(0, 2**63 - 1))


class _ChunkRNG:
    """A generator created only if some op asks for it (most map functions draw nothing)."""

    __slots__ = ("key", "gen")

    def __init__(self, base: int, chunk: int):
        self.key = (base, chunk)
        self.gen = None

    def get(self) -> np.random.Generator:
        if self.gen is None:
            self.gen = np.random.default_rng([self.key[0] & 0xFFFFFFFFFFFFFFFF, self.key[1]])
        return self.gen


def set_element_rng(ctx):
    """Install ``ctx`` (a ``_ChunkRNG`` or None) for this thread; returns the previous one."""
    prev = getattr(_local, "ctx", None)
    _local.ctx = ctx
    return prev


def _hook():
    ctx = getattr(_local, "ctx", None)
    return None if ctx is None else ctx.get()


rng.element_hook = _hook


def element_rng(seed: int | None = None) -> np.random.Generator:
    """The generator a random image op should use: the map's per-chunk one, else tapeflow's RNG."""
    ctx = getattr(_local, "ctx", None)
    if ctx is not None:
        return ctx.get()
    return rng.generator(seed)


def chunk_sizes():
    """Chunk sizes for map, by position only (1,1,1,1,2,2,4,4,...,64,64,64,...): small chunks
    first spread a few slow elements over threads; later chunks amortize the per-chunk cost."""
    for s in (1, 1, 1, 1, 2, 2, 4, 4, 8, 8, 16, 16, 32, 32):
        yield s
    while True:
        yield 64
