"""``keras.initializers``: Keras 3 classes and names for initial weight values.

Unseeded initializers draw from tapeflow's global generator, so ``tf.random.set_seed`` makes
them repeatable; an initializer given an integer ``seed`` returns the same values every call.

>>> from tapeflow.keras import initializers
>>> initializers.get("ones")((2,)).numpy().tolist()
[1.0, 1.0]
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend as B
from ..autodiff.tensor import Tensor
from ..backend import rng
from ._serialization import deserialize_keras_object, serialize_keras_object


def _shape(shape) -> tuple:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def _dtype(dtype) -> np.dtype:
    return B.as_dtype(dtype)  # None -> floatx


def compute_fans(shape, input_axes=None, output_axes=None) -> tuple[int, int]:
    """(fan_in, fan_out) as Keras: kernels (..., in, out) multiply by the receptive field size; with
    ``input_axes`` and ``output_axes`` (an EinsumDense kernel), the products of those axes' sizes."""
    shape = _shape(shape)
    if input_axes is not None and output_axes is not None:
        return int(np.prod([shape[a] for a in input_axes])), int(np.prod([shape[a] for a in output_axes]))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: ``__call__(shape, dtype=None) -> Tensor`` and ``get_config``."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        return type(self).from_config(self.get_config())


class _Random(Initializer):
    def __init__(self, seed=None):
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise ValueError(f"{type(self).__name__}: seed must be an int or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)

    def _gen(self) -> np.random.Generator:
        return rng.generator() if self.seed is None else np.random.default_rng(self.seed)

    def get_config(self):
        return {"seed": self.seed}


class Zeros(Initializer):
    """All zeros.

    >>> float(Zeros()((2, 2)).numpy().sum())
    0.0
    """

    def __call__(self, shape, dtype=None):
        return Tensor._wrap(np.zeros(_shape(shape), _dtype(dtype)))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        return Tensor._wrap(np.ones(_shape(shape), _dtype(dtype)))


class Constant(Initializer):
    """Every entry ``value`` (a scalar, or an array broadcast to the shape).

    >>> Constant(3.0)((2,)).numpy().tolist()
    [3.0, 3.0]
    """

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        v = self.value._value if isinstance(self.value, Tensor) else self.value
        return Tensor._wrap(np.array(np.broadcast_to(np.asarray(v), _shape(shape)), dtype=_dtype(dtype)))

    def get_config(self):
        v = self.value
        if isinstance(v, Tensor):
            v = v._value
        return {"value": v.tolist() if isinstance(v, np.ndarray) else v}


class RandomNormal(_Random):
    """Normal draws with ``mean`` and ``stddev`` (Keras default 0.05)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype=None):
        g = self._gen()
        return Tensor._wrap((g.standard_normal(_shape(shape)) * self.stddev + self.mean).astype(_dtype(dtype)))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(_Random):
    """Uniform draws in ``[minval, maxval)`` (Keras default +-0.05)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, shape, dtype=None):
        g = self._gen()
        return Tensor._wrap(g.uniform(self.minval, self.maxval, _shape(shape)).astype(_dtype(dtype)))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _truncated_normal(g: np.random.Generator, shape: tuple) -> np.ndarray:
    """Standard normal draws re-drawn until within two standard deviations."""
    out = g.standard_normal(shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = g.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out


class TruncatedNormal(_Random):
    """Normal draws within two ``stddev`` of ``mean`` (values beyond are re-drawn)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype=None):
        out = _truncated_normal(self._gen(), _shape(shape))
        return Tensor._wrap((out * self.stddev + self.mean).astype(_dtype(dtype)))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(_Random):
    """Draws scaled to the weight's fan: variance ``scale / n`` with ``n`` from ``mode``.

    ``distribution`` is ``"truncated_normal"`` (stddev ``sqrt(scale / n) / 0.8796...``, the
    stddev of a unit normal truncated at +-2), ``"untruncated_normal"`` or ``"uniform"``
    (limit ``sqrt(3 * scale / n)``).

    >>> w = VarianceScaling(scale=2.0, mode="fan_in", distribution="uniform", seed=1)((100, 10))
    >>> bool(abs(w.numpy()).max() <= (6 / 100) ** 0.5)
    True
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, input_axes=None,
                 output_axes=None):
        super().__init__(seed)
        self.input_axes = None if input_axes is None else [int(a) for a in input_axes]
        self.output_axes = None if output_axes is None else [int(a) for a in output_axes]
        if scale <= 0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError("VarianceScaling: distribution must be 'uniform', 'truncated_normal' or "
                             f"'untruncated_normal', got {distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        g = self._gen()
        if self.distribution == "truncated_normal":
            out = _truncated_normal(g, shape) * (math.sqrt(scale) / 0.87962566103423978)
        elif self.distribution == "untruncated_normal":
            out = g.standard_normal(shape) * math.sqrt(scale)
        else:
            limit = math.sqrt(3.0 * scale)
            out = g.uniform(-limit, limit, shape)
        return Tensor._wrap(out.astype(_dtype(dtype)))

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed,
                "input_axes": self.input_axes, "output_axes": self.output_axes}


