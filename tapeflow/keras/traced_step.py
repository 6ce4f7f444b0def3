"""fit()'s traced training step: record the model's forward pass twice, then replay it on arrays.

``compile(jit_compile="auto")`` (the default) lets ``fit`` run the default ``Model.train_step``
through a ``TracedStep``. The eager step is

    with GradientTape() as tape:
        y_pred = self(x, training=True)                      # (1) forward
        loss = self.compute_loss(x, y, y_pred, sample_weight)  # (2) loss
    grads = tape.gradient(loss, self.trainable_variables)    # (3) backward
    self.optimizer.apply_gradients(zip(grads, variables))    # (4) update, then metrics

and the traced step keeps it, changing only where (1) and the forward part of (3) run:

* The first two steps of a cache key (input shapes/dtypes, the layer tree's ``VERSION``, the count of
  public layer attributes set (``layer.activation = ...`` retraces), the trainable variables) run
  exactly the eager step while a ``trace.Recorder`` notes every primitive of (1). Each recording
  becomes a ``trace.Program``. If the two programs (made from batches with different ``x``) agree in primitives, attributes, wiring and constant values, later steps replay it.
* A replay runs (1) as ``prim.forward`` calls on arrays: no Tensor wrapping, no ``Layer.__call__``.
  (2) runs eagerly, as before, on Tensors wrapping the program's outputs (with ``_keras_logits``
  / ``_keras_act`` restored), under a small tape that watches them: every label check, sample
  weight, regularization loss and loss-scale therefore behaves as in the eager step.
  ``tape.gradient`` of that tape gives d loss / d outputs (and the regularizers' share of the
  variables' gradients); ``Program.backward`` continues the walk through (1) exactly as
  ``GradientTape._walk_arrays`` would (same VJPs, same order), so gradients are bitwise equal.
  (4) is the eager tail, unchanged.
* The recordings also cover (2). When the loss and the regularizers are built-in and the labels
  (and sample weights) differed between the two recordings while the loss's primitives still
  agreed, (2) joins the program: ``entry.full`` maps inputs and labels to the loss (then each
  output's loss, then the model outputs), and one backward walk over all of it is exactly the
  eager ``tape.gradient``. Sparse labels reach it through the ``sparse_labels`` primitive, which
  checks them again at each replay; a constant derived from the labels makes the recordings differ
  and (2) stays eager.

A large step (at least ``sharded_step.MIN_WORK`` elements per shard, two or more cores) replays
as batch shards on threads (``keras/sharded_step.py``): its gradients are per-shard sums, equal to
the whole-batch step's up to float rounding, and the same from run to run.

A key, or the whole model, stays eager (with the reason in ``model._trace_status``) when the step
could not be replayed faithfully: a layer that is not one of the built-in layers listed in
``_TRACEABLE_LAYERS`` (its Python code could branch on data), a random draw or a variable
assignment in the forward pass (Dropout, BatchNormalization), ``add_loss``/activity
regularizers, output masks, an overridden ``train_step``/``compute_loss``/``call``,
``run_eagerly=True``, ``jit_compile=False``, ``tf.config.run_functions_eagerly(True)``, a
distribution strategy, an active outer tape, check-numerics, or two recordings that differ.

>>> import numpy as np, tapeflow as tf
>>> model = tf.keras.Sequential([tf.keras.layers.Dense(2, input_shape=(3,))])
>>> model.compile(optimizer="sgd", loss="mse")
>>> _ = model.fit(np.random.rand(64, 3), np.random.rand(64, 2), batch_size=8, epochs=1, verbose=0)
>>> model._trace_status
'replaying'
"""
from __future__ import annotations

import threading

import numpy as np

from ..autodiff import tape as _tape
from ..autodiff import trace
from ..autodiff.tape import GradientTape
from ..autodiff.tensor import Tensor
from ..backend import rng, threads
from . import activations, sharded_step
from .layers.tracking import ATTRIBUTES, VERSION
from .utils import tree
from .utils.data_utils import unpack_x_y_sample_weight

