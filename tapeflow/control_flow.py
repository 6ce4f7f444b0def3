"""TensorFlow's functional control flow, run eagerly: ``tf.cond``, ``tf.case``, ``tf.switch_case``,
``tf.while_loop``, ``tf.map_fn``, ``tf.scan``, ``tf.foldl``/``foldr``, ``tf.vectorized_map``, ``tf.TensorArray``,
``tf.py_function`` and ``tf.numpy_function``.

tapeflow executes every op at once, so these are Python loops and branches over the same differentiable ops
(as TensorFlow 2 runs them eagerly outside ``tf.function``): only the branch taken runs, and gradients flow
through whatever ran. Loop state may be any nest of lists, tuples and dicts of tensors.

>>> import tapeflow as tf
>>> tf.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s + i), (0, 0))
(4, 6)
>>> tf.map_fn(lambda x: x * x, tf.constant([1.0, 2.0, 3.0])).numpy().tolist()
[1.0, 4.0, 9.0]
"""
from __future__ import annotations

import numpy as np

from .autodiff.tensor import Tensor, convert_to_tensor
from .nest import flatten, pack_sequence_as as pack_as
from .ops import array_ops as A


def _truth(pred) -> bool:
    value = np.asarray(pred._value if isinstance(pred, Tensor) else pred)
    if value.size != 1:
        raise ValueError(f"the predicate must be a scalar boolean, got shape {value.shape}")
    return bool(value.reshape(()))


def cond(pred, true_fn=None, false_fn=None, name=None):
    """``true_fn()`` if ``pred`` else ``false_fn()``; only the branch taken runs.

    >>> import tapeflow as tf
    >>> float(tf.cond(tf.constant(2.0) > 1.0, lambda: tf.constant(10.0), lambda: tf.constant(-10.0)))
    10.0
    """
    if true_fn is None or false_fn is None:
        raise TypeError("cond: true_fn and false_fn are required callables")
    return true_fn() if _truth(pred) else false_fn()


def case(pred_fn_pairs, default=None, exclusive=False, strict=False, name="case"):
    """The function of the first true predicate in ``pred_fn_pairs`` (a list of (pred, fn) or a dict), else
    ``default()``; with ``exclusive=True`` more than one true predicate is an error."""
    pairs = list(pred_fn_pairs.items()) if isinstance(pred_fn_pairs, dict) else list(pred_fn_pairs)
    hits = [fn for pred, fn in pairs if _truth(pred)]
    if exclusive and len(hits) > 1:
        raise ValueError(f"case: exclusive=True but {len(hits)} predicates are true")
    if hits:
        return hits[0]()
    if default is None:
        raise ValueError("case: no predicate is true and there is no default")
    return default()


def switch_case(branch_index, branch_fns, default=None, name="switch_case"):
    """``branch_fns[branch_index]()`` (a list, or a dict of int keys); an index outside them runs ``default``
    (or the last branch, as TensorFlow does)."""
    i = int(np.asarray(getattr(branch_index, "_value", branch_index)))
    fns = dict(branch_fns) if isinstance(branch_fns, dict) else dict(enumerate(branch_fns))
    if i in fns:
        return fns[i]()
    return (default or fns[max(fns)])()


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10, back_prop=True,
               swap_memory=False, maximum_iterations=None, name=None):
    """Repeat ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``, at most ``maximum_iterations`` times;
    returns the final loop variables in ``loop_vars``' structure (a list or tuple is unpacked into the
    arguments, anything else is passed as one)."""
    unpack = isinstance(loop_vars, (list, tuple))
    state = loop_vars
    steps = 0
    while maximum_iterations is None or steps < int(maximum_iterations):
        if not _truth(cond(*state) if unpack else cond(state)):
            break
        new = body(*state) if unpack else body(state)
        if unpack and not isinstance(new, (list, tuple)):
            new = (new,)
        if len(flatten(new)) != len(flatten(state)):
            raise ValueError(f"while_loop: body returned {len(flatten(new))} values for "
                             f"{len(flatten(state))} loop variables")
        state = type(loop_vars)(new) if unpack else new
        steps += 1
    return state


