"""GradientTape: records primitive applications and walks them backwards.

How a gradient is computed, end to end:

1. Every differentiable op is a ``Primitive``: a NumPy forward plus one VJP per input.
2. ``apply(prim, args, attrs)`` runs the forward. For each tape that is recording, if some
   input is *watched* by that tape (a trainable Variable read inside it, a ``tape.watch``-ed
   tensor, or an output of an earlier recorded op), it appends a ``_Node`` and marks the
   output as watched. With no tape recording, ``apply`` costs one list check.
3. ``tape.gradient(target, sources)`` seeds ``d target = 1`` and visits nodes newest-first,
   calling each needed VJP. VJPs are written with tapeflow ops, so an outer tape records the
   backward pass too: that is how nested tapes give second derivatives.
4. A VJP may return a gradient of a broadcast shape; ``_unbroadcast`` sums it back to the
   input's shape here, once, instead of in every op.
"""
from __future__ import annotations

import numpy as np

from .tensor import Tensor, Variable

_recording: list = []  # tapes currently recording, innermost last
# Set by tapeflow.debug.enable_check_numerics: ``check(prim, value, backward)`` raises on NaN/Inf.
# None (the default) costs one global load per op.
_numerics = None
# Set by tapeflow.autodiff.trace.Recorder: ``trace(prim, args, attrs, out)`` sees every op applied.
_trace = None


class Primitive:
    """A differentiable op: ``forward(*arrays, **attrs) -> array`` and per-input VJPs.

    ``vjps[i](g, ans, *inputs, **attrs)`` returns the gradient for input ``i`` as a Tensor
    (or None); ``g``, ``ans`` and ``inputs`` are Tensors so that VJPs are differentiable.

    A hot primitive may also carry ``fast[i]``: the same VJP on raw NumPy arrays. The tape uses
    it when no outer tape is recording (plain first-order gradients, the training hot path),
    and the Tensor VJPs otherwise; a test checks that the two agree.

    ``random`` marks a primitive whose forward draws from ``rng.primitive_generator``: replaying
    it draws again, so a traced step may contain it (but never split it across threads).
    """

    __slots__ = ("name", "forward", "vjps", "fast", "random")

    def __init__(self, name: str, forward, vjps=()):
        self.name = name
        self.forward = forward
        self.vjps = tuple(vjps)
        self.fast = None
        self.random = False

    def __repr__(self) -> str:
        return f"Primitive({self.name})"


class _Node:
    __slots__ = ("prim", "inputs", "out", "attrs", "mask")

    def __init__(self, prim, inputs, out, attrs, mask):
        self.prim, self.inputs, self.out, self.attrs, self.mask = prim, inputs, out, attrs, mask


def _differentiable(arr: np.ndarray) -> bool:
    kind = arr.dtype.kind
    return kind == "f" or kind == "c" or (kind == "V" and arr.dtype.name == "bfloat16")


def apply(prim: Primitive, args: tuple, attrs: dict) -> Tensor:
    """Run ``prim`` forward on Tensors ``args``; record it on every tape watching an input."""
    try:
        value = prim.forward(*[a._value for a in args], **attrs)
    except (ValueError, TypeError, IndexError) as e:
        shapes = ", ".join(f"{a._value.shape}:{a._value.dtype.name}" for a in args)
        raise type(e)(f"{prim.name}: {e} (inputs shape:dtype = {shapes})") from None
    if type(value) is not np.ndarray:  # full reductions give NumPy scalars
        value = np.asarray(value)
    if _numerics is not None:
        _numerics(prim, value, False)
    out = Tensor._wrap(value)
    if _trace is not None:
        _trace(prim, args, attrs, out)
    if _recording and (value.dtype.kind == "f" or _differentiable(value)):
        vjps = prim.vjps
        for tape in _recording:
            watched = tape._watched
            mask = None
            for i, a in enumerate(args):
                hit = id(a) in watched
                if not hit and a._trainable and tape._auto_watch and _differentiable(a._value):
                    watched[id(a)] = a
                    tape._variables[id(a)] = a
                    hit = True
                if hit and i < len(vjps) and vjps[i] is not None:
                    if mask is None:
                        mask = [False] * len(args)
                    mask[i] = True
            if mask is not None:
                tape._nodes.append(_Node(prim, args, out, attrs, mask))
                watched[id(out)] = out
    return out


