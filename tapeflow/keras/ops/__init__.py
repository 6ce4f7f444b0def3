"""``keras.ops``: Keras 3's backend-agnostic op namespace, on tapeflow's differentiable primitives.

NumPy-style ops (``keras.ops.numpy``), neural-network ops (``keras.ops.nn``) and core ops
(conversion, shapes, control flow, ``logsumexp``, ``top_k``...) are all importable from here, as in
Keras; gradients flow through them under ``tf.GradientTape``.

>>> import tapeflow as tf
>>> from tapeflow.keras import ops
>>> w = tf.Variable([1.0, 2.0])
>>> with tf.GradientTape() as tape:
...     loss = ops.sum(ops.square(ops.einsum("i,i->i", w, w)))
>>> tape.gradient(loss, w).numpy().tolist()
[4.0, 32.0]
"""
from __future__ import annotations

from . import core, nn, numpy  # noqa: F401
from .core import *  # noqa: F401,F403
from .nn import *  # noqa: F401,F403
from .numpy import *  # noqa: F401,F403
from .numpy import abs, all, any, max, min, round, sum  # noqa: F401,A004
from .core import map, slice  # noqa: F401,A004

math = core  # keras.ops.math: logsumexp, erf, top_k, segment_sum, in_top_k, rsqrt
linalg = core  # keras.ops.linalg.norm

_PRIVATE = {"annotations", "np", "B", "A", "M", "N", "R", "Tensor", "Variable"}
__all__ = sorted(n for n in dir() if not n.startswith("_") and n not in _PRIVATE)