def _preset(name, scale, mode, distribution, doc):
    def __init__(self, seed=None, input_axes=None, output_axes=None):
        VarianceScaling.__init__(self, scale=scale, mode=mode, distribution=distribution, seed=seed,
                                 input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc,
                                           "__module__": __name__})


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform",
                        "Uniform in +-sqrt(6 / (fan_in + fan_out)) (Dense's default kernel initializer).")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                       "Truncated normal with stddev sqrt(2 / (fan_in + fan_out)).")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform", "Uniform in +-sqrt(6 / fan_in).")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal", "Truncated normal with stddev sqrt(2 / fan_in).")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform", "Uniform in +-sqrt(3 / fan_in).")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal",
                      "Truncated normal with stddev sqrt(1 / fan_in).")


class Orthogonal(_Random):
    """A (semi-)orthogonal matrix times ``gain``; higher-rank shapes are flattened to (prod(shape[:-1]), shape[-1])."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = float(gain)

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: needs a shape of rank >= 2, got {shape}")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = self._gen().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return Tensor._wrap((self.gain * q.reshape(shape)).astype(_dtype(dtype)))

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only)."""

    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError(f"Identity initializer: needs a 2-D shape, got {shape}")
        return Tensor._wrap((self.gain * np.eye(*shape)).astype(_dtype(dtype)))

    def get_config(self):
        return {"gain": self.gain}


class STFT(Initializer):
    """Kernels of a short-time Fourier transform as a convolution (``STFTSpectrogram``'s): shape
    ``(frame_length, 1, bins)``, the cos (``side="real"``) or sin (``"imag"``) DFT rows times ``window`` (a name,
    an array or None), divided by its L2 (``scaling="density"``) or L1 (``"spectrum"``) norm.

    >>> k = STFT("real", "hann")(shape=(8, 1, 5))
    >>> k.shape.as_list()
    [8, 1, 5]
    """

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"STFT initializer: side must be 'real' or 'imag', got {side!r}")
        if scaling not in (None, "density", "spectrum"):
            raise ValueError(f"STFT initializer: scaling must be 'density', 'spectrum' or None, got {scaling!r}")
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape, dtype=None):
        from .layers.audio import stft_kernel
        shape = tuple(shape)
        return Tensor._wrap(stft_kernel(self.side, self.window, self.scaling, self.periodic, shape[0], shape[-1],
                                        np.dtype(B.as_dtype(dtype or B.floatx()))))

    def get_config(self) -> dict:
        window = self.window
        if window is not None and not isinstance(window, str):
            window = np.asarray(getattr(window, "_value", window)).tolist()
        return {"side": self.side, "window": window, "scaling": self.scaling, "periodic": self.periodic}


IdentityInitializer = Identity
OrthogonalInitializer = Orthogonal
STFTInitializer = stft = STFT

_CLASSES = {c.__name__: c for c in (
    Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling, GlorotUniform,
    GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal, Identity, STFT)}
_CLASSES["STFTInitializer"] = STFT
_CLASSES["IdentityInitializer"] = Identity
_CLASSES["OrthogonalInitializer"] = Orthogonal
_NAMES = {"zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
          "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
          "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
          "he_uniform": HeUniform, "he_normal": HeNormal, "lecun_uniform": LecunUniform,
          "lecun_normal": LecunNormal, "orthogonal": Orthogonal, "identity": Identity,
          "uniform": RandomUniform, "normal": RandomNormal, "zero": Zeros, "one": Ones, "stft": STFT}
_MODULE_OBJECTS = {**_CLASSES, **_NAMES}

# Keras 3 also exports the snake_case names as the classes themselves.
zeros, ones, constant = Zeros, Ones, Constant
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, orthogonal, identity = VarianceScaling, Orthogonal, Identity
glorot_uniform, glorot_normal, he_uniform, he_normal = GlorotUniform, GlorotNormal, HeUniform, HeNormal
lecun_uniform, lecun_normal = LecunUniform, LecunNormal


def serialize(initializer) -> dict:
    """``{"module": "keras.initializers", "class_name": ..., "config": ..., "registered_name": ...}``."""
    return serialize_keras_object(initializer, module="keras.initializers")


def deserialize(config, custom_objects=None):
    return deserialize_keras_object(config, _MODULE_OBJECTS, custom_objects, kind="initializer")


def get(identifier):
    """An initializer from a name (``"he_normal"``), a config dict, an instance, or a callable.

    >>> type(get("he_normal")).__name__
    'HeNormal'
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier() if isinstance(identifier, type) else identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")
