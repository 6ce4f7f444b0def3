"""Record the primitives one forward pass applies and replay them on arrays: a traced ``Program``.

This is what ``tf.function`` does for TensorFlow, done by observation instead of symbolic
execution: while a ``Recorder`` is active, ``tape.apply`` also reports every primitive it runs
(prim, input Tensors, attrs, output Tensor). ``Program.build`` turns one such record into a flat
list of instructions over numbered slots. Every instruction input is one of

* a step input: an array the caller passed in (matched by identity of the array object),
* a ``Variable``: its ``._value`` is read again at each replay,
* an earlier instruction's output,
* a constant: any other Tensor (its value is kept and compared between two recordings).

``Program.backward_plan`` is the reverse walk that ``GradientTape._walk_arrays`` would do over the
recorded nodes, with the same masks, liveness, ``fast`` array VJPs (Tensor VJPs where a primitive
has none), ``_sum_to_array`` unbroadcasting and accumulation order, so replaying it gives bitwise
the gradients the eager walk gives. A recording says nothing about Python code between the
primitives; callers must decide when a recording may stand for later steps (``signature`` lets
them compare two recordings).

>>> import numpy as np, tapeflow as tf
>>> from tapeflow.autodiff import trace
>>> w = tf.Variable(np.ones((2, 2), np.float32))
>>> x = np.arange(4, dtype=np.float32).reshape(2, 2)
>>> with trace.Recorder() as rec:
...     y = tf.matmul(tf.convert_to_tensor(x), w)
>>> prog = trace.Program.build(rec.ops, [x], [y], {}, [w])
>>> prog.forward([x + 1])[0].tolist()
[[3.0, 3.0], [7.0, 7.0]]
"""
from __future__ import annotations

import threading

import numpy as np

from . import tape as _tape
from .tensor import Tensor


class Recorder:
    """Context manager: while active, every primitive ``apply`` runs is appended to ``ops``."""

    def __init__(self):
        self.ops: list = []
        self.thread = threading.get_ident()

    def __call__(self, prim, args, attrs, out) -> None:
        if threading.get_ident() == self.thread:  # not ops a tf.data worker thread runs meanwhile
            self.ops.append((prim, args, attrs, out))

    def __enter__(self):
        if _tape._trace is not None:
            raise RuntimeError("trace.Recorder: another recording is already active; recordings cannot nest")
        _tape._trace = self
        return self

    def __exit__(self, *exc):
        _tape._trace = None
        return False


class Untraceable(Exception):
    """A recording that cannot become a Program; the message says why."""


