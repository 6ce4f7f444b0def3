"""``keras.Variable``: Keras 3's constructor, ``Variable(initializer, shape=None, dtype=None, trainable=True,
..., name=None)``, on tapeflow's ``tf.Variable`` (so tapes, optimizers and layers take it as any variable).

>>> import tapeflow as tf
>>> v = tf.keras.Variable("ones", shape=(2,), name="w")
>>> v.numpy().tolist(), v.name, isinstance(v, tf.Variable)
([1.0, 1.0], 'w', True)
"""
from __future__ import annotations

from ..autodiff.tensor import Variable as _Variable

_AGGREGATIONS = (None, "none", "mean", "sum", "only_first_replica")
_SYNCS = (None, "none", "on_read", "on_write", "auto")


class Variable(_Variable):
    """A variable made from a value, or from an initializer (a name, an instance or a callable) and a shape."""

    __slots__ = ()

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, autocast=True, aggregation="none",
                 synchronization="auto", name=None, **kwargs):
        name = name or "variable"
        if not isinstance(name, str) or "/" in name:
            raise ValueError(f"Argument `name` must be a string and cannot contain character `/`. Received: name={name}")
        if aggregation not in _AGGREGATIONS:
            raise ValueError(f"Invalid value for argument `aggregation`: expected one of {_AGGREGATIONS[1:]}. "
                             f"Received: aggregation={aggregation!r}")
        if synchronization not in _SYNCS:
            raise ValueError(f"Invalid value for argument `synchronization`: expected one of {_SYNCS[1:]}. "
                             f"Received: synchronization={synchronization!r}")
        if isinstance(initializer, str):
            from . import initializers
            initializer = initializers.get(initializer)
        if callable(initializer):
            if shape is None:
                raise ValueError("When creating a Variable from an initializer, the `shape` argument should be "
                                 f"specified. Received: initializer={initializer} and shape={shape}")
            value = initializer(tuple(shape), dtype=dtype or "float32")
        else:
            value = initializer
        super().__init__(value, trainable=trainable, name=name, dtype=dtype, shape=shape,
                         aggregation=aggregation or "none")
        if shape is not None and tuple(self.shape) != tuple(shape):
            raise ValueError(f"Variable {name!r}: the initial value has shape {tuple(self.shape)}, but "
                             f"shape={tuple(shape)} was given; pass a value of that shape or drop `shape`")