MAX_KEYS = 8  # distinct input signatures traced per model; later ones run eagerly


def _traceable_layer_types() -> frozenset:
    from .layers import activation as act
    from .layers import convolutional as conv
    from .layers import core, merging, pooling, preprocessing as prep, recurrent, rnn_cells
    from .models.functional import OpLayer
    return frozenset({
        core.InputLayer, core.Dense, core.Activation, core.Identity, core.Flatten, core.Reshape, core.Dropout,
        merging.Add, merging.Subtract, merging.Multiply, merging.Average, merging.Maximum, merging.Minimum,
        merging.Concatenate, conv.Conv1D, conv.Conv2D, pooling.MaxPooling1D, pooling.MaxPooling2D,
        pooling.AveragePooling1D, pooling.AveragePooling2D, pooling.GlobalMaxPooling1D,
        pooling.GlobalMaxPooling2D, pooling.GlobalAveragePooling1D, pooling.GlobalAveragePooling2D,
        act.ReLU, act.Softmax, act.LeakyReLU, act.ELU, OpLayer,
        recurrent.SimpleRNN, recurrent.LSTM, recurrent.GRU,
        rnn_cells.SimpleRNNCell, rnn_cells.LSTMCell, rnn_cells.GRUCell,
        prep.Rescaling, prep.Normalization, prep.Resizing, prep.CenterCrop, prep.UnitNormalization})
# (no layer above makes a mask, so the recurrent layers never branch on one)


_TRACEABLE_LAYERS: set = set()  # filled on first use; built-in layers whose call() reads no data in Python


def reset(model) -> None:
    """Forget every recorded program of ``model`` (compile() calls this)."""
    model.__dict__.pop("_trace_cache", None)
    model.__dict__["_trace_status"] = "not traced yet"


def train_function(model):
    """The per-batch training function ``fit`` should call: a ``TracedStep`` or ``model.train_step``."""
    reason = _model_reason(model)
    if reason is not None:
        model.__dict__["_trace_status"] = f"eager: {reason}"
        return model.train_step
    return TracedStep(model)


def _model_reason(model) -> str | None:
    from ..config import functions_run_eagerly
    from .models.model import Model
    from .models.sequential import Sequential
    from .trainer import Trainer
    jit = getattr(model, "_jit_compile", "auto")
    if jit is False:
        return "compile(jit_compile=False)"
    if getattr(model, "_run_eagerly", False):
        return "compile(run_eagerly=True)"
    if functions_run_eagerly():
        return "tf.config.run_functions_eagerly(True)"
    cls = type(model)
    for name in ("train_step", "compute_loss", "compute_metrics", "_track_loss", "__call__"):
        if getattr(cls, name) is not getattr(Trainer if name != "__call__" else Model, name):
            return f"{cls.__name__} overrides {name}"
    if cls.call is Model.call:
        if model.__dict__.get("_self_graph") is None:
            return f"{cls.__name__} has no call() to trace"
    elif cls.call is not Sequential.call:
        return f"{cls.__name__} defines its own call()"
    if model.__dict__.get("_distribute_strategy") is not None:
        return "the model was compiled under a distribution strategy"
    if getattr(model, "compiled_loss", None) is None:
        return "the model was compiled without a loss"
    return None