def _unstacked(elems) -> tuple:
    """(flat list of per-element lists, number of elements, elems' structure) of a nest stacked on axis 0."""
    flat = [convert_to_tensor(e) for e in flatten(elems)]
    if not flat:
        raise ValueError("the elements to map over are empty")
    n = flat[0]._value.shape[0]
    if any(f._value.shape[:1] != (n,) for f in flat):
        raise ValueError(f"all elements must have the same first dimension, got {[f._value.shape for f in flat]}")
    return [A.unstack(f, axis=0) for f in flat], n


def _stack(results):
    """Stack a list of equal nests of tensors along a new axis 0."""
    flats = [flatten(r) for r in results]
    stacked = [A.stack([convert_to_tensor(f[k]) for f in flats], axis=0) for k in range(len(flats[0]))]
    return pack_as(results[0], stacked)


def map_fn(fn, elems, dtype=None, parallel_iterations=None, back_prop=True, swap_memory=False, infer_shape=True,
           name=None, fn_output_signature=None):
    """``fn`` applied to each slice of ``elems`` along axis 0 (``elems`` may be a nest), the results stacked."""
    columns, n = _unstacked(elems)
    if n == 0:
        raise ValueError("map_fn: elems has no elements along axis 0 (the output structure is unknown)")
    return _stack([fn(pack_as(elems, [c[i] for c in columns])) for i in range(n)])


def vectorized_map(fn, elems, fallback_to_while_loop=True, warn=True):
    """``map_fn`` (tapeflow does not vectorize ``fn``; the result is the same)."""
    return map_fn(fn, elems)


def scan(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False,
         infer_shape=True, reverse=False, name=None):
    """Running ``acc = fn(acc, x)`` over ``elems`` along axis 0; all the accumulators, stacked. Without
    ``initializer`` the first element is the first accumulator.

    >>> import tapeflow as tf
    >>> tf.scan(lambda a, x: a + x, tf.constant([1, 2, 3, 4])).numpy().tolist()
    [1, 3, 6, 10]
    """
    columns, n = _unstacked(elems)
    order = list(range(n))[::-1] if reverse else list(range(n))
    outs = []
    if initializer is None:
        acc = pack_as(elems, [c[order[0]] for c in columns])
        outs.append(acc)
        order = order[1:]
    else:
        acc = initializer
    for i in order:
        acc = fn(acc, pack_as(elems, [c[i] for c in columns]))
        outs.append(acc)
    return _stack(outs[::-1] if reverse else outs)


def foldl(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, name=None):
    """``acc = fn(acc, x)`` over ``elems`` from the first; the last accumulator."""
    return _fold(fn, elems, initializer, reverse=False)


def foldr(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, name=None):
    """``acc = fn(acc, x)`` over ``elems`` from the last; the last accumulator."""
    return _fold(fn, elems, initializer, reverse=True)


def _fold(fn, elems, initializer, reverse):
    columns, n = _unstacked(elems)
    order = list(range(n))[::-1] if reverse else list(range(n))
    if initializer is None:
        acc, order = pack_as(elems, [c[order[0]] for c in columns]), order[1:]
    else:
        acc = initializer
    for i in order:
        acc = fn(acc, pack_as(elems, [c[i] for c in columns]))
    return acc