def _same_attr(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b))
    if isinstance(a, Tensor):
        return _same_attr(a._value, b._value)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same_attr(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_attr(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:  # an attr type without a usable ==: treat as different (never replay on a guess)
        return False


class Program:
    """A recorded forward pass as instructions over slots, plus its backward plan.

    Slots are laid out as [step inputs][constants][variables][instruction outputs].
    """

    def __init__(self):
        self.n_inputs = 0
        self.consts: list = []
        self.variables: list = []
        self.instrs: list = []  # (prim, forward, in_slots, attrs, out_slot)
        self.n_slots = 0
        self.work = 0  # elements the forward instructions produce: what a replay costs, roughly
        self.outputs: list = []  # slots of the requested output Tensors
        self.plan: list = []  # reverse walk: (out_slot, prim, in_slots, attrs, steps)
        self.source_slots: list = []  # per source Variable: its slot, or None when the pass never reads it

    # -- building --------------------------------------------------------------------------
    @classmethod
    def build(cls, ops, inputs, outputs, masks, sources) -> "Program":
        """A Program from ``Recorder.ops``.

        ``inputs``: the step's input arrays; ``outputs``: Tensors to return; ``masks``: ``{id(out):
        mask}`` of the nodes a GradientTape recorded during the pass (from ``tape._nodes``);
        ``sources``: the Variables gradients are wanted for, in order.
        """
        p = cls()
        p.n_inputs = len(inputs)
        input_slot = {}
        for i, a in enumerate(inputs):
            input_slot.setdefault(id(a), i)
        slot_of: dict = {}
        consts, const_ids, variables, var_ids = [], {}, [], {}
        produced = {id(out) for _, _, _, out in ops}
        refs = []  # per op: list of ('in'|'const'|'var'|'op', index)
        for prim, args, attrs, out in ops:
            r = []
            for a in args:
                k = id(a)
                if k in slot_of:
                    r.append(("op", slot_of[k]))
                elif a._is_variable:
                    if k not in var_ids:
                        var_ids[k] = len(variables)
                        variables.append(a)
                    r.append(("var", var_ids[k]))
                elif id(a._value) in input_slot:
                    r.append(("in", input_slot[id(a._value)]))
                elif k in produced:
                    raise Untraceable(f"{prim.name} reads a tensor recorded only later in the pass")
                else:
                    if k not in const_ids:
                        const_ids[k] = len(consts)
                        consts.append(a._value)
                    r.append(("const", const_ids[k]))
            refs.append(r)
            slot_of[id(out)] = len(refs) - 1
        p.consts = consts
        p.variables = variables
        base_c = p.n_inputs
        base_v = base_c + len(consts)
        base_o = base_v + len(variables)
        p.n_slots = base_o + len(ops)
        p.work = sum(int(np.size(out._value)) for _, _, _, out in ops)

        def slot(ref):
            kind, i = ref
            return {"in": i, "const": base_c + i, "var": base_v + i, "op": base_o + i}[kind]

        for j, ((prim, args, attrs, out), r) in enumerate(zip(ops, refs)):
            p.instrs.append((prim, prim.forward, tuple(slot(x) for x in r), attrs, base_o + j))
        for t in outputs:
            j = slot_of.get(id(t))
            if j is None:
                raise Untraceable("a model output is not computed by a primitive inside the pass")
            p.outputs.append(base_o + j)
        # liveness as GradientTape._backward computes it, from the sources through masked inputs
        src_slots = {base_v + var_ids[id(s)] for s in sources if id(s) in var_ids and _tape._differentiable(s._value)}
        live = set(src_slots)
        node_masks = []
        for (prim, _, in_slots, _, out_slot), (_, args, _, out) in zip(p.instrs, ops):
            mask = masks.get(id(out))
            node_masks.append(mask)
            if mask is not None and any(m and s in live for s, m in zip(in_slots, mask)):
                live.add(out_slot)
        for (prim, _, in_slots, attrs, out_slot), mask, (_, args, _, _) in zip(
                reversed(p.instrs), reversed(node_masks), reversed(ops)):
            if mask is None:
                continue
            steps = []
            fast = prim.fast
            for i, (s, m) in enumerate(zip(in_slots, mask)):
                if not m or s not in live:
                    continue
                f = fast[i] if fast is not None and fast[i] is not None else None
                av = args[i]._value
                steps.append((i, s, f, av.shape, av.dtype))
            if steps:
                p.plan.append((out_slot, prim, in_slots, attrs, tuple(steps)))
        p.source_slots = [base_v + var_ids[id(s)] if id(s) in var_ids and (base_v + var_ids[id(s)]) in src_slots
                          else None for s in sources]
        return p

    def signature(self):
        """Everything but the constants' values, in a form ``==`` compares (variables by identity)."""
        instrs = tuple((prim, in_slots, out) for prim, _, in_slots, _, out in self.instrs)
        plan = tuple((o, tuple((i, s, sh, dt) for i, s, _, sh, dt in st)) for o, _, _, _, st in self.plan)
        consts = tuple((c.shape, c.dtype) for c in self.consts)
        return (self.n_inputs, tuple(id(v) for v in self.variables), instrs, plan, consts,
                tuple(self.outputs), tuple(self.source_slots))

    def same_as(self, other: "Program") -> str | None:
        """None when ``other`` is the same program with equal constants, else what differs."""
        if self.signature() != other.signature():
            return "the two recorded passes applied different primitives or wired them differently"
        for (p, _, _, a, _), (_, _, _, b, _) in zip(self.instrs, other.instrs):
            if not _same_attr(a, b):
                return f"the attributes of primitive {p.name} differ between the two recorded passes"
        for i, (a, b) in enumerate(zip(self.consts, other.consts)):
            if not np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"):
                return (f"constant #{i} (shape {a.shape}) differs between the two recorded passes: something "
                        "outside the primitives computed it from the data")
        return None

    # -- replay ----------------------------------------------------------------------------
    def forward(self, inputs) -> list:
        """Run the instructions on ``inputs`` (arrays); returns the output arrays (slots kept for ``backward``)."""
        vals = [None] * self.n_slots
        vals[:self.n_inputs] = inputs
        k = self.n_inputs
        for c in self.consts:
            vals[k] = c
            k += 1
        for v in self.variables:
            vals[k] = v._value
            k += 1
        for _, fwd, in_slots, attrs, out in self.instrs:
            value = fwd(*[vals[s] for s in in_slots], **attrs)
            if type(value) is not np.ndarray:
                value = np.asarray(value)
            vals[out] = value
        self._vals = vals
        return [vals[s] for s in self.outputs]

    def backward(self, output_grads, source_grads) -> list:
        """Gradients for the sources: ``output_grads`` (arrays or None, per output) seed the walk and
        ``source_grads`` (per source) are what later nodes already gave the sources, as in the eager walk."""
        vals = self._vals
        self._vals = None
        gs = [None] * self.n_slots
        for s, g in zip(self.outputs, output_grads):
            if g is not None:
                gs[s] = g if gs[s] is None else gs[s] + g
        for s, g in zip(self.source_slots, source_grads):
            if s is not None and g is not None:
                gs[s] = g
        for out, prim, in_slots, attrs, steps in self.plan:
            g = gs[out]
            if g is None:
                continue
            gs[out] = None
            ans = vals[out]
            ins = [vals[s] for s in in_slots]
            for i, s, fast, shape, dtype in steps:
                if fast is not None:
                    gi = fast(g, ans, *ins, **attrs)
                else:
                    gt = prim.vjps[i](Tensor._wrap(g), Tensor._wrap(ans), *[Tensor._wrap(v) for v in ins], **attrs)
                    if gt is None:
                        continue
                    gi = gt._value
                if gi.shape != shape:
                    gi = _tape._sum_to_array(gi, shape)
                if gi.dtype != dtype:
                    gi = gi.astype(dtype)
                prev = gs[s]
                gs[s] = gi if prev is None else prev + gi
        out = []
        for s, g in zip(self.source_slots, source_grads):
            out.append(g if s is None else gs[s])
        return out