_FORCE_TENSOR_VJPS = False  # tests flip this to compare the array and Tensor backward paths


def _sum_to_array(g: np.ndarray, shape: tuple) -> np.ndarray:
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and g.shape[i + lead] != 1)
    out = g.sum(axis=axes, keepdims=True) if axes else g
    return out.reshape(shape)


def _unbroadcast(g: Tensor, shape: tuple) -> Tensor:
    if g._value.shape == shape:
        return g
    from ..ops import array_ops  # late import: ops sit above autodiff
    return array_ops.sum_to(g, shape=shape)


class GradientTape:
    """Record operations for automatic differentiation, as ``tf.GradientTape``.

    >>> import tapeflow as tf
    >>> x = tf.Variable(3.0)
    >>> with tf.GradientTape() as tape:
    ...     y = x * x
    >>> float(tape.gradient(y, x))
    6.0
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self._persistent = persistent
        self._auto_watch = watch_accessed_variables
        self._nodes: list[_Node] = []
        self._watched: dict[int, Tensor] = {}
        self._variables: dict[int, Variable] = {}
        self._used = False
        self._active = False

    # -- recording ----------------------------------------------------------------------
    def __enter__(self):
        self._push()
        return self

    def __exit__(self, *exc):
        self._pop()
        return False

    def _push(self):
        if self._active:
            raise RuntimeError("GradientTape is already recording; tapes cannot be entered twice")
        self._active = True
        _recording.append(self)

    def _pop(self):
        if self in _recording:
            _recording.remove(self)
        self._active = False

    def watch(self, tensor) -> None:
        """Make the tape record ops on ``tensor`` (a Tensor, Variable, or nested list of them)."""
        for t in _flatten(tensor):
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.watch: expected a Tensor or Variable, got {type(t).__name__}")
            if _differentiable(t._value):
                self._watched[id(t)] = t
                if t._is_variable:
                    self._variables[id(t)] = t

    def watched_variables(self) -> tuple:
        return tuple(self._variables.values())

    def stop_recording(self):
        """Context manager: ops inside it are not recorded on this tape."""
        return _Paused([self])

    def reset(self) -> None:
        """Forget everything recorded so far (the tape keeps recording if active)."""
        self._nodes.clear()
        self._watched.clear()
        self._variables.clear()

    # -- differentiation ----------------------------------------------------------------
    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """d(sum of target) / d(sources), with ``sources`` any nesting of Tensors/Variables.

        Returns the same structure; a source the target does not depend on gives ``None``
        (or zeros with ``unconnected_gradients='zero'``). Integer sources give ``None``.
        """
        if self._used and not self._persistent:
            raise RuntimeError(
                "A non-persistent GradientTape can only be used to compute one set of gradients; "
                "use GradientTape(persistent=True) to call gradient() several times")
        if unconnected_gradients not in ("none", "zero", "NONE", "ZERO") and \
                getattr(unconnected_gradients, "value", None) not in ("none", "zero"):
            raise ValueError(f"unconnected_gradients must be 'none' or 'zero', got {unconnected_gradients!r}")
        zero = str(getattr(unconnected_gradients, "value", unconnected_gradients)).lower() == "zero"
        flat_src = _flatten(sources)
        targets = _flatten(target)
        if output_gradients is not None:
            seeds = _flatten(output_gradients)
            if len(seeds) != len(targets):
                raise ValueError(f"gradient: {len(targets)} targets but {len(seeds)} output_gradients")
        else:
            seeds = [None] * len(targets)
        grads = self._backward(targets, seeds, flat_src)
        out = []
        for s, g in zip(flat_src, grads):
            if g is None and zero and isinstance(s, Tensor):
                from ..ops import array_ops
                g = array_ops.zeros_like(s)
            out.append(g)
        if not self._persistent:
            self._used = True
            self._nodes = []
        return _unflatten(sources, out)

    def _backward(self, targets, seeds, sources):
        from ..backend import allocator
        from ..ops import array_ops, math_ops
        allocator.tune()
        for s in sources:
            if not isinstance(s, Tensor):
                raise TypeError(f"gradient: sources must be Tensors or Variables, got {type(s).__name__}")
        src_ids = {id(s) for s in sources if _differentiable(s._value)}
        nodes = self._nodes
        # Forward pass over the record: which tensors depend on a source.
        live = set(src_ids)
        for n in nodes:
            for a, m in zip(n.inputs, n.mask):
                if m and id(a) in live:
                    live.add(id(n.out))
                    break
        grads: dict[int, Tensor] = {}
        for t, seed in zip(targets, seeds):
            if not isinstance(t, Tensor):
                t = Tensor._wrap(np.asarray(t))
            if id(t) not in live:
                continue
            g = array_ops.ones_like(t) if seed is None else _as_tensor_like(seed, t)
            prev = grads.get(id(t))
            grads[id(t)] = g if prev is None else math_ops.add(prev, g)
        with _Paused([self]):
            if _recording or _FORCE_TENSOR_VJPS:
                self._walk_tensors(nodes, grads, src_ids, live)
            else:
                self._walk_arrays(nodes, grads, src_ids, live)
        return [grads.get(id(s)) if id(s) in src_ids else None for s in sources]

    @staticmethod
    def _walk_tensors(nodes, grads, src_ids, live):
        """Backward walk with Tensor VJPs: an outer tape records it (higher-order gradients)."""
        from ..ops import array_ops, math_ops
        for n in reversed(nodes):
            oid = id(n.out)
            g = grads.get(oid)
            if g is None:
                continue
            if oid not in src_ids:
                del grads[oid]
            for i, (a, m) in enumerate(zip(n.inputs, n.mask)):
                if not m or id(a) not in live:
                    continue
                gi = n.prim.vjps[i](g, n.out, *n.inputs, **n.attrs)
                if gi is None:
                    continue
                gi = _unbroadcast(gi, a._value.shape)
                if gi._value.dtype != a._value.dtype:
                    gi = array_ops.cast(gi, a._value.dtype)
                prev = grads.get(id(a))
                grads[id(a)] = gi if prev is None else math_ops.add(prev, gi)

    @staticmethod
    def _walk_arrays(nodes, grads, src_ids, live):
        """First-order backward walk on NumPy arrays (nothing records it): the fast path."""
        arr = {k: v._value for k, v in grads.items()}
        check = _numerics
        for n in reversed(nodes):
            oid = id(n.out)
            g = arr.get(oid)
            if g is None:
                continue
            if oid not in src_ids:
                del arr[oid]
            fast = n.prim.fast
            for i, (a, m) in enumerate(zip(n.inputs, n.mask)):
                if not m or id(a) not in live:
                    continue
                if fast is not None and fast[i] is not None:
                    gi = fast[i](g, n.out._value, *[x._value for x in n.inputs], **n.attrs)
                else:
                    gt = n.prim.vjps[i](Tensor._wrap(g), n.out, *n.inputs, **n.attrs)
                    if gt is None:
                        continue
                    gi = gt._value
                if check is not None:
                    check(n.prim, gi, True)
                av = a._value
                if gi.shape != av.shape:
                    gi = _sum_to_array(gi, av.shape)
                if gi.dtype != av.dtype:
                    gi = gi.astype(av.dtype)
                prev = arr.get(id(a))
                arr[id(a)] = gi if prev is None else prev + gi
        grads.clear()
        grads.update({k: Tensor._wrap(v) for k, v in arr.items() if k in src_ids})

    def jacobian(self, target, sources, unconnected_gradients="none", parallel_iterations=None,
                 experimental_use_pfor=True):
        """Full Jacobian: result shape ``target.shape + source.shape`` for each source."""
        from ..ops import array_ops
        flat_src = _flatten(sources)
        t = target
        n = int(np.prod(t._value.shape, dtype=np.int64))
        rows = [[] for _ in flat_src]
        for k in range(n):
            seed = np.zeros(t._value.size, dtype=t._value.dtype)
            seed[k] = 1
            gs = self._backward([t], [Tensor._wrap(seed.reshape(t._value.shape))], flat_src)
            for j, (s, g) in enumerate(zip(flat_src, gs)):
                rows[j].append(array_ops.zeros_like(s) if g is None else g)
        out = []
        for s, r in zip(flat_src, rows):
            if all(x is None for x in r) or (unconnected_gradients == "none" and not self._connected(t, s)):
                out.append(None)
                continue
            stacked = array_ops.stack(r, axis=0) if r else Tensor._wrap(np.zeros((0,) + s._value.shape, s._value.dtype))
            out.append(array_ops.reshape(stacked, shape=tuple(t._value.shape) + tuple(s._value.shape)))
        if not self._persistent:
            self._used = True
        return _unflatten(sources, out)

    def batch_jacobian(self, target, source, unconnected_gradients="none", parallel_iterations=None,
                       experimental_use_pfor=True):
        """Per-example Jacobian: target (B, ...) and source (B, ...) -> (B, *t_rest, *s_rest).

        Assumes, as TensorFlow does, that example b of the target depends only on example b of
        the source.
        """
        from ..ops import array_ops
        tshape, sshape = target._value.shape, source._value.shape
        if tshape[0] != sshape[0]:
            raise ValueError(f"batch_jacobian: target batch {tshape[0]} != source batch {sshape[0]}")
        inner = int(np.prod(tshape[1:], dtype=np.int64))
        cols = []
        for k in range(inner):
            seed = np.zeros((tshape[0], inner), dtype=target._value.dtype)
            seed[:, k] = 1
            (g,) = self._backward([target], [Tensor._wrap(seed.reshape(tshape))], [source])
            if g is None:
                if unconnected_gradients == "none":
                    return None
                g = array_ops.zeros_like(source)
            cols.append(g)
        stacked = array_ops.stack(cols, axis=1)  # (B, inner, *s_rest)
        if not self._persistent:
            self._used = True
        return array_ops.reshape(stacked, shape=tuple(tshape) + tuple(sshape[1:]))

    def _connected(self, target, source) -> bool:
        live = {id(source)}
        for n in self._nodes:
            if any(m and id(a) in live for a, m in zip(n.inputs, n.mask)):
                live.add(id(n.out))
        return id(target) in live


def _as_tensor_like(seed, t: Tensor) -> Tensor:
    arr = seed._value if isinstance(seed, Tensor) else np.asarray(seed)
    if arr.shape != t._value.shape:
        raise ValueError(f"output_gradients: shape {arr.shape} does not match target shape {t._value.shape}")
    return seed if isinstance(seed, Tensor) and arr.dtype == t.dtype else Tensor._wrap(arr.astype(t.dtype))


class _Paused:
    """Temporarily stop some tapes (or all, when given None) from recording."""

    def __init__(self, tapes=None):
        self._tapes = tapes
        self._removed = []

    def __enter__(self):
        tapes = list(_recording) if self._tapes is None else self._tapes
        for t in tapes:
            if t in _recording:
                _recording.remove(t)
                self._removed.append(t)
        return self

    def __exit__(self, *exc):
        _recording.extend(self._removed)
        self._removed = []
        return False


def stop_recording_all():
    """Context manager pausing every tape (used by ``stop_gradient``-style helpers)."""
    return _Paused(None)


def is_recording() -> bool:
    return bool(_recording)


def _flatten(x) -> list:
    if isinstance(x, (list, tuple)):
        out = []
        for v in x:
            out.extend(_flatten(v))
        return out
    if isinstance(x, dict):
        out = []
        for k in sorted(x, key=str):
            out.extend(_flatten(x[k]))
        return out
    return [x]


def _unflatten(structure, flat: list):
    return _build(structure, iter(flat))


def _build(s, it):
    # (a module function, not a closure that calls itself: such a closure is a reference cycle that would
    # keep the gradient arrays alive until the garbage collector runs)
    if isinstance(s, (list, tuple)):
        vals = [_build(v, it) for v in s]
        return type(s)(vals) if isinstance(s, list) else tuple(vals)
    if isinstance(s, dict):
        built = {k: _build(s[k], it) for k in sorted(s, key=str)}
        return {k: built[k] for k in s}
    return next(it)
