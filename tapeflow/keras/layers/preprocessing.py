"""Preprocessing layers of Keras 3 image and feature pipelines: Rescaling, Normalization (with
``adapt``), Resizing, CenterCrop, RandomCrop, RandomFlip, UnitNormalization, and the random affine
augmentations RandomRotation, RandomZoom and RandomTranslation (``affine_transform``: TF's
ImageProjectiveTransform sampling, with its fill modes reflect/wrap/constant/nearest), and the
per-image RandomBrightness and RandomContrast.

Images are NHWC (``data_format="channels_first"`` is transposed in and out), a single HWC image
is accepted too. Resizing (and the resize inside CenterCrop/RandomCrop) is ``keras.ops.image.resize``:
TF2's ``tf.image.resize`` weights, every Keras interpolation, differentiable. Checked against real Keras in
``tests/keras/test_layers_preprocessing.py`` and ``tests/keras/test_image_resize_keras315.py``.

>>> import numpy as np, tapeflow as tf
>>> x = np.arange(24, dtype="float32").reshape(1, 4, 6, 1)
>>> tf.keras.layers.Resizing(3, 4)(x).numpy()[0, 0, :, 0].round(4).tolist()
[1.25, 2.75, 4.25, 5.75]
>>> tf.keras.layers.Rescaling(1 / 255.0)(np.array([[255.0]])).numpy().tolist()
[[1.0]]
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor, convert_to_tensor
from ...backend import rng
from ...ops import array_ops as A
from ...ops import math_ops as M
from ...ops import reduce_ops as R
from .. import backend as K
from ._adapt import adapt_batches
from .base import Layer
from .layer_utils import mark_shape_preserving

__all__ = ["Rescaling", "Normalization", "Resizing", "CenterCrop", "RandomCrop", "RandomFlip",
           "UnitNormalization", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomBrightness",
           "RandomContrast"]


def _float_input(layer, inputs) -> Tensor:
    x = convert_to_tensor(inputs)
    dt = np.dtype(layer._compute_dtype)
    return x if x._value.dtype == dt else A.cast(x, dt)


class Rescaling(Layer):
    """``inputs * scale + offset`` (integer images become floats), e.g. ``Rescaling(1 / 255)``."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def call(self, inputs):
        x = _float_input(self, inputs)
        dt = x._value.dtype
        y = M.multiply(x, Tensor._wrap(np.asarray(self.scale, dtype=dt)))
        return M.add(y, Tensor._wrap(np.asarray(self.offset, dtype=dt))) if np.any(self.offset) else y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"scale": _jsonable(self.scale), "offset": _jsonable(self.offset)})
        return config


def _jsonable(v):
    return np.asarray(v).tolist() if isinstance(v, (np.ndarray, np.generic, list, tuple)) else v


