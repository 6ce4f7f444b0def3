"""``einsum``: one differentiable primitive for Einstein-summation contractions.

The forward pass is ``np.einsum`` (BLAS-backed through ``optimize=True``). The VJP for operand ``i``
is itself an einsum: the incoming gradient contracted with the other operands onto operand ``i``'s
subscripts, broadcast along the letters only operand ``i`` carries (those it alone sums over).
Ellipses and implicit outputs are resolved to explicit letters before the primitive runs, so the
primitive only ever sees equations such as ``"bij,bjk->bik"``.
"""
from __future__ import annotations

import string
from collections import Counter

import numpy as np

from ..autodiff.tensor import Tensor, convert_to_tensor
from .registry import Variadic, bind, defvjp, primitive


def _einsum_fwd(*operands, equation):
    return np.einsum(equation, *operands, optimize=len(operands) > 2)


_einsum = primitive("einsum", _einsum_fwd)


def _einsum_vjp(i):
    def vjp(g, ans, *xs, equation):
        from . import array_ops as A
        lhs, out = equation.split("->")
        ins = lhs.split(",")
        target = ins[i]
        others = [s for k, s in enumerate(ins) if k != i]
        present = set(out).union(*others) if others else set(out)
        kept = "".join(c for c in target if c in present)
        grad = _raw_einsum(",".join([out] + others) + "->" + kept, [g] + [x for k, x in enumerate(xs) if k != i])
        if kept != target:  # letters summed away by this operand alone: the gradient is constant along them
            shape = xs[i]._value.shape
            grad = A.reshape(grad, [shape[k] if c in present else 1 for k, c in enumerate(target)])
            grad = A.broadcast_to(grad, shape)
        return grad
    return vjp


defvjp(_einsum, Variadic(_einsum_vjp))


def _raw_einsum(equation: str, operands) -> Tensor:
    return bind(_einsum, *operands, equation=equation)


def _resolve(equation: str, shapes) -> str:
    """Explicit form of ``equation`` for operands of ``shapes``: ellipses become letters, the output is
    spelled out (implicit mode: letters used once, in alphabetical order, after the ellipsis)."""
    eq = equation.replace(" ", "")
    lhs, out = eq.split("->") if "->" in eq else (eq, None)
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"einsum: {equation!r} names {len(ins)} operands but {len(shapes)} were given")
    free = [c for c in string.ascii_letters if c not in eq]
    n_ell = 0
    for s, shp in zip(ins, shapes):
        if "..." in s:
            n_ell = max(n_ell, len(shp) - (len(s) - 3))
    ell = "".join(free[:n_ell])
    explicit = []
    for s, shp in zip(ins, shapes):
        if "..." in s:
            n = len(shp) - (len(s) - 3)
            s = s.replace("...", ell[n_ell - n:])
        if len(s) != len(shp):
            raise ValueError(f"einsum: subscripts {s!r} do not match an operand of shape {tuple(shp)}")
        if len(set(s)) != len(s):
            raise NotImplementedError(f"einsum: repeated subscripts within one operand ({s!r}, a diagonal) "
                                      "are not supported; use tf.linalg.diag_part first")
        explicit.append(s)
    if out is None:
        counts = Counter("".join(s for s in lhs.replace("...", "").split(",")))
        out = (ell if "..." in lhs else "") + "".join(sorted(c for c, n in counts.items() if n == 1))
    else:
        out = out.replace("...", ell)
    return ",".join(explicit) + "->" + out


def einsum(equation: str, *inputs, **kwargs) -> Tensor:
    """Einstein summation over ``inputs`` (differentiable in every operand).

    >>> import tapeflow as tf
    >>> a, b = tf.ones((2, 3)), tf.ones((3, 4))
    >>> einsum("ij,jk->ik", a, b).shape.as_list(), float(einsum("ij->", a))
    ([2, 4], 6.0)
    """
    xs = [x if isinstance(x, Tensor) else convert_to_tensor(x) for x in inputs]
    dtypes = {x._value.dtype for x in xs}
    if len(dtypes) > 1:
        raise TypeError(f"einsum: operands have different dtypes {sorted(d.name for d in dtypes)}; cast them first")
    return _raw_einsum(_resolve(equation, [x._value.shape for x in xs]), xs)


__all__ = ["einsum"]
