"""``tf.function``: accepted as a decorator; tapeflow runs the function eagerly."""
from __future__ import annotations

import functools


def function(func=None, input_signature=None, autograph=True, jit_compile=None, reduce_retracing=False,
             experimental_relax_shapes=None, **kwargs):
    """Decorator kept for source compatibility with ``@tf.function`` (runs eagerly).

    >>> import tapeflow as tf
    >>> @tf.function
    ... def double(x):
    ...     return x * 2
    >>> float(double(tf.constant(2.0)))
    4.0
    """
    if func is None:
        return functools.partial(function, input_signature=input_signature, jit_compile=jit_compile)

    @functools.wraps(func)
    def wrapper(*args, **kw):
        return func(*args, **kw)

    wrapper.python_function = func
    return wrapper
