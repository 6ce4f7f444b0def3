"""``tf.random``: seeded draws (set_seed, normal, uniform, truncated_normal, shuffle, categorical, gamma, poisson),
stateless draws fixed by a seed pair, and ``tf.random.Generator``."""
from __future__ import annotations

import copy

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


# -- stateless draws, Generators and the other distributions ----------------------------------------
# Stateless ops draw from NumPy's Philox keyed by the two seed integers: the same seed and shape give the same
# numbers on every run and machine (TensorFlow's own Philox streams are not reproduced bit for bit).

def _seed_pair(seed, what: str) -> tuple:
    s = np.asarray(seed._value if isinstance(seed, Tensor) else seed).reshape(-1)
    if s.size != 2:
        raise ValueError(f"{what}: seed must be a shape [2] integer tensor, got {s.size} value(s)")
    return int(s[0]) & 0xFFFFFFFFFFFFFFFF, int(s[1]) & 0xFFFFFFFFFFFFFFFF


def _stateless(seed, what: str) -> np.random.Generator:
    a, b = _seed_pair(seed, what)
    return np.random.Generator(np.random.Philox(key=[a, b]))


def _draw_uniform(g, shape, minval, maxval, dtype, what):
    d = B.as_dtype(dtype)
    if d.kind in "iu":
        if minval is None or maxval is None:
            info = np.iinfo(d)
            return g.integers(info.min, info.max, size=shape, dtype=d, endpoint=True) if minval is None and \
                maxval is None else _missing(what)
        return g.integers(minval, maxval, size=shape).astype(d)
    minval = 0.0 if minval is None else minval
    maxval = 1.0 if maxval is None else maxval
    return (g.random(shape) * (maxval - minval) + minval).astype(d)


def _missing(what):
    raise ValueError(f"{what}: integer dtypes need both minval and maxval (or neither, for the full range)")


def _truncated(g, shape) -> np.ndarray:
    out = g.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = g.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return out


def stateless_uniform(shape, seed, minval=0, maxval=None, dtype="float32", name=None, alg="auto_select") -> Tensor:
    """Uniform draws fixed by ``seed`` (shape [2]): the same seed gives the same tensor.

    >>> import tapeflow as tf
    >>> a = tf.random.stateless_uniform([3], seed=[1, 2])
    >>> bool(tf.reduce_all(a == tf.random.stateless_uniform([3], seed=[1, 2])))
    True
    """
    return Tensor._wrap(_draw_uniform(_stateless(seed, "stateless_uniform"), _shape(shape), minval, maxval, dtype,
                                      "stateless_uniform"))


def stateless_normal(shape, seed, mean=0.0, stddev=1.0, dtype="float32", name=None, alg="auto_select") -> Tensor:
    g = _stateless(seed, "stateless_normal")
    return Tensor._wrap((g.standard_normal(_shape(shape)) * stddev + mean).astype(B.as_dtype(dtype)))


def stateless_truncated_normal(shape, seed, mean=0.0, stddev=1.0, dtype="float32", name=None,
                               alg="auto_select") -> Tensor:
    g = _stateless(seed, "stateless_truncated_normal")
    return Tensor._wrap((_truncated(g, _shape(shape)) * stddev + mean).astype(B.as_dtype(dtype)))