def _layers_reason(model) -> str | None:
    if not _TRACEABLE_LAYERS:
        _TRACEABLE_LAYERS.update(_traceable_layer_types())
    for layer in model._flatten_layers(include_self=False):
        if type(layer) not in _TRACEABLE_LAYERS:
            return (f"layer '{layer.name}' ({type(layer).__name__}) is not a built-in layer known to be "
                    "traceable (its call() could depend on the data in Python)")
        if layer.__dict__.get("_remat_mode") is not None:
            return f"layer '{layer.name}' was made under a keras.RematScope (its call runs again in the backward pass)"
        if "call" in layer.__dict__:  # a quantized layer: its call quantizes the inputs in NumPy, outside primitives
            return f"layer '{layer.name}' runs its quantized call ({layer._dtype_policy_name})"
        owner = getattr(layer, "cell", layer)  # a recurrent layer's activations live on its cell
        for attr in ("activation", "recurrent_activation"):
            act = getattr(owner, attr, None)
            if act is not None and getattr(act, "__module__", None) != activations.__name__:
                return f"layer '{layer.name}' has a custom {attr} {getattr(act, '__name__', act)!r}"
        if getattr(layer, "activity_regularizer", None) is not None:
            return f"layer '{layer.name}' has an activity_regularizer (a loss added during call)"
    return None


def _struct(s):
    """Input structure and array signature for the cache key (None where a leaf cannot be traced)."""
    if isinstance(s, dict):
        return ("d",) + tuple((k, _struct(v)) for k, v in s.items())
    if isinstance(s, (list, tuple)):
        return ("l" if isinstance(s, list) else "t",) + tuple(_struct(v) for v in s)
    if s is None:
        return None
    a = s._value if isinstance(s, Tensor) else s
    if type(a) is not np.ndarray:
        return ("?", type(s).__name__)
    return (a.shape, a.dtype.str)


class _Entry:
    __slots__ = ("reason", "first", "first_x", "program", "meta", "shards", "shard_threads",
                 "full", "first_full", "first_y")

    def __init__(self, reason):
        self.reason = reason
        self.first = self.first_x = self.program = self.meta = None
        self.full = self.first_full = self.first_y = None  # the program with the loss in it (module docstring)
        self.shards = None  # None: not decided yet; a sharded_step.Shards; or why the step stays whole
        self.shard_threads = None  # the inter-op thread count ``shards`` was decided for