class Normalization(Layer):
    """``(x - mean) / max(sqrt(variance), epsilon)`` per feature along ``axis``; ``invert=True`` undoes it.

    ``mean``/``variance`` are given (constants: the layer then has no weights, as in Keras 3), or learned by
    ``adapt(data)`` (arrays, Tensors or a Dataset, in batches), which sets the layer's weights ``mean``,
    ``variance`` and ``count`` (Keras 3's layout).

    >>> import numpy as np, tapeflow as tf
    >>> norm = tf.keras.layers.Normalization()
    >>> norm.adapt(np.array([[1.0, 10.0], [3.0, 30.0]]))
    >>> norm(np.array([[3.0, 10.0]])).numpy().tolist()
    [[1.0, -1.0]]
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        self.axis = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        if (mean is None) != (variance is None):
            raise ValueError(f"Normalization '{self.name}': pass both `mean` and `variance`, or neither (then call "
                             f"adapt()); got mean={mean!r}, variance={variance!r}")
        self.input_mean, self.input_variance, self.invert = mean, variance, bool(invert)

    def _keep_shape(self, input_shape):
        nd = len(input_shape)
        axes = tuple(a % nd for a in self.axis)
        return axes, tuple(input_shape[a] if a in axes else 1 for a in range(nd))

    def build(self, input_shape):
        axes, keep = self._keep_shape(tuple(input_shape))
        if any(keep[a] is None for a in axes):
            raise ValueError(f"Normalization '{self.name}': the kept axis {self.axis} must have a known size, got "
                             f"input shape {tuple(input_shape)}")
        shape = tuple(keep[a] for a in axes)
        self._broadcast = keep
        if self.input_mean is not None:  # given statistics are constants, not weights (Keras 3: no variables)
            self.mean = Tensor._wrap(np.array(np.broadcast_to(np.asarray(self.input_mean, np.float32), shape)))
            self.variance = Tensor._wrap(np.array(np.broadcast_to(np.asarray(self.input_variance, np.float32),
                                                                  shape)))
        else:
            self.mean = self.add_weight(name="mean", shape=shape, initializer="zeros", trainable=False)
            self.variance = self.add_weight(name="variance", shape=shape, initializer="ones", trainable=False)
            self.count = self.add_weight(name="count", shape=(), initializer="zeros", trainable=False,
                                         dtype="int64")
        self.built = True

    def adapt(self, data, batch_size=None, steps=None):
        """Set ``mean`` and ``variance`` from ``data`` (Chan et al.'s parallel update, batch by batch)."""
        if self.input_mean is not None:
            raise ValueError(f"Normalization '{self.name}'.adapt: this layer was given mean and variance, which are "
                             "constants; create it without them to learn the statistics from data")
        n, mean, m2 = 0, None, None
        for b in adapt_batches(data, batch_size, steps):
            b = np.asarray(b._value if isinstance(b, Tensor) else b, dtype=np.float64)
            if not self.built:
                self.build(b.shape)
            axes, keep = self._keep_shape(b.shape)
            red = tuple(a for a in range(b.ndim) if a not in axes)
            k = int(np.prod([b.shape[a] for a in red], dtype=np.int64))
            bm = b.mean(axis=red).reshape(self.mean.shape)
            bv = b.var(axis=red).reshape(self.mean.shape)
            if n == 0:
                n, mean, m2 = k, bm, bv * k
            else:
                delta = bm - mean
                total = n + k
                mean = mean + delta * k / total
                m2 = m2 + bv * k + delta ** 2 * n * k / total
                n = total
        if n == 0:
            raise ValueError(f"Normalization '{self.name}'.adapt: the data is empty")
        self.mean.assign(mean.astype(np.float32))
        self.variance.assign((m2 / n).astype(np.float32))
        self.count.assign(np.int64(n))

    def call(self, inputs):
        x = _float_input(self, inputs)
        dt = x._value.dtype
        mean = A.reshape(A.cast(self.mean, dt), self._broadcast)
        std = M.maximum(M.sqrt(A.reshape(A.cast(self.variance, dt), self._broadcast)), K.epsilon())
        if self.invert:
            return M.add(mean, M.multiply(x, std))
        return M.divide(M.subtract(x, mean), std)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"axis": list(self.axis), "invert": self.invert,
                       "mean": _jsonable(self.input_mean), "variance": _jsonable(self.input_variance)})
        return config


# -- resizing and cropping ----------------------------------------------------------------------
def _crop_resize(x: Tensor, height: int, width: int) -> Tensor:
    """NHWC ``x``'s largest centred window of aspect height:width, resized (bilinear) to (height, width)."""
    from ..ops.image import resize
    return resize(x, (height, width), crop_to_aspect_ratio=True, data_format="channels_last")


