"""``keras.random``: seeded draws in Keras 3's names and seed rules.

``seed`` may be:

* ``None``: the global stream (repeatable after ``keras.utils.set_random_seed``),
* an int: the same draw every time the same call is made with that seed (as Keras 3),
* a :class:`SeedGenerator`: a repeatable stream that moves on at each draw.

>>> from tapeflow import keras
>>> a = keras.random.normal((2,), seed=7).numpy(); b = keras.random.normal((2,), seed=7).numpy()
>>> bool((a == b).all())
True
>>> gen = keras.random.SeedGenerator(1)
>>> bool((keras.random.uniform((3,), seed=gen).numpy() != keras.random.uniform((3,), seed=gen).numpy()).any())
True
"""
from __future__ import annotations

import numpy as np

from .. import backend as B
from ..autodiff.tensor import Tensor, convert_to_tensor
from ..backend import rng as _rng
from ..ops import math_ops as _M


class SeedGenerator:
    """A repeatable source of seeds: each draw that takes it uses, then advances, its state.

    >>> from tapeflow import keras
    >>> g1, g2 = keras.random.SeedGenerator(3), keras.random.SeedGenerator(3)
    >>> float(keras.random.normal((), seed=g1)) == float(keras.random.normal((), seed=g2))
    True
    """

    def __init__(self, seed=None, name=None, **kwargs):
        if seed is None:
            seed = int(_rng.generator().integers(0, 2 ** 31 - 1))
        if not isinstance(seed, (int, np.integer)):
            raise ValueError(f"SeedGenerator: seed must be an int or None, got {seed!r}")
        self.name = name or "seed_generator"
        self._initial = int(seed)
        self.state = np.array([0, int(seed)], dtype=np.int64)  # (counter, seed), as Keras's state variable

    def next(self) -> np.random.Generator:
        """A NumPy generator for the next draw (advances the state)."""
        counter = int(self.state[0])
        self.state[0] = counter + 1
        return np.random.default_rng([self._initial & 0xFFFFFFFF, counter, 0x5EED])

    def get_config(self) -> dict:
        return {"seed": self._initial}


def _gen(seed) -> np.random.Generator:
    if seed is None:
        return _rng.generator()
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if isinstance(seed, Tensor):
        seed = seed._value.reshape(-1)[0]
    if isinstance(seed, (int, np.integer)):
        return np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x4B3])
    raise ValueError(f"seed must be None, an int or a keras.random.SeedGenerator, got {type(seed).__name__}")


def _shape(shape) -> tuple:
    if isinstance(shape, Tensor):
        shape = shape._value.tolist()
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def _dtype(dtype):
    return B.as_dtype(dtype or B.floatx())


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None) -> Tensor:
    """Draws from N(mean, stddev**2)."""
    return Tensor._wrap((_gen(seed).standard_normal(_shape(shape)) * stddev + mean).astype(_dtype(dtype)))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None) -> Tensor:
    """Draws from U[minval, maxval)."""
    d = _dtype(dtype)
    if d.kind in "iu":
        raise ValueError("keras.random.uniform: use keras.random.randint for integer dtypes")
    return Tensor._wrap((_gen(seed).random(_shape(shape)) * (maxval - minval) + minval).astype(d))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None) -> Tensor:
    """Normal draws, re-drawn until within two standard deviations of the mean."""
    g = _gen(seed)
    out = g.standard_normal(_shape(shape))
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = g.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return Tensor._wrap((out * stddev + mean).astype(_dtype(dtype)))


def randint(shape, minval, maxval, dtype="int32", seed=None) -> Tensor:
    """Integers drawn uniformly from [minval, maxval)."""
    return Tensor._wrap(_gen(seed).integers(int(minval), int(maxval), size=_shape(shape)).astype(B.as_dtype(dtype)))


def categorical(logits, num_samples, dtype="int32", seed=None) -> Tensor:
    """``num_samples`` class indices per row of ``logits`` (unnormalized log-probabilities), shape (batch, n)."""
    lg = np.asarray(convert_to_tensor(logits)._value, dtype=np.float64)
    if lg.ndim != 2:
        raise ValueError(f"keras.random.categorical: logits must be 2-D (batch, classes), got shape {lg.shape}")
    p = np.exp(lg - lg.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    g = _gen(seed)
    u = g.random((lg.shape[0], int(num_samples)))
    cdf = np.cumsum(p, axis=-1)
    out = np.minimum((u[:, :, None] > cdf[:, None, :]).sum(-1), lg.shape[1] - 1)
    return Tensor._wrap(out.astype(B.as_dtype(dtype)))


def dropout(inputs, rate, noise_shape=None, seed=None) -> Tensor:
    """Zero each entry with probability ``rate`` and scale the rest by ``1/(1-rate)`` (differentiable)."""
    x = inputs if isinstance(inputs, Tensor) else convert_to_tensor(inputs)
    if not 0 <= rate < 1:
        raise ValueError(f"keras.random.dropout: rate must be in [0, 1), got {rate}")
    if rate == 0:
        return x
    shape = x._value.shape if noise_shape is None else tuple(
        x._value.shape[i] if d is None else int(d) for i, d in enumerate(noise_shape))
    keep = (_gen(seed).random(shape) >= rate).astype(x._value.dtype) / x._value.dtype.type(1 - rate)
    return _M.multiply(x, Tensor._wrap(keep))


def shuffle(x, axis=0, seed=None) -> Tensor:
    """``x`` with its entries along ``axis`` in a random order."""
    x = convert_to_tensor(x)
    perm = _gen(seed).permutation(x._value.shape[axis])
    from ..ops import array_ops as A
    return A.gather(x, perm, axis=axis)


def gamma(shape, alpha, dtype=None, seed=None) -> Tensor:
    """Draws from Gamma(alpha, 1)."""
    return Tensor._wrap(_gen(seed).gamma(alpha, size=_shape(shape)).astype(_dtype(dtype)))


def beta(shape, alpha, beta, dtype=None, seed=None) -> Tensor:  # noqa: A002 - Keras's name
    """Draws from Beta(alpha, beta)."""
    return Tensor._wrap(_gen(seed).beta(alpha, beta, size=_shape(shape)).astype(_dtype(dtype)))


def binomial(shape, counts, probabilities, dtype=None, seed=None) -> Tensor:
    """Draws from Binomial(counts, probabilities)."""
    return Tensor._wrap(_gen(seed).binomial(counts, probabilities, size=_shape(shape)).astype(_dtype(dtype)))


__all__ = ["SeedGenerator", "normal", "uniform", "truncated_normal", "randint", "categorical", "dropout",
           "shuffle", "gamma", "beta", "binomial"]