class TracedStep:
    """Callable like ``model.train_step(data)``; records, compares, then replays (module docstring)."""

    def __init__(self, model):
        self.model = model
        self.cache = model.__dict__.setdefault("_trace_cache", {})
        model.__dict__.setdefault("_trace_counts", {"recorded": 0, "replayed": 0, "eager": 0})

    def __call__(self, data):
        model = self.model
        x, y, sw = unpack_x_y_sample_weight(data)
        if _tape._recording or _tape._numerics is not None or _tape._FORCE_TENSOR_VJPS or _tape._trace is not None:
            return self._eager(data, "an outer GradientTape, check-numerics or a recording is active")
        variables = model.trainable_variables
        key = ((VERSION[0], ATTRIBUTES[0]), tuple(id(v) for v in variables), _struct(x), _struct(y), _struct(sw))
        entry = self.cache.get(key)
        if entry is None:
            for k in [k for k in self.cache if k[0] != key[0]]:  # the counters only grow: stale keys never match
                del self.cache[k]
            if len(self.cache) >= MAX_KEYS:
                return self._eager(data, f"more than {MAX_KEYS} input signatures")
            reason = _layers_reason(model)
            if reason is None and not all(type(a) is np.ndarray or type(a) is Tensor for a in tree.flatten(x)):
                reason = "an input is not a NumPy array or Tensor"
            entry = self.cache[key] = _Entry(reason)
        if entry.program is not None:
            return self._replay(entry, x, y, sw, variables)
        if entry.reason is not None:
            return self._eager(data, entry.reason)
        xs = [a._value if isinstance(a, Tensor) else a for a in tree.flatten(x)]
        if entry.first is not None and all(np.array_equal(a, b) for a, b in zip(xs, entry.first_x)):
            return self._eager(data, "waiting for a batch with different x to confirm the recording", keep=True)
        logs, prog, meta, full = _recorded_step(model, x, y, sw, xs, variables)
        model.__dict__["_trace_counts"]["recorded"] += 1
        ys = _leaf_arrays((y, sw))
        if isinstance(prog, str):
            entry.reason = prog
            model.__dict__["_trace_status"] = f"eager: {prog}"
        elif entry.first is None:
            entry.first, entry.first_x, entry.meta = prog, [a.copy() for a in xs], meta
            entry.first_full, entry.first_y = full, None if ys is None else [a.copy() for a in ys]
            model.__dict__["_trace_status"] = "recorded once"
        else:
            diff = entry.first.same_as(prog) if meta == entry.meta else "the model outputs' structure differs"
            if diff is not None:
                entry.reason = diff
                model.__dict__["_trace_status"] = f"eager: {diff}"
            else:
                entry.program = prog
                model.__dict__["_trace_status"] = "replaying"
                first = entry.first_full
                if isinstance(first, trace.Program) and isinstance(full, trace.Program) and ys is not None \
                        and not all(np.array_equal(a, b) for a, b in zip(ys, entry.first_y)) \
                        and first.same_as(full) is None:
                    entry.full = full  # labels differed between the recordings and the loss still agreed
            entry.first = entry.first_x = entry.first_full = entry.first_y = None
        return logs

    def _eager(self, data, reason, keep=False):
        model = self.model
        model.__dict__["_trace_counts"]["eager"] += 1
        if not keep:
            model.__dict__["_trace_status"] = f"eager: {reason}"
        return model.train_step(data)

    def _replay(self, entry, x, y, sw, variables):
        model = self.model
        xs = [a._value if isinstance(a, Tensor) else a for a in tree.flatten(x)]
        probe = None
        n_threads = threads.inter_op_threads()
        if entry.shards is None or entry.shard_threads != n_threads:  # decide on shards, checked on this step
            entry.shard_threads, entry.shards = n_threads, None
            probe = sharded_step.plan(model, entry.program, x, variables, entry.meta, _build)
            if isinstance(probe, str):
                entry.shards, probe = probe, None
        if probe is None and entry.full is not None and not isinstance(entry.shards, sharded_step.Shards):
            return self._replay_full(entry, x, y, sw, xs, variables)
        prog = entry.shards if isinstance(entry.shards, sharded_step.Shards) else entry.program
        outs = [Tensor._wrap(a) for a in prog.forward(xs)]
        y_pred = _outputs_struct(entry.meta, outs)
        optimizer = model.optimizer
        scale = getattr(optimizer, "loss_scale_factor", None)
        with GradientTape() as tape:
            tape.watch(outs)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sw)
            scaled = loss if scale is None else optimizer.scale_loss(loss)
        model._track_loss(loss, y_pred, x)
        g = tape.gradient(scaled, outs + list(variables))
        n = len(outs)
        out_grads = [None if t is None else t._value for t in g[:n]]
        src_grads = [None if t is None else t._value for t in g[n:]]
        got = prog.backward(out_grads, src_grads)
        if probe is not None:
            why = probe.verify([t._value for t in outs], got, xs, out_grads, src_grads)
            entry.shards = probe if why is None else f"batch shards: {why}"
            if why is None:
                model.__dict__["_trace_status"] = f"replaying on {len(probe.programs)} batch shards"
        return self._update([None if a is None else Tensor._wrap(a) for a in got], variables, scale, x, y, y_pred, sw)

    def _replay_full(self, entry, x, y, sw, xs, variables):
        """One program from the inputs and labels to the loss, and its backward walk: the eager step's
        walk over all of its nodes, loss included."""
        model = self.model
        prog = entry.full
        vals = prog.forward(xs + _leaf_arrays((y, sw)))
        k = 1 + prog.n_loss_parts
        y_pred = _outputs_struct(entry.meta, [Tensor._wrap(a) for a in vals[k:]])
        loss = Tensor._wrap(vals[0])
        if k > 1:
            model.compiled_loss.last_per_output = [Tensor._wrap(a) for a in vals[1:k]]
        model._track_loss(loss, y_pred, x)
        got = prog.backward([np.ones_like(vals[0])] + [None] * (len(vals) - 1), [None] * len(variables))
        return self._update([None if a is None else Tensor._wrap(a) for a in got], variables, None, x, y, y_pred, sw)

    def _update(self, grads, variables, scale, x, y, y_pred, sw):
        """The eager step's tail: the gradients handed to callbacks, the update, the metrics."""
        model = self.model
        _apply(model, grads, variables, scale)
        model.__dict__["_trace_counts"]["replayed"] += 1
        return model.compute_metrics(x, y, y_pred, sw)


