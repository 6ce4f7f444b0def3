"""tf.keras 2's ``keras.backend`` functions (``K.mean``, ``K.random_normal``...), on ``keras.ops``.

``tapeflow.keras.backend`` serves these names on first use, so ``from tensorflow.keras import
backend as K`` programs keep working.

>>> from tapeflow.keras import backend as K
>>> float(K.mean(K.square(K.constant([1.0, 3.0]))))
5.0
"""
from __future__ import annotations

import numpy as np

from ... import backend as B
from ...autodiff.tensor import Tensor, Variable
from ...ops import array_ops as A
from ...ops import math_ops as M
from ...ops import reduce_ops as R
from .. import random as _random
from . import core as _core
from . import nn as _nn
from . import numpy as _np


def _red(fn):
    def op(x, axis=None, keepdims=False):
        return fn(x, axis=axis, keepdims=keepdims)
    op.__name__ = fn.__name__
    op.__doc__ = f"``{fn.__name__}`` over ``axis`` (tf.keras 2 ``K.{fn.__name__}``)."
    return op


sum = _red(_np.sum)  # noqa: A001
mean = _red(_np.mean)
max = _red(_np.max)  # noqa: A001
min = _red(_np.min)  # noqa: A001
prod = _red(_np.prod)
std = _red(_np.std)
var = _red(_np.var)
logsumexp = _red(_core.logsumexp)
any = _red(_np.any)  # noqa: A001
all = _red(_np.all)  # noqa: A001

abs, exp, log, sqrt, square, sign, round = _np.abs, _np.exp, _np.log, _np.sqrt, _np.square, _np.sign, _np.round  # noqa: A001
sin, cos, tanh, sigmoid, relu_ = _np.sin, _np.cos, _nn.tanh, _nn.sigmoid, _nn.relu
maximum, minimum, equal, not_equal = _np.maximum, _np.minimum, _np.equal, _np.not_equal
greater, greater_equal, less, less_equal = _np.greater, _np.greater_equal, _np.less, _np.less_equal
dot, transpose, reshape, ones_like, zeros_like = _np.dot, _np.transpose, _np.reshape, _np.ones_like, _np.zeros_like
softplus, softsign, elu = _nn.softplus, _nn.softsign, _nn.elu
cast, stop_gradient, is_tensor = _core.cast, _core.stop_gradient, _core.is_tensor
pow = _np.power  # noqa: A001
squeeze, expand_dims, tile, repeat_elements = _np.squeeze, _np.expand_dims, _np.tile, _np.repeat
cumsum, argmax, argmin, gather = _np.cumsum, _np.argmax, _np.argmin, _np.take


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """ReLU with tf.keras 2's optional leak, cap and threshold."""
    from ..activations import relu as _relu
    return _relu(_np._t(x), negative_slope=alpha, max_value=max_value, threshold=threshold)


def softmax(x, axis=-1):
    return _nn.softmax(x, axis=axis)


def clip(x, min_value, max_value):
    return _np.clip(x, min_value, max_value)


def concatenate(tensors, axis=-1):
    return _np.concatenate(tensors, axis=axis)


def stack(x, axis=0):
    return _np.stack(x, axis=axis)


def flatten(x):
    return _np.reshape(x, (-1,))


def batch_flatten(x):
    x = _np._t(x)
    return A.reshape(x, (x._value.shape[0], -1))


def permute_dimensions(x, pattern):
    return _np.transpose(x, pattern)


def batch_dot(x, y, axes=None):
    """Dot product of each pair of batch rows (2-D: row-wise dot, 3-D: batched matmul)."""
    x, y = _np._t(x), _np._t(y)
    if x._value.ndim == 2 and y._value.ndim == 2:
        return R.reduce_sum(M.multiply(x, y), axis=1, keepdims=True)
    return M.matmul(x, y)


def l2_normalize(x, axis=None):
    return _nn.normalize(x, axis=-1 if axis is None else axis)


def constant(value, dtype=None, shape=None, name=None):
    arr = np.asarray(value, dtype=B.as_dtype(dtype or B.floatx()))
    return Tensor._wrap(np.broadcast_to(arr, shape).copy() if shape is not None else arr)


def variable(value, dtype=None, name=None, constraint=None):
    return Variable(np.asarray(getattr(value, "_value", value), dtype=B.as_dtype(dtype or B.floatx())), name=name)


def zeros(shape, dtype=None, name=None):
    return _np.zeros(shape, dtype)


def ones(shape, dtype=None, name=None):
    return _np.ones(shape, dtype)


def eye(size, dtype=None, name=None):
    return _np.eye(size, dtype=dtype)


def get_value(x) -> np.ndarray:
    return _core.convert_to_numpy(x)


eval = get_value  # noqa: A001 - tf.keras 2's name


def batch_get_value(tensors) -> list:
    return [get_value(t) for t in tensors]


def set_value(x: Variable, value) -> None:
    x.assign(np.asarray(value, dtype=x._value.dtype))


def batch_set_value(tuples) -> None:
    for x, v in tuples:
        set_value(x, v)


def shape(x):
    return A.shape(x)


def int_shape(x) -> tuple:
    return _core.shape(x)


def ndim(x) -> int:
    return _np.ndim(x)


def dtype(x) -> str:
    return _core.dtype(x)


def count_params(x) -> int:
    return int(np.prod(int_shape(x)))


def learning_phase() -> int:
    from ..layers.tracking import CTX
    return int(bool(CTX.training))


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return _random.normal(shape, mean=mean, stddev=stddev, dtype=dtype, seed=seed)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return _random.uniform(shape, minval=minval, maxval=maxval, dtype=dtype, seed=seed)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return _random.truncated_normal(shape, mean=mean, stddev=stddev, dtype=dtype, seed=seed)


def random_bernoulli(shape, p=0.0, dtype=None, seed=None):
    return _np.cast(_np.less(_random.uniform(shape, dtype=dtype, seed=seed), p), dtype or B.floatx())


random_binomial = random_bernoulli


def dropout(x, level, noise_shape=None, seed=None):
    return _random.dropout(x, level, noise_shape=noise_shape, seed=seed)


def binary_crossentropy(target, output, from_logits=False):
    return _nn.binary_crossentropy(target, output, from_logits=from_logits)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    return _nn.categorical_crossentropy(target, output, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    return _nn.sparse_categorical_crossentropy(target, output, from_logits=from_logits, axis=axis)


def switch(condition, then_expression, else_expression):
    c = _np._t(condition)
    t = then_expression() if callable(then_expression) else then_expression
    e = else_expression() if callable(else_expression) else else_expression
    if c._value.ndim == 0:
        return t if bool(c._value) else e
    return _np.where(c, t, e)


def name_scope(name):
    import contextlib
    return contextlib.nullcontext()


NAMES = frozenset(n for n in dir() if not n.startswith("_") and n not in {
    "annotations", "np", "B", "Tensor", "Variable", "A", "M", "R", "NAMES", "relu_"})
