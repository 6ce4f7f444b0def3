"""``tf.random``: seeded draws (set_seed, normal, uniform, truncated_normal, shuffle)."""
from __future__ import annotations

import numpy as np

from . import backend as B
from .autodiff.tensor import Tensor, convert_to_tensor
from .backend import rng
from .backend.rng import set_seed  # noqa: F401


def _shape(shape):
    if isinstance(shape, Tensor):
        shape = shape._value.tolist()
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)


def normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name=None) -> Tensor:
    """Normal draws.

    >>> import tapeflow as tf
    >>> tf.random.set_seed(0); tf.random.normal((2, 3)).shape.as_list()
    [2, 3]
    """
    g = rng.generator(seed)
    return Tensor._wrap((g.standard_normal(_shape(shape)) * stddev + mean).astype(B.as_dtype(dtype)))


def uniform(shape, minval=0, maxval=None, dtype="float32", seed=None, name=None) -> Tensor:
    """Uniform draws in [minval, maxval) (maxval defaults to 1 for floats)."""
    d = B.as_dtype(dtype)
    g = rng.generator(seed)
    if d.kind in "iu":
        if maxval is None:
            raise ValueError("uniform: maxval is required for integer dtypes")
        return Tensor._wrap(g.integers(minval, maxval, size=_shape(shape)).astype(d))
    maxval = 1.0 if maxval is None else maxval
    return Tensor._wrap((g.random(_shape(shape)) * (maxval - minval) + minval).astype(d))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name=None) -> Tensor:
    """Normal draws re-drawn until within two standard deviations of the mean."""
    g = rng.generator(seed)
    shape = _shape(shape)
    out = g.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = g.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return Tensor._wrap((out * stddev + mean).astype(B.as_dtype(dtype)))


def shuffle(value, seed=None, name=None) -> Tensor:
    """Shuffle along the first axis."""
    x = convert_to_tensor(value)._value
    return Tensor._wrap(x[rng.generator(seed).permutation(x.shape[0])])


def categorical(logits, num_samples, dtype="int64", seed=None, name=None) -> Tensor:
    """Draw class indices from unnormalized log-probabilities, one row per batch entry."""
    lg = np.asarray(convert_to_tensor(logits)._value, dtype=np.float64)
    p = np.exp(lg - lg.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    g = rng.generator(seed)
    out = np.stack([g.choice(p.shape[-1], size=num_samples, p=row) for row in p])
    return Tensor._wrap(out.astype(B.as_dtype(dtype)))
