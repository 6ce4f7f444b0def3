"""``custom_gradient``: a user function whose backward pass is the user's own."""
from __future__ import annotations

import functools

from .tape import Primitive, _Paused, _recording, _Node, _differentiable
from .tensor import Tensor, convert_to_tensor


def custom_gradient(f=None):
    """Decorator, as ``tf.custom_gradient``: ``f(*x)`` returns ``(y, grad_fn)``.

    ``grad_fn(upstream)`` returns one gradient per input (a single Tensor when f has one
    input). The forward runs without recording, so only ``grad_fn`` defines the gradient.

    >>> import tapeflow as tf
    >>> @tf.custom_gradient
    ... def clip_grad(x):
    ...     return tf.identity(x), lambda dy: tf.clip_by_value(dy, -1.0, 1.0)
    >>> x = tf.constant(2.0)
    >>> with tf.GradientTape() as t:
    ...     t.watch(x)
    ...     y = clip_grad(x) * 10.0
    >>> float(t.gradient(y, x))
    1.0
    """
    if f is None:
        return custom_gradient

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        tensors = tuple(convert_to_tensor(a) for a in args)
        with _Paused(None):
            y, grad_fn = f(*tensors, **kwargs)
        y = convert_to_tensor(y)
        if not _recording or not _differentiable(y._value):
            return y
        cache = {}  # the upstream gradient last seen and grad_fn's answer for it

        def make_vjp(i):
            def vjp(g, ans, *inputs):
                # The array fast path wraps the same gradient array in a new Tensor per input:
                # key the cache on the array so grad_fn runs once per backward pass.
                if cache.get("g") is not g._value:
                    gs = grad_fn(g)
                    if not isinstance(gs, (list, tuple)):
                        gs = (gs,)
                    if len(gs) != len(inputs):
                        raise ValueError(
                            f"custom_gradient '{f.__name__}': grad_fn returned {len(gs)} gradients "
                            f"for {len(inputs)} inputs")
                    cache["g"] = g._value  # holding it keeps its identity from being reused while cached
                    cache["gs"] = [None if x is None else convert_to_tensor(x) for x in gs]
                return cache["gs"][i]
            return vjp

        prim = Primitive(f"custom_gradient:{f.__name__}", None, [make_vjp(i) for i in range(len(tensors))])
        out = Tensor._wrap(y._value)
        for tape in _recording:
            w = tape._watched
            mask = [id(a) in w or (a._trainable and tape._auto_watch) for a in tensors]
            if any(mask):
                tape._nodes.append(_Node(prim, tensors, out, {}, mask))
                w[id(out)] = out
        return out

    return wrapped