def _apply(model, grads, variables, scale) -> None:
    if model._trainer_record_grads:
        model._trainer_last_grads = (grads, variables, scale)
    model.optimizer.apply_gradients(zip(grads, variables))


def _outputs_struct(meta, outs):
    """``y_pred`` rebuilt from a program's output Tensors (logits and activation tags restored)."""
    structure, leaves = meta
    flat = []
    for i, act, li in leaves:
        t = outs[i]
        if li is not None:
            t._keras_logits = outs[li]
        if act is not None:
            t._keras_act = act
        flat.append(t)
    return _unflatten(structure, iter(flat))


def _leaf_arrays(s):
    """The arrays of a structure of arrays/Tensors (None leaves skipped), or None if another leaf is there."""
    out = []
    for a in tree.flatten(s):
        if a is None:
            continue
        a = a._value if isinstance(a, Tensor) else a
        if type(a) is not np.ndarray:
            return None
        out.append(a)
    return out


def _shape_of(s):
    if isinstance(s, dict):
        return {k: _shape_of(v) for k, v in s.items()}
    if isinstance(s, (list, tuple)):
        return type(s)(_shape_of(v) for v in s) if isinstance(s, list) else tuple(_shape_of(v) for v in s)
    return None


def _unflatten(structure, it):
    if isinstance(structure, dict):
        return {k: _unflatten(v, it) for k, v in structure.items()}
    if isinstance(structure, list):
        return [_unflatten(v, it) for v in structure]
    if isinstance(structure, tuple):
        return tuple(_unflatten(v, it) for v in structure)
    return next(it)


def _recorded_step(model, x, y, sw, xs, variables):
    """The eager ``Model.train_step``, recorded: (logs, forward Program or reason, meta, Program with the
    loss or reason)."""
    optimizer = model.optimizer
    scale = getattr(optimizer, "loss_scale_factor", None)
    weights = model.weights
    before = [w._value.copy() for w in weights]
    drew = []
    generator = rng.generator

    thread = threading.get_ident()

    def watched_generator(*args, **kwargs):
        if threading.get_ident() == thread:  # a tf.data worker may draw for augmentation meanwhile
            drew.append(True)
        return generator(*args, **kwargs)

    rng.generator = watched_generator
    try:
        with GradientTape() as tape:
            with trace.Recorder() as rec:
                y_pred = model(x, training=True)
                n_forward, n_ops = len(tape._nodes), len(rec.ops)
                forward_drew = bool(drew)
                changed = [w for w, b in zip(weights, before) if not np.array_equal(w._value, b, equal_nan=True)]
                loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sw)
            scaled = loss if scale is None else optimizer.scale_loss(loss)
    finally:
        rng.generator = generator
    result, meta = None, None
    full = "the loss draws random numbers" if drew and not forward_drew else None
    if forward_drew:
        result = "the forward pass draws random numbers (Dropout, noise layers)"
    elif changed:
        result = (f"the forward pass assigns to variable '{changed[0].path}' outside the primitives "
                  "(e.g. BatchNormalization's moving statistics)")
    elif any(layer._losses for layer in model._flatten_layers()):
        result = "a layer adds a loss during call (add_loss / activity_regularizer)"
    else:
        result, meta = _build(rec.ops[:n_ops], tape._nodes[:n_forward], xs, y_pred, variables)
        if full is None and not isinstance(result, str):
            full = _build_full(model, rec.ops, tape._nodes, xs, (y, sw), loss, y_pred, variables, scale)
    model._track_loss(loss, y_pred, x)
    _apply(model, tape.gradient(scaled, variables), variables, scale)
    return model.compute_metrics(x, y, y_pred, sw), result, meta, full