def stateless_categorical(logits, num_samples, seed, dtype="int64", name=None) -> Tensor:
    lg = np.asarray(convert_to_tensor(logits)._value, dtype=np.float64)
    p = np.exp(lg - lg.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    g = _stateless(seed, "stateless_categorical")
    return Tensor._wrap(np.stack([g.choice(p.shape[-1], size=int(num_samples), p=row) for row in p])
                        .astype(B.as_dtype(dtype)))


def _params(*values):
    return [np.asarray(v._value if isinstance(v, Tensor) else v, np.float64) for v in values]


def stateless_binomial(shape, seed, counts, probs, output_dtype="int32", name=None) -> Tensor:
    n, p = _params(counts, probs)
    g = _stateless(seed, "stateless_binomial")
    return Tensor._wrap(g.binomial(n.astype(np.int64), p, size=_shape(shape)).astype(B.as_dtype(output_dtype)))


def stateless_poisson(shape, seed, lam, dtype="int32", name=None) -> Tensor:
    (lam,) = _params(lam)
    g = _stateless(seed, "stateless_poisson")
    return Tensor._wrap(g.poisson(lam, size=_shape(shape)).astype(B.as_dtype(dtype)))


def stateless_gamma(shape, seed, alpha, beta=None, dtype="float32", name=None) -> Tensor:
    alpha, beta = _params(alpha, 1.0 if beta is None else beta)
    g = _stateless(seed, "stateless_gamma")
    return Tensor._wrap((g.standard_gamma(alpha, size=_shape(shape)) / beta).astype(B.as_dtype(dtype)))


def stateless_parameterized_truncated_normal(shape, seed, means=0.0, stddevs=1.0, minvals=-2.0, maxvals=2.0,
                                             name=None) -> Tensor:
    """Normal draws of ``means``/``stddevs`` truncated to [minvals, maxvals] (re-drawn until inside)."""
    m, s, lo, hi = _params(means, stddevs, minvals, maxvals)
    g = _stateless(seed, "stateless_parameterized_truncated_normal")
    shape = _shape(shape)
    out = g.standard_normal(shape) * s + m
    bad = (out < lo) | (out > hi)
    while bad.any():
        fresh = g.standard_normal(shape) * s + m
        out = np.where(bad, fresh, out)
        bad = (out < lo) | (out > hi)
    return Tensor._wrap(out.astype(np.float32))


def gamma(shape, alpha, beta=None, dtype="float32", seed=None, name=None) -> Tensor:
    """Gamma draws: output shape ``shape + broadcast(alpha, beta).shape`` (``beta`` is a rate)."""
    alpha, beta = _params(alpha, 1.0 if beta is None else beta)
    param_shape = np.broadcast(alpha, beta).shape
    out = rng.generator(seed).standard_gamma(np.broadcast_to(alpha, _shape(shape) + param_shape))
    return Tensor._wrap((out / beta).astype(B.as_dtype(dtype)))


def poisson(shape, lam, dtype="float32", seed=None, name=None) -> Tensor:
    """Poisson draws: output shape ``shape + lam.shape``."""
    (lam,) = _params(lam)
    out = rng.generator(seed).poisson(np.broadcast_to(lam, _shape(shape) + lam.shape))
    return Tensor._wrap(out.astype(B.as_dtype(dtype)))


def fold_in(seed, data, alg="auto_select") -> Tensor:
    """A new stateless seed derived from ``seed`` and the integer ``data``."""
    a, b = _seed_pair(seed, "fold_in")
    g = np.random.Generator(np.random.Philox(key=[a, b], counter=[int(np.asarray(getattr(data, "_value", data))),
                                                                  0, 0, 0]))
    return Tensor._wrap(g.integers(0, 2 ** 31 - 1, size=2, dtype=np.int64))


def split(seed, num=2, alg="auto_select") -> Tensor:
    """``num`` new stateless seeds (shape [num, 2]) derived from ``seed``."""
    return Tensor._wrap(np.asarray(_stateless(seed, "split").integers(0, 2 ** 31 - 1, size=(int(num), 2)),
                                   np.int64))


def create_rng_state(seed, alg="philox") -> Tensor:
    return Tensor._wrap(np.array([int(seed) & 0xFFFFFFFFFFFFFFFF, 0, 0], dtype=np.uint64).astype(np.int64))


class Algorithm:
    PHILOX = 1
    THREEFRY = 2
    AUTO_SELECT = 3


class Generator:
    """A random number generator with its own state, as ``tf.random.Generator``: ``from_seed(s)`` repeats its
    draws; ``split(n)`` gives independent generators; ``make_seeds`` gives seeds for the stateless ops.

    >>> import tapeflow as tf
    >>> g1, g2 = tf.random.Generator.from_seed(7), tf.random.Generator.from_seed(7)
    >>> bool(tf.reduce_all(g1.normal([4]) == g2.normal([4])))
    True
    """

    def __init__(self, copy_from=None, state=None, alg=None, seed=None):
        self._seed = seed
        self._gen = np.random.default_rng(seed) if copy_from is None else \
            np.random.Generator(copy.deepcopy(copy_from._gen.bit_generator))

    @classmethod
    def from_seed(cls, seed, alg=None) -> "Generator":
        return cls(seed=int(np.asarray(getattr(seed, "_value", seed))))

    @classmethod
    def from_non_deterministic_state(cls, alg=None) -> "Generator":
        return cls()

    def reset_from_seed(self, seed) -> None:
        self._seed = int(seed)
        self._gen = np.random.default_rng(self._seed)

    def normal(self, shape, mean=0.0, stddev=1.0, dtype="float32", name=None) -> Tensor:
        return Tensor._wrap((self._gen.standard_normal(_shape(shape)) * stddev + mean).astype(B.as_dtype(dtype)))

    def uniform(self, shape, minval=0, maxval=None, dtype="float32", name=None) -> Tensor:
        return Tensor._wrap(_draw_uniform(self._gen, _shape(shape), minval, maxval, dtype, "Generator.uniform"))

    def uniform_full_int(self, shape, dtype="uint64", name=None) -> Tensor:
        return Tensor._wrap(_draw_uniform(self._gen, _shape(shape), None, None, dtype, "Generator.uniform_full_int"))

    def truncated_normal(self, shape, mean=0.0, stddev=1.0, dtype="float32", name=None) -> Tensor:
        return Tensor._wrap((_truncated(self._gen, _shape(shape)) * stddev + mean).astype(B.as_dtype(dtype)))

    def binomial(self, shape, counts, probs, dtype="int32", name=None) -> Tensor:
        n, p = _params(counts, probs)
        return Tensor._wrap(self._gen.binomial(n.astype(np.int64), p, size=_shape(shape)).astype(B.as_dtype(dtype)))

    def make_seeds(self, count=1) -> Tensor:
        """Seeds for the stateless ops: shape [2, count]."""
        return Tensor._wrap(self._gen.integers(0, 2 ** 31 - 1, size=(2, int(count)), dtype=np.int64))

    def split(self, count=1) -> list:
        return [Generator(seed=int(s)) for s in self._gen.integers(0, 2 ** 63 - 1, size=int(count))]


_GLOBAL_GENERATOR = []


def get_global_generator() -> Generator:
    if not _GLOBAL_GENERATOR:
        _GLOBAL_GENERATOR.append(Generator(seed=rng.get_seed()))
    return _GLOBAL_GENERATOR[0]


def set_global_generator(generator: Generator) -> None:
    _GLOBAL_GENERATOR[:] = [generator]
