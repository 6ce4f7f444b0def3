"""Merging layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot."""
from __future__ import annotations

from ...ops import array_ops as A
from ...ops import math_ops as M
from ...ops import nn_ops as N
from ...ops import reduce_ops as R
from .base import Layer


class _Merge(Layer):
    """Elementwise merge of a list of same-shape tensors (NumPy broadcasting allowed)."""

    _min_inputs = 1

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check(self, inputs):
        if not isinstance(inputs, (list, tuple)) or (inputs and isinstance(inputs[0], (int, type(None)))):
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}) should be called on a list of inputs, '
                             f"got {type(inputs).__name__}")
        if len(inputs) < self._min_inputs:
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}) needs at least {self._min_inputs} '
                             f"inputs, got {len(inputs)}")

    def build(self, input_shape):
        self._check(input_shape)
        shapes = [tuple(s) for s in input_shape]
        for s in shapes[1:]:
            a, b = shapes[0], s
            for x, y in zip(reversed(a), reversed(b)):
                if x is not None and y is not None and x != y and 1 not in (x, y):
                    raise ValueError(f'Layer "{self.name}" ({type(self).__name__}): inputs must have compatible '
                                     f"shapes, got {shapes}")

    def call(self, inputs):
        self._check(inputs)
        out = inputs[0]
        for x in inputs[1:]:
            out = self._merge(out, x)
        return self._finish(out, len(inputs))

    def _finish(self, out, n):
        return out

    def compute_mask(self, inputs, mask=None):
        if mask is None or not isinstance(mask, (list, tuple)) or all(m is None for m in mask):
            return None
        masks = [m for m in mask if m is not None]
        out = masks[0]
        for m in masks[1:]:
            out = M.logical_and(out, m)
        return out


class Add(_Merge):
    """Sum of the inputs.

    >>> import tapeflow as tf
    >>> tf.keras.layers.Add()([tf.ones((1, 2)), tf.ones((1, 2))]).numpy().tolist()
    [[2.0, 2.0]]
    """

    def _merge(self, a, b):
        return M.add(a, b)


class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""

    _min_inputs = 2

    def _check(self, inputs):
        super()._check(inputs)
        if len(inputs) != 2:
            raise ValueError(f'Layer "{self.name}" (Subtract) needs exactly 2 inputs, got {len(inputs)}')

    def _merge(self, a, b):
        return M.subtract(a, b)


class Multiply(_Merge):
    """Elementwise product of the inputs."""

    def _merge(self, a, b):
        return M.multiply(a, b)


class Average(_Merge):
    """Elementwise mean of the inputs."""

    def _merge(self, a, b):
        return M.add(a, b)

    def _finish(self, out, n):
        return M.divide(out, float(n))


class Maximum(_Merge):
    """Elementwise maximum of the inputs."""

    def _merge(self, a, b):
        return M.maximum(a, b)


class Minimum(_Merge):
    """Elementwise minimum of the inputs."""

    def _merge(self, a, b):
        return M.minimum(a, b)


class Concatenate(_Merge):
    """Concatenate the inputs along ``axis`` (default -1).

    >>> import tapeflow as tf
    >>> tf.keras.layers.Concatenate()([tf.ones((2, 3)), tf.ones((2, 4))]).shape.as_list()
    [2, 7]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def build(self, input_shape):
        self._check(input_shape)
        shapes = [tuple(s) for s in input_shape]
        ranks = {len(s) for s in shapes}
        if len(ranks) != 1:
            raise ValueError(f'Layer "{self.name}" (Concatenate): inputs must have the same rank, got {shapes}')
        rank = ranks.pop()
        ax = self.axis % rank
        for s in shapes[1:]:
            for i, (x, y) in enumerate(zip(shapes[0], s)):
                if i != ax and x is not None and y is not None and x != y:
                    raise ValueError(f'Layer "{self.name}" (Concatenate): inputs must match on every axis but '
                                     f"the concat axis {self.axis}, got {shapes}")

    def call(self, inputs):
        self._check(inputs)
        return A.concat(list(inputs), axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Dot(_Merge):
    """Batched dot product of two inputs along ``axes`` (rank 2 or 3); ``normalize`` gives cosine similarity.

    >>> import tapeflow as tf
    >>> tf.keras.layers.Dot(axes=1)([tf.ones((2, 3)), tf.ones((2, 3))]).numpy().tolist()
    [[3.0], [3.0]]
    """

    _min_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.axes = tuple(axes) if isinstance(axes, (list, tuple)) else (int(axes), int(axes))
        self.normalize = bool(normalize)

    def build(self, input_shape):
        self._check(input_shape)

    def call(self, inputs):
        self._check(inputs)
        x, y = inputs
        ax, ay = (a % t._value.ndim for a, t in zip(self.axes, (x, y)))
        if self.normalize:
            x, y = N.l2_normalize(x, axis=ax), N.l2_normalize(y, axis=ay)
        if x._value.ndim == 2 and y._value.ndim == 2:
            return R.reduce_sum(M.multiply(x, y), axis=1, keepdims=True)
        if x._value.ndim > 3 or y._value.ndim > 3:
            raise ValueError(f'Layer "{self.name}" (Dot): supports inputs of rank 2 or 3, got shapes '
                             f"{tuple(x.shape)} and {tuple(y.shape)}")
        sx = sy = False
        if x._value.ndim == 2:
            x, ax, sx = A.expand_dims(x, 1), 2, True
        if y._value.ndim == 2:
            y, ay, sy = A.expand_dims(y, 2), 1, True
        if ax != 2:
            x = A.transpose(x, perm=(0, 2, 1))
        if ay != 1:
            y = A.transpose(y, perm=(0, 2, 1))
        out = M.matmul(x, y)
        if sx:
            out = A.squeeze(out, axis=1)
        if sy:
            out = A.squeeze(out, axis=-1)
        return out

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update({"axes": list(self.axes), "normalize": self.normalize})
        return config


def _functional(cls):
    def fn(inputs, **kwargs):
        return cls(**kwargs)(inputs)
    fn.__name__ = cls.__name__.lower()
    fn.__doc__ = f"Functional form of ``{cls.__name__}``: ``{fn.__name__}([x, y])``."
    return fn


add, subtract, multiply, average = _functional(Add), _functional(Subtract), _functional(Multiply), _functional(Average)
maximum, minimum, concatenate, dot = (_functional(Maximum), _functional(Minimum), _functional(Concatenate),
                                      _functional(Dot))