def _build_full(model, ops, nodes, xs, labels, loss, y_pred, variables, scale):
    """The Program from inputs and labels to the loss (outputs: loss, then the model outputs), or why not."""
    if scale is not None:
        return "loss scaling"
    reason = _loss_reason(model)
    if reason is not None:
        return reason
    ys = _leaf_arrays(labels)
    if ys is None:
        return "a label or sample weight is not an array"
    got = _output_tensors(y_pred)
    if isinstance(got, str):
        return got
    per = list(getattr(model.compiled_loss, "last_per_output", None) or [])  # per-output losses: their trackers
    if not all(type(t) is Tensor for t in per):
        return "a per-output loss is not a Tensor"
    prog = _program(ops, nodes, xs + ys, [loss] + per + got[0], variables)
    if not isinstance(prog, str):
        prog.n_loss_parts = len(per)
    return prog


def _loss_reason(model) -> str | None:
    """Why the loss cannot join the traced program (its Python code might read the data), or None."""
    from . import regularizers
    from .losses import functions, loss as loss_module
    for fn in getattr(model.compiled_loss, "fns", ()):
        if fn is None:
            continue
        if not type(fn).__module__.startswith("tapeflow.keras.losses"):
            return f"the loss {type(fn).__name__} is not a built-in loss"
        inner = getattr(fn, "fn", None)
        if isinstance(fn, loss_module.LossFunctionWrapper) and getattr(inner, "__module__", None) != functions.__name__:
            return f"the loss function {getattr(inner, '__name__', inner)!r} is not a built-in loss"
        if inner in (functions.hinge, functions.squared_hinge):  # maps {0, 1} labels to {-1, 1} after a Python test
            return f"the {inner.__name__} loss chooses its label encoding in Python"
    for layer in model._flatten_layers():
        for name, value in vars(layer).items():
            if name.endswith("_regularizer") and value is not None and \
                    not type(value).__module__.startswith(regularizers.__name__):
                return f"layer '{layer.name}' has a custom {name}"
    return None


def _output_tensors(y_pred):
    """(output Tensors, leaves) of ``y_pred`` for a Program: each output and its logits, or why not."""
    flat = tree.flatten(y_pred)
    outs, index, leaves = [], {}, []

    def slot(t):
        if id(t) not in index:
            index[id(t)] = len(outs)
            outs.append(t)
        return index[id(t)]

    for t in flat:
        if type(t) is not Tensor:
            return f"a model output is a {type(t).__name__}, not a Tensor"
        if t._keras_mask is not None:
            return "a model output carries a mask"
        logits = getattr(t, "_keras_logits", None)
        li = None
        if logits is not None:
            if type(logits) is not Tensor or logits._keras_mask is not None or \
                    getattr(logits, "_keras_logits", None) is not None:
                return "a model output's logits are not a plain Tensor"
            li = slot(logits)
        leaves.append((slot(t), getattr(t, "_keras_act", None), li))
    return outs, leaves


def _build(ops, nodes, xs, y_pred, variables):
    got = _output_tensors(y_pred)
    if isinstance(got, str):
        return got, None
    outs, leaves = got
    prog = _program(ops, nodes, xs, outs, variables)
    return (prog, None) if isinstance(prog, str) else (prog, (_shape_of(y_pred), tuple(leaves)))


def _program(ops, nodes, inputs, outputs, variables):
    """``trace.Program.build`` with the tape's masks, or why the recording cannot become one."""
    try:
        return trace.Program.build(ops, inputs, outputs, {id(n.out): tuple(n.mask) for n in nodes}, variables)
    except trace.Untraceable as e:
        return str(e)