class _ImageLayer(Layer):
    """NHWC in, NHWC out; a channels_first or single-image input is brought to NHWC and back."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = K.standardize_data_format(data_format)

    def call(self, inputs, training=None):
        x = _float_input(self, inputs)
        single = x._value.ndim == 3
        if x._value.ndim not in (3, 4):
            raise ValueError(f"{type(self).__name__} '{self.name}': expected images of rank 4 (batch, height, "
                             f"width, channels) or 3, got shape {x._value.shape}")
        if single:
            x = A.expand_dims(x, 0)
        cf = self.data_format == "channels_first"
        if cf:
            x = A.transpose(x, (0, 2, 3, 1))
        y = self._images(x, training)
        if cf:
            y = A.transpose(y, (0, 3, 1, 2))
        return A.squeeze(y, 0) if single else y

    def compute_output_shape(self, input_shape):
        s = list(input_shape)
        size = self._out_size(s)
        if size is None:
            return tuple(s)
        hw = (1, 2) if self.data_format != "channels_first" else (2, 3)
        if len(s) == 3:
            hw = (hw[0] - 1, hw[1] - 1)
        s[hw[0]], s[hw[1]] = size
        return tuple(s)

    def _out_size(self, shape):
        return (self.height, self.width)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


def _center_crop(x: Tensor, th: int, tw: int) -> Tensor:
    h, w = x._value.shape[1:3]
    if h < th or w < tw:  # too small: resize the largest window of the right aspect ratio, as Keras
        return _crop_resize(x, th, tw)
    top, left = (h - th) // 2, (w - tw) // 2
    return A.getitem(x, (slice(None), slice(top, top + th), slice(left, left + tw)))


class CenterCrop(_ImageLayer):
    """The central (height, width) window (a smaller image is resized to cover it first, as Keras)."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = int(height), int(width)

    def _images(self, x, training):
        return _center_crop(x, self.height, self.width)

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width})
        return config


class RandomCrop(_ImageLayer):
    """Training: one random (height, width) window for the whole batch (an image smaller than that: its
    largest centred window of that aspect ratio, resized); inference: the input unchanged, as Keras 3."""

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width, self.seed = int(height), int(width), seed

    def _images(self, x, training):
        if not training:
            return x
        h, w = x._value.shape[1:3]
        if h < self.height or w < self.width:
            return _crop_resize(x, self.height, self.width)
        g = rng.generator(self.seed)
        top, left = int(g.integers(0, h - self.height + 1)), int(g.integers(0, w - self.width + 1))
        return A.getitem(x, (slice(None), slice(top, top + self.height), slice(left, left + self.width)))

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width, "seed": self.seed})
        return config


class RandomFlip(_ImageLayer):
    """While training, flip each image left-right and/or up-down with probability 1/2 (``mode``:
    'horizontal', 'vertical' or 'horizontal_and_vertical'); identity at inference."""

    _MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if mode not in self._MODES:
            raise ValueError(f"RandomFlip '{self.name}': mode must be one of {self._MODES}, got {mode!r}")
        self.mode, self.seed = mode, seed

    def _out_size(self, shape):
        return None

    def _images(self, x, training):
        if not training:
            return x
        n = x._value.shape[0]
        g = rng.generator(self.seed)
        for axis, on in ((2, self.mode != "vertical"), (1, self.mode != "horizontal")):
            if on:
                flip = Tensor._wrap((g.random(n) < 0.5).reshape(n, 1, 1, 1))
                x = A.where(flip, A.reverse(x, [axis]), x)
        return x

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode, "seed": self.seed})
        return config


