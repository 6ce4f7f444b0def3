"""``recompute_grad``: gradient checkpointing, as ``tf.recompute_grad``.

``recompute_grad(fn)(*x)`` runs ``fn`` forward *without* recording its inner ops, so none of its
intermediate activations stay alive on the tape; only its inputs and output do. When the backward
walk reaches the block, its VJP re-runs ``fn`` under a fresh tape and differentiates that with
respect to the inputs and to every trainable variable ``fn`` read. Memory for a deep network falls
from O(layers) to O(segments + layers per segment); the price is one extra forward pass.

The random state (tapeflow's global generator and op-seed counters) and the Keras ``training``
flag are captured at the forward pass and restored for the recomputation, so dropout inside a
checkpointed block draws the same mask twice and the gradients equal those without checkpointing.
"""
from __future__ import annotations

import functools
import sys

from ..backend import rng as _rng
from .tape import GradientTape, Primitive, _differentiable, _Node, _Paused, _recording
from .tensor import Tensor, convert_to_tensor


class _VarsOnly(dict):
    """A tape's ``_watched`` that remembers variables only, so the probe keeps no activation alive."""

    def __setitem__(self, key, value):
        if getattr(value, "_is_variable", False):
            dict.__setitem__(self, key, value)


class _NoNodes(list):
    def append(self, node):
        pass


class _VariableProbe(GradientTape):
    """A tape that records nothing but the trainable variables read while it is active."""

    def __init__(self):
        super().__init__(persistent=False, watch_accessed_variables=True)
        self._watched = _VarsOnly()
        self._nodes = _NoNodes()


def _snapshot_state():
    gen = _rng._state.get("gen")
    state = {"rng": None if gen is None else gen.bit_generator.state, "counts": dict(_rng._state["op_counts"])}
    tracking = sys.modules.get("tapeflow.keras.layers.tracking")  # Keras may not be loaded: no import
    if tracking is not None:
        state["training"] = tracking.CTX.training
    return state


def _restore_state(state):
    gen = _rng._state.get("gen")
    if state["rng"] is not None and gen is not None:
        gen.bit_generator.state = state["rng"]
    _rng._state["op_counts"] = dict(state["counts"])
    tracking = sys.modules.get("tapeflow.keras.layers.tracking")
    if tracking is not None and "training" in state:
        tracking.CTX.training = state["training"]


def recompute_grad(f):
    """Wrap ``f`` so that its activations are recomputed in the backward pass instead of stored.

    ``f`` takes Tensors (positional) and returns a Tensor; it may read trainable variables (Keras
    layers called inside it). Keyword arguments are passed through as constants.

    >>> import tapeflow as tf
    >>> dense = tf.keras.layers.Dense(4, activation="relu")
    >>> block = tf.recompute_grad(lambda x: dense(x))
    >>> x = tf.ones((2, 4))
    >>> with tf.GradientTape() as tape:
    ...     y = tf.reduce_sum(block(x))
    >>> [g.shape.as_list() for g in tape.gradient(y, dense.trainable_variables)]
    [[4, 4], [4]]
    """

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        if not _recording:
            return f(*args, **kwargs)
        tensors = tuple(convert_to_tensor(a) for a in args)
        state = _snapshot_state()
        probe = _VariableProbe()
        with _Paused(None):
            probe._push()
            try:
                y = f(*tensors, **kwargs)
            finally:
                probe._pop()
        if not isinstance(y, Tensor):
            raise TypeError(f"recompute_grad: '{getattr(f, '__name__', f)}' must return a single Tensor, "
                            f"got {type(y).__name__}")
        if not _differentiable(y._value):
            return y
        passed = {id(t) for t in tensors}  # a variable passed as an argument is an input once, not twice
        variables = tuple(v for v in probe._variables.values() if id(v) not in passed)
        inputs = tensors + variables
        n_in = len(tensors)
        cache = {}

        def gradients(g):
            if cache.get("g") is g._value:  # the walk re-wraps g for each input: compare the array
                return cache["gs"]
            now = _snapshot_state()
            _restore_state(state)
            try:
                with GradientTape() as tape:
                    for t in tensors:
                        if _differentiable(t._value):
                            tape.watch(t)
                    out = f(*tensors, **kwargs)
                gs = tape.gradient(out, list(inputs), output_gradients=g)
            finally:
                _restore_state(now)
            cache["g"], cache["gs"], cache["pending"] = g._value, gs, set(expected)
            return gs

        def make_vjp(i):
            def vjp(g, ans, *xs):
                gi = gradients(g)[i]
                pending = cache.get("pending")
                if pending is not None:
                    pending.discard(i)
                    if not pending:  # every input had its share: hold no gradient arrays until the walk ends
                        cache.clear()
                return gi
            return vjp

        expected: list = []  # the inputs whose gradient the (first) recording tape asks for
        prim = Primitive(f"recompute_grad:{getattr(f, '__name__', 'fn')}", None,
                         [make_vjp(i) for i in range(len(inputs))])
        out = Tensor._wrap(y._value)
        for tape in _recording:
            w = tape._watched
            mask = [(id(a) in w or (a._trainable and tape._auto_watch)) and _differentiable(a._value)
                    for a in inputs]
            if any(mask):
                if not expected:
                    expected.extend(k for k, m in enumerate(mask) if m)
                for k, a in enumerate(inputs):
                    if mask[k] and k >= n_in:
                        w[id(a)] = a
                        tape._variables[id(a)] = a
                tape._nodes.append(_Node(prim, inputs, out, {}, mask))
                w[id(out)] = out
        return out

    return wrapped
