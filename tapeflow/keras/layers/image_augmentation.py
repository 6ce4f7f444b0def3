"""Keras 3's colour augmentation layers: RandomGrayscale, RandomInvert, Solarization, AutoContrast,
RandomPosterization, RandomSaturation, RandomHue, RandomColorDegeneration, RandomSharpness and
RandomColorJitter.

As in Keras 3, ``call(images, training=True)``: a layer called on its own augments, and inside a model
``training=False`` (``predict``, ``evaluate``) leaves the images unchanged (AutoContrast, which is not random,
always applies). Each random layer draws per image from ``tapeflow.backend.rng`` (its ``seed`` keys a
repeatable stream). Images are NHWC or, with ``data_format="channels_first"``, NCHW; one unbatched image
works too; the output has the layer's float compute dtype. The pixel arithmetic follows Keras 3.15 (and TF's
RGB<->HSV kernels); it runs on NumPy arrays and is not differentiable, like Keras's. Checked against real Keras
in ``tests/keras/test_layers_image_augmentation.py``.

>>> import numpy as np, tapeflow as tf
>>> x = np.array([[[[200.0, 100.0, 0.0]]]])
>>> tf.keras.layers.RandomInvert((1.0, 1.0))(x).numpy().ravel().tolist()
[55.0, 155.0, 255.0]
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor
from ...backend import rng
from .preprocessing import RandomBrightness, RandomContrast, _ImageLayer, _jsonable

__all__ = ["RandomGrayscale", "RandomInvert", "Solarization", "AutoContrast", "RandomPosterization",
           "RandomSaturation", "RandomHue", "RandomColorDegeneration", "RandomSharpness", "RandomColorJitter"]

_GRAY = (0.2989, 0.5870, 0.1140)  # tf.image.rgb_to_grayscale's weights
_EPSILON = 1e-7


def _who(layer) -> str:
    return f"{type(layer).__name__} '{layer.name}'"


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def keras_factor(layer, factor, bounds, name="factor") -> tuple:
    """Keras's factor rule: a number f in ``bounds`` means (max(-|f|, bounds[0]), |f|); a pair is sorted and
    must overlap ``bounds``."""
    lo_b, hi_b = bounds
    bad = ValueError(f"{_who(layer)}: `{name}` must be a number or a pair of numbers in [{lo_b}, {hi_b}], "
                     f"got {name}={factor!r}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(_is_number(f) for f in factor) or factor[0] > hi_b or factor[1] < lo_b:
            raise bad
        return tuple(sorted(float(f) for f in factor))
    if not _is_number(factor) or not lo_b <= factor <= hi_b:
        raise bad
    f = abs(float(factor))
    return (max(-f, float(lo_b)), f)


def value_range_of(layer, value_range, sort=True) -> list:
    """``value_range`` checked to be two numbers (sorted, as most Keras colour layers do)."""
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2 or not all(
            _is_number(v) for v in value_range) or value_range[0] == value_range[1]:
        raise ValueError(f"{_who(layer)}: `value_range` must be two different numbers (low, high), got "
                         f"value_range={value_range!r}")
    vals = [float(v) for v in value_range]
    return sorted(vals) if sort else vals


def to_range(x: np.ndarray, src, dst) -> np.ndarray:
    """Map ``x`` linearly from the value range ``src`` to ``dst`` (Keras's _transform_value_range)."""
    if src[0] == dst[0] and src[1] == dst[1]:
        return x
    dt = x.dtype.type
    return (x - dt(src[0])) / (dt(src[1]) - dt(src[0])) * (dt(dst[1]) - dt(dst[0])) + dt(dst[0])


def check_channels(layer, x: np.ndarray, allowed=(3,)) -> None:
    if x.shape[-1] not in allowed:
        raise ValueError(f"{_who(layer)}: expected images with {' or '.join(map(str, allowed))} channels, got "
                         f"{x.shape[-1]} (images of shape {x.shape} after moving channels last)")


def grayscale(x: np.ndarray) -> np.ndarray:
    """NHWC RGB -> NHW1 luma (a single-channel image is returned as it is)."""
    if x.shape[-1] == 1:
        return x
    return np.tensordot(x, np.asarray(_GRAY, x.dtype), axes=([-1], [0]))[..., None]


def rgb_to_hsv(x: np.ndarray) -> np.ndarray:
    """NHWC RGB -> HSV, TF's kernel: hue in [0, 1), saturation (max - min) / max, value max."""
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    v = x.max(axis=-1)
    rng_ = v - x.min(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(v > 0, rng_ / v, 0).astype(x.dtype)
        norm = (1.0 / rng_) * x.dtype.type(1.0 / 6.0)
        h = np.where(r == v, (g - b) * norm, np.where(g == v, (b - r) * norm + x.dtype.type(2.0 / 6.0),
                                                      (r - g) * norm + x.dtype.type(4.0 / 6.0)))
    h = np.where(rng_ > 0, h, 0)
    h = np.where(h < 0, h + 1, h).astype(x.dtype)
    return np.stack([h, s, v], axis=-1)


def hsv_to_rgb(x: np.ndarray) -> np.ndarray:
    """NHWC HSV -> RGB, TF's kernel (piecewise-linear hue ramps)."""
    h, s, v = x[..., 0], x[..., 1], x[..., 2]
    dh = h * 6
    ramps = (np.clip(np.abs(dh - 3) - 1, 0, 1), np.clip(2 - np.abs(dh - 2), 0, 1), np.clip(2 - np.abs(dh - 4), 0, 1))
    return np.stack([(1 - s + s * d) * v for d in ramps], axis=-1).astype(x.dtype)


class _ColorAugment(_ImageLayer):
    """Random per-image colour change while training: subclasses define ``_augment(array, generator)``."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.seed = seed

    def call(self, inputs, training=True):
        return super().call(inputs, training)

    def _out_size(self, shape):
        return None

    def _images(self, x, training):
        if not training:
            return x
        v = x._value
        return Tensor._wrap(np.asarray(self._augment(v, rng.generator(self.seed)), dtype=v.dtype))

    def _uniform(self, g, lo_hi, n, dtype):
        return g.uniform(lo_hi[0], lo_hi[1], size=n).astype(dtype)

    def get_config(self):
        config = super().get_config()
        config["seed"] = self.seed
        return config


class RandomGrayscale(_ColorAugment):
    """While training, turn each image to grayscale (luma 0.2989 R + 0.5870 G + 0.1140 B, repeated over the
    three channels) with probability ``factor``.

    >>> import numpy as np, tapeflow as tf
    >>> x = np.array([[[[100.0, 50.0, 10.0]]]])
    >>> tf.keras.layers.RandomGrayscale(factor=1.0)(x).numpy().astype(float).round(2).ravel().tolist()
    [60.38, 60.38, 60.38]
    """

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if not _is_number(factor) or not 0 <= factor <= 1:
            raise ValueError(f"{_who(self)}: `factor` must be a number in [0, 1], got factor={factor!r}")
        self.factor = factor

    def _augment(self, x, g):
        check_channels(self, x, (1, 3))
        apply = (g.uniform(0, 1, size=x.shape[0]) < self.factor).reshape(-1, 1, 1, 1)
        return np.where(apply, grayscale(x), x)

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config


class RandomInvert(_ColorAugment):
    """While training, replace an image by ``value_range[1] - image`` when a uniform draw falls below a
    probability drawn per image from ``factor`` (a float f means (0, f), so ``factor=1.0`` inverts about half
    of the images; ``(1.0, 1.0)`` inverts all), as Keras 3.

    >>> import numpy as np, tapeflow as tf
    >>> tf.keras.layers.RandomInvert((1.0, 1.0), value_range=(0, 1))(np.array([[[0.25]]])).numpy().tolist()
    [[[0.75]]]
    """

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(self, factor, (0, 1))
        self.value_range = value_range_of(self, value_range, sort=False)

    def _augment(self, x, g):
        n = x.shape[0]
        prob = g.uniform(*self.factor, size=n)
        apply = (g.uniform(0, 1, size=n) < prob).reshape(-1, 1, 1, 1)
        return np.where(apply, x.dtype.type(self.value_range[1]) - x, x)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": list(self.factor), "value_range": self.value_range})
        return config


class Solarization(_ColorAugment):
    """While training, add ``addition`` to each image (on a 0..255 scale, clipped), then invert the pixels at
    or above ``threshold`` (``255 - v``); both are drawn per image from their factors times 255 (factors in
    [0, 1]; a float f means (0, f)). Defaults (0, 0) invert every pixel.

    >>> import numpy as np, tapeflow as tf
    >>> x = np.array([[[[10.0], [200.0]]]])
    >>> tf.keras.layers.Solarization(threshold_factor=(0.5, 0.5))(x).numpy().ravel().tolist()
    [10.0, 55.0]
    """

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.addition_factor = self._factor(addition_factor, "addition_factor")
        self.threshold_factor = self._factor(threshold_factor, "threshold_factor")
        self.value_range = value_range_of(self, value_range)

    def _factor(self, factor, name):
        pair = isinstance(factor, (tuple, list)) and len(factor) == 2
        values = factor if pair else (factor,)
        if not all(_is_number(f) and 0 <= f <= 1 for f in values):
            raise ValueError(f"{_who(self)}: `{name}` must be a number or a pair of numbers in [0, 1], got "
                             f"{name}={factor!r}")
        return tuple(sorted(float(f) for f in factor)) if pair else (0.0, float(factor))

    def _augment(self, x, g):
        n, dt = x.shape[0], x.dtype
        add = (self._uniform(g, self.addition_factor, n, dt) * dt.type(255)).reshape(-1, 1, 1, 1)
        thr = (self._uniform(g, self.threshold_factor, n, dt) * dt.type(255)).reshape(-1, 1, 1, 1)
        y = np.clip(to_range(x, self.value_range, (0, 255)) + add, 0, 255)
        return to_range(np.where(y < thr, y, dt.type(255) - y), (0, 255), self.value_range)

    def get_config(self):
        config = super().get_config()
        config.update({"value_range": self.value_range, "addition_factor": list(self.addition_factor),
                       "threshold_factor": list(self.threshold_factor)})
        return config


class AutoContrast(_ColorAugment):
    """Stretch each channel of each image linearly so that its minimum maps to ``value_range[0]`` and its
    maximum to ``value_range[1]`` (a constant channel is left as it is). Not random: applies at inference too.

    >>> import numpy as np, tapeflow as tf
    >>> tf.keras.layers.AutoContrast()(np.array([[[[50.0], [100.0], [150.0]]]])).numpy().ravel().tolist()
    [0.0, 127.5, 255.0]
    """

    def __init__(self, value_range=(0, 255), **kwargs):
        super().__init__(**kwargs)
        self.value_range = value_range_of(self, value_range)

    def _images(self, x, training):
        v = x._value
        y = to_range(v, self.value_range, (0, 255))
        low, high = y.min(axis=(1, 2), keepdims=True), y.max(axis=(1, 2), keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = v.dtype.type(255.0) / (high - low)
            out = to_range(np.clip(y * scale + (-low * scale), 0, 255), (0, 255), self.value_range)
        return Tensor._wrap(np.where(np.isnan(out), v, out).astype(v.dtype))

    def get_config(self):
        config = super().get_config()
        del config["seed"]
        config["value_range"] = self.value_range
        return config


class RandomPosterization(_ColorAugment):
    """While training, keep only the ``bits`` highest bits of each 0..255 pixel value, ``bits`` drawn per image
    from the integers in [lower, upper) of ``factor`` (in [1, 8]; a float f means (1, f); lower == upper: fixed).

    >>> import numpy as np, tapeflow as tf
    >>> tf.keras.layers.RandomPosterization((2, 2))(np.array([[[[200.0], [100.0]]]])).numpy().ravel().tolist()
    [192.0, 64.0]
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(self, factor, (1, 8))
        self.value_range = value_range_of(self, value_range)

    def _augment(self, x, g):
        lo, hi = int(self.factor[0]), int(self.factor[1])
        n = x.shape[0]
        bits = np.full(n, lo) if lo == hi else g.integers(lo, hi, size=n)
        step = (2.0 ** (8 - bits)).reshape(-1, 1, 1, 1)
        levels = np.floor(np.clip(to_range(x, self.value_range, (0, 255)), 0, 255))
        return to_range((np.floor(levels / step) * step).astype(x.dtype), (0, 255), self.value_range)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": list(self.factor), "value_range": self.value_range})
        return config


class RandomSaturation(_ColorAugment):
    """While training, multiply each image's HSV saturation by ``f / (1 - f)``, ``f`` drawn per image from
    ``factor``: 0 (or below) gives grayscale (the max channel), 0.5 no change, 1 full saturation. As Keras 3,
    a float f means (-f, f), the scaled saturation is clipped to ``value_range`` and the RGB result is not.

    >>> import numpy as np, tapeflow as tf
    >>> x = np.array([[[[200.0, 100.0, 50.0]]]])
    >>> tf.keras.layers.RandomSaturation((0.0, 0.0))(x).numpy().ravel().tolist()
    [200.0, 200.0, 200.0]
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(self, factor, (-1, 1))
        self.value_range = value_range_of(self, value_range)

    def _augment(self, x, g):
        check_channels(self, x)
        f = self._uniform(g, self.factor, x.shape[0], x.dtype)
        f = (f / (1 - f + x.dtype.type(_EPSILON))).reshape(-1, 1, 1)
        hsv = rgb_to_hsv(x)
        hsv[..., 1] = np.clip(hsv[..., 1] * f, *self.value_range)
        return hsv_to_rgb(hsv)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": list(self.factor), "value_range": self.value_range})
        return config


class RandomHue(_ColorAugment):
    """While training, rotate each image's hue by ``+-d / 2`` turns (sign at random, ``d`` drawn per image
    from ``factor``, in [0, 1]; a float f means (0, f)), then clip to ``value_range``.

    >>> import numpy as np, tapeflow as tf
    >>> x = np.array([[[[255.0, 0.0, 0.0]]]])
    >>> tf.keras.layers.RandomHue((1.0, 1.0))(x).numpy().ravel().tolist()
    [0.0, 255.0, 255.0]
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(self, factor, (0, 1))
        self.value_range = value_range_of(self, value_range, sort=False)

    def _augment(self, x, g):
        check_channels(self, x)
        n, dt = x.shape[0], x.dtype
        sign = np.where(g.uniform(0, 1, size=n) > 0.5, -1.0, 1.0)
        delta = (sign * self._uniform(g, self.factor, n, dt) * 0.5).astype(dt).reshape(-1, 1, 1)
        hsv = rgb_to_hsv(to_range(x, self.value_range, (0, 1)))
        h = hsv[..., 0] + delta
        h = np.where(h > 1, h - 1, h)
        hsv[..., 0] = np.where(h < 0, h + 1, h)
        return to_range(np.clip(hsv_to_rgb(hsv), 0, 1), (0, 1), self.value_range)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": list(self.factor), "value_range": self.value_range})
        return config


class RandomColorDegeneration(_ColorAugment):
    """While training, blend each image towards its grayscale version: ``x + f * (gray - x)``, ``f`` drawn per
    image from ``factor`` (in [-1, 1]; a float f means (-f, f); negative f oversaturates), clipped to
    ``value_range``.

    >>> import numpy as np, tapeflow as tf
    >>> x = np.array([[[[100.0, 50.0, 10.0]]]])
    >>> tf.keras.layers.RandomColorDegeneration((1.0, 1.0))(x).numpy().astype(float).round(2).ravel().tolist()
    [60.38, 60.38, 60.38]
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(self, factor, (-1, 1))
        self.value_range = value_range_of(self, value_range)

    def _augment(self, x, g):
        check_channels(self, x, (1, 3))
        f = self._uniform(g, self.factor, x.shape[0], x.dtype).reshape(-1, 1, 1, 1)
        return np.clip(x + f * (grayscale(x) - x), *self.value_range)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": list(self.factor), "value_range": self.value_range})
        return config


def _smooth(x: np.ndarray) -> np.ndarray:
    """Per-channel 3x3 blur with weights 1/13 around and 5/13 at the centre, zero padding ('same')."""
    h, w = x.shape[1:3]
    p = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    around = sum(p[:, i:i + h, j:j + w] for i in range(3) for j in range(3) if (i, j) != (1, 1))
    return around * x.dtype.type(1.0 / 13.0) + x * x.dtype.type(5.0 / 13.0)


class RandomSharpness(_ColorAugment):
    """While training, ``x + (1 - 2 f) * (blur(x) - x)`` with ``f`` drawn per image from ``factor`` (in [0, 1];
    a float f means (0, f)): 0 blurs, 0.5 keeps, 1 sharpens; clipped to ``value_range``.

    >>> import numpy as np, tapeflow as tf
    >>> x = np.zeros((1, 3, 3, 1)); x[0, 1, 1, 0] = 130.0
    >>> tf.keras.layers.RandomSharpness((0.0, 0.0))(x).numpy()[0, :, :, 0].tolist()
    [[10.0, 10.0, 10.0], [10.0, 50.0, 10.0], [10.0, 10.0, 10.0]]
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(self, factor, (0, 1))
        self.value_range = value_range_of(self, value_range)

    def _augment(self, x, g):
        s = (self._uniform(g, self.factor, x.shape[0], x.dtype) * 2).reshape(-1, 1, 1, 1)
        return np.clip(x + (1 - s) * (_smooth(x) - x), *self.value_range)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": list(self.factor), "value_range": self.value_range})
        return config


class RandomColorJitter(_ColorAugment):
    """While training, apply in turn RandomBrightness, RandomContrast, RandomSaturation and RandomHue, each
    only when its factor is given (with that layer's meaning of the factor and this ``value_range``).

    >>> import numpy as np, tapeflow as tf
    >>> x = np.array([[[[200.0, 100.0, 50.0]]]])
    >>> tf.keras.layers.RandomColorJitter(brightness_factor=(0.1, 0.1))(x).numpy().ravel().tolist()
    [225.5, 125.5, 75.5]
    """

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None, saturation_factor=None,
                 hue_factor=None, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = value_range_of(self, value_range, sort=False)
        self.brightness_factor, self.contrast_factor = brightness_factor, contrast_factor
        self.saturation_factor, self.hue_factor = saturation_factor, hue_factor
        common = {"value_range": self.value_range, "seed": seed, "data_format": "channels_last",
                  "dtype": self.dtype_policy}
        self._steps = [layer(f, **common) for layer, f in (
            (RandomBrightness, brightness_factor), (RandomContrast, contrast_factor),
            (RandomSaturation, saturation_factor), (RandomHue, hue_factor)) if f is not None]

    def _images(self, x, training):
        if training:
            for step in self._steps:
                x = step(x, training=True)
        return x

    def get_config(self):
        config = super().get_config()
        config.update({"value_range": self.value_range, "brightness_factor": _jsonable(self.brightness_factor),
                       "contrast_factor": _jsonable(self.contrast_factor),
                       "saturation_factor": _jsonable(self.saturation_factor),
                       "hue_factor": _jsonable(self.hue_factor)})
        return config