class UnitNormalization(Layer):
    """``x / sqrt(max(sum(x**2, axis), 1e-12))``: each sample scaled to unit L2 norm along ``axis``."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        x = _float_input(self, inputs)
        sq = R.reduce_sum(M.square(x), axis=self.axis, keepdims=True)
        return M.multiply(x, M.rsqrt(M.maximum(sq, 1e-12)))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


# -- random affine augmentation (rotation, zoom, translation) ----------------------------------
_FILL_MODES = ("reflect", "wrap", "constant", "nearest")


def _map_coord(c: np.ndarray, n: int, mode: str) -> np.ndarray:
    """Continuous coordinates mapped into [0, n - 1] by ``fill_mode``, as TF's ImageProjectiveTransform."""
    if mode == "constant":
        return c
    if mode == "nearest" or n <= 1:
        return np.clip(c, 0, n - 1)
    if mode == "reflect":  # (d c b a | a b c d | d c b a)
        period = 2 * n
        c = np.mod(c, period)
        return np.clip(np.where(c >= n, period - c - 1, c), 0, n - 1)
    # wrap (a b c d | a b c d | a b c d), TF's arithmetic: shift by whole lengths, counted in (n - 1) steps
    sz = n - 1
    c = np.where(c < 0, c + n * (np.trunc(-c / sz) + 1), np.where(c > n - 1, c - n * np.trunc(c / sz), c))
    return np.clip(c, 0, n - 1)


def affine_transform(x: Tensor, transforms: np.ndarray, interpolation="bilinear", fill_mode="reflect",
                     fill_value=0.0) -> Tensor:
    """Sample NHWC ``x`` at ``transforms`` (N, 8) = [a0, a1, a2, b0, b1, b2, 0, 0], mapping output
    (col, row) to input (a0 col + a1 row + a2, b0 col + b1 row + b2), as ``tf.raw_ops.ImageProjectiveTransformV3``.

    Differentiable in ``x``: the output is a weighted gather of its pixels.
    """
    n, h, w, c = x._value.shape
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    t = np.asarray(transforms, np.float64)
    src_x = t[:, 0, None, None] * cols + t[:, 1, None, None] * rows + t[:, 2, None, None]
    src_y = t[:, 3, None, None] * cols + t[:, 4, None, None] * rows + t[:, 5, None, None]
    src_x, src_y = _map_coord(src_x, w, fill_mode), _map_coord(src_y, h, fill_mode)
    if interpolation == "nearest":
        taps = [(np.round(src_y), np.round(src_x), np.ones_like(src_x))]
    else:
        y0, x0 = np.floor(src_y), np.floor(src_x)
        fy, fx = src_y - y0, src_x - x0
        taps = [(y0, x0, (1 - fy) * (1 - fx)), (y0, x0 + 1, (1 - fy) * fx),
                (y0 + 1, x0, fy * (1 - fx)), (y0 + 1, x0 + 1, fy * fx)]
    flat = A.reshape(x, (n, h * w, c))
    batch = np.arange(n)[:, None]
    dt = x._value.dtype
    out, fill = None, np.zeros((n, h * w), np.float64)  # fill: the weight that fell outside the image
    for ty, tx, wt in taps:
        inside = ((ty >= 0) & (ty <= h - 1) & (tx >= 0) & (tx <= w - 1)).reshape(n, h * w)
        idx = (np.clip(ty, 0, h - 1) * w + np.clip(tx, 0, w - 1)).astype(np.intp).reshape(n, h * w)
        wt = wt.reshape(n, h * w)
        fill += np.where(inside, 0.0, wt)
        part = M.multiply(A.getitem(flat, (batch, idx)), Tensor._wrap(np.where(inside, wt, 0.0)[..., None].astype(dt)))
        out = part if out is None else M.add(out, part)
    if fill_value and np.any(fill):
        out = M.add(out, Tensor._wrap((fill * float(fill_value))[..., None].astype(dt)))
    return A.reshape(out, (n, h, w, c))


def _keras_factor(factor, who: str, bounds=(-1, 1), strict=False) -> tuple:
    """Keras 3's ``_set_factor``: a pair (checked unsorted against ``bounds``; ``strict``: both ends inside them)
    is sorted; a number f in ``bounds`` means ``(max(-|f|, bounds[0]), |f|)``. Python numbers are kept as given,
    so the config equals Keras's."""
    bad = ValueError(f"{who}: factor must be a number or a list of two numbers in the range [{bounds[0]}, "
                     f"{bounds[1]}], got factor={factor!r}")
    factor = factor.tolist() if isinstance(factor, (np.ndarray, np.generic)) else factor
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(isinstance(v, (int, float)) for v in factor) or factor[0] > bounds[1] \
                or factor[1] < bounds[0] or (strict and not bounds[0] <= min(factor) <= max(factor) <= bounds[1]):
            raise bad
        return tuple(sorted(factor))
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not bounds[0] <= factor <= bounds[1]:
        raise bad
    return max(-abs(factor), bounds[0]), abs(factor)


