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

import builtins as _builtins

from . import _namespaces, autodiff_complex, core, image, linalg, math_signal, nn, nn_more, numpy  # noqa: F401
from . import numpy_more, numpy_more2  # noqa: F401
from .core import *  # noqa: F401,F403
from .nn import *  # noqa: F401,F403
from .numpy import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .math_signal import *  # noqa: F401,F403
from .nn_more import *  # noqa: F401,F403
from .numpy_more import *  # noqa: F401,F403
from .numpy_more2 import *  # noqa: F401,F403
from .autodiff_complex import *  # noqa: F401,F403
from .numpy import abs, all, any, max, min, round, sum  # noqa: F401,A004
from .core import map, slice  # noqa: F401,A004

math = math_signal  # keras.ops.math: fft/stft..., and core's logsumexp, erf, top_k, segment_sum, in_top_k, rsqrt

_PRIVATE = {"annotations", "np", "B", "A", "M", "N", "R", "Tensor", "Variable", "autodiff_complex"}
__all__ = sorted(n for n in dir() if not n.startswith("_") and n not in _PRIVATE)


def _symbolic_aware(name, fn):
    """``fn``, or, when a positional argument holds a KerasTensor (a functional model being built), a graph
    node that calls ``keras.ops.<name>`` on the real tensors later (``OpLayer("ops.<name>")``)."""
    from ..models.keras_tensor import KerasTensor

    def op(*args, **kwargs):
        for a in args:  # (this module's any/map are keras.ops': the builtins by name)
            if type(a) is KerasTensor or (type(a) in (list, tuple)
                                          and _builtins.any(type(e) is KerasTensor for e in a)):
                from ..models.functional import keras_op_call
                return keras_op_call(name, args, kwargs)
        return fn(*args, **kwargs)
    op.__name__, op.__qualname__, op.__doc__, op.__wrapped__ = fn.__name__, fn.__qualname__, fn.__doc__, fn
    op.__module__ = fn.__module__
    op._symbolic_aware = True
    return op


_NOT_GRAPH_OPS = {"convert_to_tensor", "convert_to_numpy", "is_tensor", "shape", "dtype", "cond", "while_loop",
                  "fori_loop", "scan", "map", "switch", "stop_gradient", "custom_gradient", "vectorized_map",
                  "associative_scan", "unstack", "is_float_dtype"}


def _wrap_all():
    import inspect
    for name in __all__:
        fn = globals().get(name)
        if name in _NOT_GRAPH_OPS or not inspect.isfunction(fn) or hasattr(fn, "__wrapped__"):
            continue
        wrapped = _symbolic_aware(name, fn)
        globals()[name] = wrapped
        for mod in (core, nn, numpy, linalg, math_signal, nn_more, image, numpy_more, numpy_more2):
            if getattr(mod, name, None) is fn:
                setattr(mod, name, wrapped)


_wrap_all()


def _complete_namespaces():
    """Give ``keras.ops.numpy`` / ``.nn`` / ``.linalg`` / ``.image`` every name Keras lists there (the functions
    live in whichever module implements them)."""
    for mod, names in ((numpy, _namespaces.NUMPY), (nn, _namespaces.NN), (linalg, _namespaces.LINALG),
                       (image, _namespaces.IMAGE)):
        for name in names:
            if not hasattr(mod, name) and name in globals():
                setattr(mod, name, globals()[name])


_complete_namespaces()


def _wrap_image():
    """``keras.ops.image.*`` on KerasTensors: graph nodes too (``OpLayer("image.resize")``)."""
    import inspect
    for name in _namespaces.IMAGE:
        fn = getattr(image, name, None)
        if inspect.isfunction(fn) and not hasattr(fn, "__wrapped__"):
            setattr(image, name, _symbolic_aware("image." + name, fn))


_wrap_image()
