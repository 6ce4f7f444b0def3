"""Forward mode: Jacobian-vector products (``tf.autodiff.ForwardAccumulator``, ``keras.ops.jvp``) from reverse mode.

The engine only runs VJPs backwards, but a VJP is linear in its upstream gradient ``u``:
``vjp(u) = J^T u``. So ``<J^T u, t>`` is a scalar whose gradient with respect to ``u`` is ``J t``. One backward
pass recorded on an outer tape (the VJPs are themselves tapeflow ops, so they differentiate again) and
a second backward pass through it give the JVP at about twice the cost of a gradient, for any op with
a second-order VJP.

>>> import tapeflow as tf
>>> x = tf.constant([1.0, 2.0])
>>> with tf.autodiff.ForwardAccumulator(x, tf.constant([1.0, 0.0])) as acc:
...     y = x * x
>>> acc.jvp(y).numpy().tolist()
[2.0, 0.0]
"""
from __future__ import annotations

import numpy as np

from .. import nest
from .tape import GradientTape
from .tensor import Tensor, convert_to_tensor


def _check_pairs(primals: list, tangents: list, where: str) -> None:
    if len(primals) != len(tangents):
        raise ValueError(f"{where}: {len(primals)} primals but {len(tangents)} tangents; give one tangent per "
                         "primal, in the same structure")
    for i, (p, t) in enumerate(zip(primals, tangents)):
        if tuple(p.shape) != tuple(t.shape):
            raise ValueError(f"{where}: tangent {i} has shape {tuple(t.shape)} but its primal has shape "
                             f"{tuple(p.shape)}; a tangent is a direction in the primal's space")


def _jvp_one(tape: GradientTape, target: Tensor, primals: list, tangents: list, zero: bool):
    """``J t`` for one target recorded on ``tape`` (persistent); None where the target does not depend on them."""
    from ..ops import array_ops as A, math_ops as M, reduce_ops as R
    if not np.issubdtype(target._value.dtype, np.inexact):   # integer targets have no tangent
        return None
    u = Tensor._wrap(np.zeros_like(target._value))
    with GradientTape() as outer:
        outer.watch(u)
        with tape.stop_recording():
            grads = tape.gradient(target, primals, output_gradients=u)
        terms = [R.reduce_sum(M.multiply(g, t)) for g, t in zip(grads, tangents) if g is not None]
        if not terms:
            return A.zeros_like(target) if zero else None
        s = terms[0]
        for term in terms[1:]:
            s = M.add(s, term)
    out = outer.gradient(s, u)
    if out is None:
        return A.zeros_like(target) if zero else None
    return out


class ForwardAccumulator:
    """Record the computation inside ``with`` and give ``acc.jvp(target)``: the directional derivative of
    ``target`` along ``tangents`` at ``primals`` (both any nesting of tensors or variables, same structure)."""

    def __init__(self, primals, tangents):
        self._primals = [p if isinstance(p, Tensor) else convert_to_tensor(p) for p in nest.flatten(primals)]
        self._tangents = [convert_to_tensor(t) for t in nest.flatten(tangents)]
        _check_pairs(self._primals, self._tangents, "ForwardAccumulator")
        self._tape = GradientTape(persistent=True)

    def __enter__(self):
        self._tape.__enter__()
        for p in self._primals:
            self._tape.watch(p)
        return self

    def __exit__(self, *exc):
        return self._tape.__exit__(*exc)

    def jvp(self, primals, unconnected_gradients="none"):
        """The JVP of each tensor in ``primals`` (the targets, any nesting), in the same structure."""
        zero = str(getattr(unconnected_gradients, "value", unconnected_gradients)).lower() == "zero"
        return nest.map_structure(lambda t: _jvp_one(self._tape, t, self._primals, self._tangents, zero)
                                  if isinstance(t, Tensor) else None, primals)


def jvp(fun, primals, tangents, has_aux: bool = False):
    """``(fun(*primals), J t)`` (and ``aux`` with ``has_aux=True``, where ``fun`` returns ``(output, aux)``),
    as ``keras.ops.jvp``.

    >>> import tapeflow as tf
    >>> out, t = jvp(lambda x: x ** 3, (tf.constant(2.0),), (tf.constant(1.0),))
    >>> float(out), float(t)
    (8.0, 12.0)
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: `primals` and `tangents` must be tuples or lists of the arguments of `fun` (one "
                        f"entry per positional argument); got {type(primals).__name__} and {type(tangents).__name__}")
    args = [nest.map_structure(convert_to_tensor, p) for p in primals]
    flat_p, flat_t = nest.flatten(args), [convert_to_tensor(t) for t in nest.flatten(list(tangents))]
    with ForwardAccumulator(flat_p, flat_t) as acc:
        result = fun(*args)
    out, aux = result if has_aux else (result, None)
    tangent_out = acc.jvp(out, unconnected_gradients="zero")
    return (out, tangent_out, aux) if has_aux else (out, tangent_out)


__all__ = ["ForwardAccumulator", "jvp"]
