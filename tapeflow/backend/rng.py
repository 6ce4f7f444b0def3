"""Global random state: one seeded NumPy Generator, plus per-op-seed streams.

``set_seed(s)`` makes every later draw repeatable. An op given its own ``seed`` draws from a
stream keyed by (global seed, op seed, how many times that op seed was used), as TensorFlow
does, so two calls with the same op seed differ but a rerun repeats them.
"""
from __future__ import annotations

import numpy as np

_state = {"seed": None, "gen": None, "op_counts": {}}  # the generator is made on first use (np.random imports slowly)
# Set by tapeflow.data while a Dataset.map runs user code: returns that thread's per-chunk
# generator (or None), so tf.random inside a parallel map is repeatable whatever the thread.
element_hook = None


def set_seed(seed: int | None) -> None:
    """Seed the global generator (``None`` returns to fresh entropy)."""
    _state["seed"] = None if seed is None else int(seed)
    _state["gen"] = np.random.default_rng(seed)
    _state["op_counts"] = {}


def get_seed() -> int | None:
    return _state["seed"]


def generator(seed: int | None = None) -> np.random.Generator:
    """The generator a draw should use: the global one, or the stream for an op seed."""
    if element_hook is not None:
        g = element_hook()
        if g is not None:
            return g
    if seed is None:
        g = _state["gen"]
        if g is None:
            g = _state["gen"] = np.random.default_rng()
        return g
    count = _state["op_counts"].get(seed, 0)
    _state["op_counts"][seed] = count + 1
    base = _state["seed"] if _state["seed"] is not None else 87654321
    return np.random.default_rng([base & 0xFFFFFFFF, int(seed) & 0xFFFFFFFF, count])


def primitive_generator(seed: int | None = None) -> np.random.Generator:
    """``generator`` for a random primitive's forward (``Primitive.random``), which a traced step replays:
    a recording watches ``generator`` for draws made outside primitives, not this."""
    return _generator(seed)


_generator = generator


def get_state() -> dict:
    """The global RNG's full state (seed, generator, per-op-seed counters) for checkpoints."""
    if _state["gen"] is None:
        _state["gen"] = np.random.default_rng()
    return {"seed": _state["seed"], "generator": _state["gen"].bit_generator.state,
            "op_counts": dict(_state["op_counts"])}


def set_state(seed, gen: np.random.Generator, op_counts: dict) -> None:
    """Restore what ``get_state`` captured (``gen`` rebuilt by the caller from its bit-generator state)."""
    _state["seed"] = None if seed is None else int(seed)
    _state["gen"] = gen
    _state["op_counts"] = {int(k): int(v) for k, v in op_counts.items()}