def _factor_range(factor, who: str, name: str):
    lo, hi = (-float(factor), float(factor)) if np.ndim(factor) == 0 else (float(factor[0]), float(factor[1]))
    if lo > hi:
        raise ValueError(f"{who}: {name} must be a float or a (lower, upper) pair with lower <= upper, got {factor!r}")
    return lo, hi


class _RandomAffine(_ImageLayer):
    """Shared by RandomRotation, RandomZoom, RandomTranslation: draw per-image transforms while training."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if fill_mode not in _FILL_MODES:
            raise ValueError(f"{type(self).__name__} '{self.name}': fill_mode must be one of {_FILL_MODES}, got "
                             f"{fill_mode!r}")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"{type(self).__name__} '{self.name}': interpolation must be 'bilinear' or 'nearest', "
                             f"got {interpolation!r}")
        self.fill_mode, self.interpolation, self.seed, self.fill_value = fill_mode, interpolation, seed, fill_value

    def _out_size(self, shape):
        return None

    def _images(self, x, training):
        if not training:
            return x
        n, h, w, _ = x._value.shape
        return affine_transform(x, self._transforms(rng.generator(self.seed), n, h, w), self.interpolation,
                                self.fill_mode, self.fill_value)

    def get_config(self):
        config = super().get_config()
        config.update({"fill_mode": self.fill_mode, "interpolation": self.interpolation, "seed": self.seed,
                       "fill_value": self.fill_value})
        return config


class RandomRotation(_RandomAffine):
    """While training, rotate each image by an angle drawn from ``factor`` (fractions of 2*pi in [-1, 1]; a
    float f means [-|f|, |f|], a pair is sorted; positive is counter-clockwise) about its centre."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.factor = _keras_factor(factor, f"RandomRotation '{self.name}'")
        self._range = tuple(float(v) for v in self.factor)

    def _transforms(self, g, n, h, w):
        angle = g.uniform(*self._range, size=n) * 2 * np.pi
        cos, sin = np.cos(angle), np.sin(angle)
        x_off = ((w - 1) - (cos * (w - 1) - sin * (h - 1))) / 2.0
        y_off = ((h - 1) - (sin * (w - 1) + cos * (h - 1))) / 2.0
        return np.stack([cos, -sin, x_off, sin, cos, y_off, np.zeros(n), np.zeros(n)], axis=1)

    def get_config(self):
        config = super().get_config()
        config["factor"] = list(self.factor)
        return config


class RandomZoom(_RandomAffine):
    """While training, zoom each image by 1 + a draw from ``height_factor`` (negative: zoom in, positive:
    zoom out); ``width_factor`` None keeps the aspect ratio."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _factor_range(height_factor, f"RandomZoom '{self.name}'", "height_factor")
        self._w = None if width_factor is None else _factor_range(width_factor, f"RandomZoom '{self.name}'",
                                                                  "width_factor")

    def _transforms(self, g, n, h, w):
        zh = 1.0 + g.uniform(*self._h, size=n)
        zw = zh if self._w is None else 1.0 + g.uniform(*self._w, size=n)
        x_off, y_off = (w - 1) / 2.0 * (1.0 - zw), (h - 1) / 2.0 * (1.0 - zh)
        zero = np.zeros(n)
        return np.stack([zw, zero, x_off, zero, zh, y_off, zero, zero], axis=1)

    def get_config(self):
        config = super().get_config()
        config.update({"height_factor": _jsonable(self.height_factor), "width_factor": _jsonable(self.width_factor)})
        return config


class RandomTranslation(_RandomAffine):
    """While training, shift each image by draws from ``height_factor``/``width_factor`` (fractions of its
    height/width; positive: down/right)."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _factor_range(height_factor, f"RandomTranslation '{self.name}'", "height_factor")
        self._w = _factor_range(width_factor, f"RandomTranslation '{self.name}'", "width_factor")

    def _transforms(self, g, n, h, w):
        dy = g.uniform(*self._h, size=n) * h
        dx = g.uniform(*self._w, size=n) * w
        one, zero = np.ones(n), np.zeros(n)
        return np.stack([one, zero, -dx, zero, one, -dy, zero, zero], axis=1)

    def get_config(self):
        config = super().get_config()
        config.update({"height_factor": _jsonable(self.height_factor), "width_factor": _jsonable(self.width_factor)})
        return config