class TensorArray:
    """A list of tensors written by index, as ``tf.TensorArray`` in eager mode: ``write``/``scatter``/``unstack``
    return the array (use the result, as in TensorFlow), ``read``/``gather``/``stack``/``concat`` read it.
    Gradients flow through what was written into what is read.

    >>> import tapeflow as tf
    >>> ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
    >>> for i in range(3):
    ...     ta = ta.write(i, tf.constant(float(i)) * 2.0)
    >>> ta.stack().numpy().tolist(), int(ta.size())
    ([0.0, 2.0, 4.0], 3)
    """

    def __init__(self, dtype, size=None, dynamic_size=None, clear_after_read=None, tensor_array_name=None,
                 handle=None, flow=None, infer_shape=True, element_shape=None, colocate_with_first_write_call=True,
                 name=None):
        self.dtype = dtype
        self._items = [None] * int(np.asarray(getattr(size, "_value", size or 0)))
        self._dynamic = bool(dynamic_size)
        self._element_shape = element_shape

    def _slot(self, i) -> int:
        i = int(np.asarray(getattr(i, "_value", i)))
        if i < 0 or (i >= len(self._items) and not self._dynamic):
            raise IndexError(f"TensorArray: index {i} is out of range for size {len(self._items)} "
                             "(dynamic_size=False)")
        if i >= len(self._items):
            self._items.extend([None] * (i + 1 - len(self._items)))
        return i

    def write(self, index, value, name=None) -> "TensorArray":
        value = convert_to_tensor(value, dtype=self.dtype)
        self._items[self._slot(index)] = value
        return self

    def read(self, index, name=None) -> Tensor:
        item = self._items[self._slot(index)]
        if item is None:
            raise ValueError(f"TensorArray: element {int(np.asarray(getattr(index, '_value', index)))} was never "
                             "written")
        return item

    def size(self, name=None) -> Tensor:
        return Tensor._wrap(np.asarray(len(self._items), np.int32))

    def stack(self, name=None) -> Tensor:
        if not self._items:
            shape = tuple(self._element_shape or ())
            return A.zeros((0,) + tuple(shape), dtype=getattr(self.dtype, "name", self.dtype))
        return A.stack([self.read(i) for i in range(len(self._items))], axis=0)

    def gather(self, indices, name=None) -> Tensor:
        return A.stack([self.read(int(i)) for i in np.asarray(getattr(indices, "_value", indices)).reshape(-1)])

    def concat(self, name=None) -> Tensor:
        return A.concat([self.read(i) for i in range(len(self._items))], axis=0)

    def unstack(self, value, name=None) -> "TensorArray":
        parts = A.unstack(convert_to_tensor(value, dtype=self.dtype), axis=0)
        self._items = list(parts) + self._items[len(parts):]
        return self

    def scatter(self, indices, value, name=None) -> "TensorArray":
        parts = A.unstack(convert_to_tensor(value, dtype=self.dtype), axis=0)
        for i, part in zip(np.asarray(getattr(indices, "_value", indices)).reshape(-1).tolist(), parts):
            self._items[self._slot(i)] = part
        return self

    def split(self, value, lengths, name=None) -> "TensorArray":
        value = convert_to_tensor(value, dtype=self.dtype)
        sizes = [int(n) for n in np.asarray(getattr(lengths, "_value", lengths)).reshape(-1)]
        self._items = list(A.split(value, sizes, axis=0)) if sizes else []
        return self

    @property
    def element_shape(self):
        from .autodiff.tensor import TensorShape
        first = next((t for t in self._items if t is not None), None)
        return TensorShape(first._value.shape if first is not None else self._element_shape)

    def close(self, name=None) -> None:
        self._items = []


def py_function(func, inp, Tout, name=None):  # noqa: N803 - TF's name
    """``func(*inp)`` on tensors, its results as tensors of ``Tout`` (ops inside it are differentiable as usual)."""
    out = func(*inp)
    if isinstance(Tout, (list, tuple)):
        if not isinstance(out, (list, tuple)) or len(out) != len(Tout):
            raise ValueError(f"py_function: func returned {out!r} for Tout={Tout!r}")
        return [convert_to_tensor(o, dtype=t) for o, t in zip(out, Tout)]
    return None if Tout is None else convert_to_tensor(out, dtype=Tout)


def numpy_function(func, inp, Tout, stateful=True, name=None):  # noqa: N803
    """``func(*arrays)`` on the NumPy values of ``inp``; the results as (non-differentiable) tensors of ``Tout``.

    >>> import numpy as np, tapeflow as tf
    >>> tf.numpy_function(lambda a: np.sort(a), [tf.constant([3, 1, 2])], tf.int32).numpy().tolist()
    [1, 2, 3]
    """
    arrays = [np.asarray(getattr(x, "_value", x)) for x in inp]
    out = func(*arrays)
    if isinstance(Tout, (list, tuple)):
        return [Tensor._wrap(np.asarray(o).astype(getattr(t, "name", t))) for o, t in zip(out, Tout)]
    return Tensor._wrap(np.asarray(out).astype(getattr(Tout, "name", Tout)))


__all__ = ["cond", "case", "switch_case", "while_loop", "map_fn", "vectorized_map", "scan", "foldl", "foldr",
           "TensorArray", "py_function", "numpy_function"]