class RandomBrightness(_ImageLayer):
    """While training, add ``delta * (value_range[1] - value_range[0])`` to each image, ``delta`` drawn per
    image from ``factor`` (in [-1, 1]; a float f means [-|f|, |f|], a pair is sorted), then clip to
    ``value_range`` (sorted, as Keras)."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(**kwargs)
        who = f"RandomBrightness '{self.name}'"
        if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
            raise ValueError(f"{who}: value_range must be a list of two numbers, got value_range={value_range!r}")
        self.factor, self.value_range, self.seed = _keras_factor(factor, who, strict=True), sorted(value_range), seed
        self._range = tuple(float(v) for v in self.factor)

    def _out_size(self, shape):
        return None

    def _images(self, x, training):
        if not training:
            return x
        lo, hi = (float(v) for v in self.value_range)
        n = x._value.shape[0]
        delta = rng.generator(self.seed).uniform(*self._range, size=(n, 1, 1, 1)) * (hi - lo)
        return A.clip_by_value(M.add(x, Tensor._wrap(delta.astype(x._value.dtype))), lo, hi)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": list(self.factor), "value_range": list(self.value_range), "seed": self.seed})
        return config


class RandomContrast(_ImageLayer):
    """While training, scale each image's deviation from its per-channel mean (over height and width) by
    a factor drawn per image from ``[1 - lower, 1 + upper]``, then clip to ``value_range``.

    As Keras 3: a float ``f`` (in [0, 1]) means ``(lower, upper) = (0, f)``, so contrast only grows;
    a pair is sorted and must not lie wholly outside [0, 1]; ``(-0.5, 0.5)`` always scales by 1.5.

    >>> import numpy as np, tapeflow as tf
    >>> x = np.array([[[[0.0], [100.0]]]])
    >>> tf.keras.layers.RandomContrast((-0.5, 0.5))(x, training=True).numpy().ravel().tolist()
    [0.0, 125.0]
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = _keras_factor(factor, f"RandomContrast '{self.name}'", (0, 1))
        self.value_range, self.seed = value_range, seed   # as given (Keras keeps it unsorted)

    def _out_size(self, shape):
        return None

    def _images(self, x, training):
        if not training:
            return x
        lower, upper = (float(v) for v in self.factor)
        n = x._value.shape[0]
        scale = rng.generator(self.seed).uniform(1.0 - lower, 1.0 + upper, size=(n, 1, 1, 1))
        mean = R.reduce_mean(x, axis=(1, 2), keepdims=True)
        out = M.add(M.multiply(M.subtract(x, mean), Tensor._wrap(scale.astype(x._value.dtype))), mean)
        return A.clip_by_value(out, *(float(v) for v in self.value_range))

    def get_config(self):
        config = super().get_config()
        config.update({"factor": list(self.factor), "value_range": list(self.value_range), "seed": self.seed})
        return config


mark_shape_preserving(Rescaling, Normalization, UnitNormalization)

from .resizing import Resizing  # noqa: E402  (it builds on _ImageLayer above)
