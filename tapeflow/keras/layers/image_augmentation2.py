"""Keras 3's batch-mixing augmentations MixUp and CutMix: each image is combined with another image of the
same batch (one random permutation per batch), and given ``{"images": ..., "labels": ...}`` the labels are
mixed with the same weights. Also Equalization (histogram equalization) and RandomGaussianBlur.

As in Keras 3, ``call(data, training=True)``: ``training=False`` returns the images (cast to the layer's
float compute dtype) and labels unchanged; a single unbatched image has no partner and is returned as it is.
Draws come from ``tapeflow.backend.rng`` (``seed`` keys a repeatable stream).

>>> import numpy as np, tapeflow as tf
>>> out = tf.keras.layers.MixUp(seed=1)({"images": np.ones((4, 2, 2, 3)), "labels": np.eye(4)})
>>> tuple(out["images"].shape), np.allclose(out["labels"].numpy().sum(axis=1), 1.0)
((4, 2, 2, 3), True)
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor, convert_to_tensor
from ...backend import rng
from .base import Layer
from .image_augmentation import _ColorAugment, keras_factor, to_range, value_range_of

__all__ = ["MixUp", "CutMix", "Equalization", "RandomGaussianBlur"]


class _BatchMix(Layer):
    """Images, or a dict with "images" and optional "labels"/"segmentation_masks"; subclasses define
    ``_draw(images, generator)`` -> (permutation, per-image mask or None, per-image weight of the original)."""

    def __init__(self, data_format=None, seed=None, **kwargs):
        from .. import backend as K  # imported here: doctest probing a module attribute would load keras.ops
        super().__init__(**kwargs)
        self.data_format = K.standardize_data_format(data_format)
        self.seed = seed

    def _array(self, value, key="images") -> np.ndarray:
        v = convert_to_tensor(value)._value
        if key == "images" and v.ndim not in (3, 4):
            raise ValueError(f"{type(self).__name__} '{self.name}': expected images of rank 4 (batch, height, "
                             f"width, channels) or 3, got shape {v.shape}")
        return v.astype(np.dtype(self._compute_dtype), copy=False) if key != "labels" else v

    def call(self, data, training=True):
        is_dict = isinstance(data, dict)
        if is_dict and "images" not in data:
            raise ValueError(f"{type(self).__name__} '{self.name}': a dict input needs an 'images' key, got "
                             f"keys {sorted(data)}")
        if is_dict and "bounding_boxes" in data:
            raise ValueError(f"{type(self).__name__} '{self.name}': bounding boxes are not supported; pass "
                             f"'images' with optional 'labels' and 'segmentation_masks'")
        images = self._array(data["images"] if is_dict else data)
        mix = None
        if training and images.ndim == 4 and images.shape[0] > 0:
            mix = self._draw(images, rng.generator(self.seed))
        out = dict(data) if is_dict else {}
        out["images"] = Tensor._wrap(self._mix(images, mix))
        if is_dict and "segmentation_masks" in data:
            out["segmentation_masks"] = Tensor._wrap(self._mix(self._array(data["segmentation_masks"]), mix))
        if is_dict and "labels" in data:
            labels = self._array(data["labels"], "labels")
            if mix is not None:
                perm, _, weight = mix
                w = weight.reshape((-1,) + (1,) * (labels.ndim - 1))
                labels = (w * labels + (1.0 - w) * labels[perm]).astype(self._compute_dtype)
            out["labels"] = Tensor._wrap(labels)
        return out if is_dict else out["images"]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "seed": self.seed})
        return config


class MixUp(_BatchMix):
    """While training, ``w * x + (1 - w) * x[perm]`` with ``w ~ Beta(alpha, alpha)`` drawn per image and one
    random permutation ``perm`` of the batch; labels are mixed with the same ``w``.

    >>> import numpy as np, tapeflow as tf
    >>> x = np.stack([np.zeros((1, 1, 1)), np.ones((1, 1, 1))])
    >>> y = tf.keras.layers.MixUp(seed=3)(x).numpy().ravel()
    >>> bool(np.all((y >= 0) & (y <= 1)))
    True
    """

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        if not isinstance(alpha, (int, float, np.number)) or isinstance(alpha, bool) or not alpha > 0:
            raise ValueError(f"MixUp '{self.name}': `alpha` must be a positive number, got alpha={alpha!r}")
        self.alpha = alpha

    def _draw(self, images, g):
        n = images.shape[0]
        return g.permutation(n), None, g.beta(self.alpha, self.alpha, size=n).astype(images.dtype)

    def _mix(self, images, mix):
        if mix is None:
            return images
        perm, _, weight = mix
        w = weight.reshape(-1, 1, 1, 1)
        return w * images + (1 - w) * images[perm]

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class CutMix(_BatchMix):
    """While training, paste into each image a box cut from its partner ``x[perm]``: a mixing weight ``w`` is
    drawn per image from Beta(a, a) (``a`` drawn once per batch from ``factor``, in [0, 1]; a float f means
    (0, f)), the box has sides ``sqrt(1 - w)`` times the image's and a random position. Labels are mixed with
    the fraction of pixels each image keeps.

    >>> import numpy as np, tapeflow as tf
    >>> x = np.stack([np.zeros((8, 8, 1)), np.ones((8, 8, 1))])
    >>> out = tf.keras.layers.CutMix(seed=0)({"images": x, "labels": np.eye(2)})
    >>> kept = 1 - out["images"].numpy()[0].mean()
    >>> bool(np.isclose(out["labels"].numpy()[0, 0], kept))
    True
    """

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = keras_factor(self, factor, (0, 1))

    def _draw(self, images, g):
        n = images.shape[0]
        h, w = images.shape[2:4] if self.data_format == "channels_first" else images.shape[1:3]
        a = g.uniform(*self.factor) + 1e-6
        ratio = np.sqrt(1.0 - g.beta(a, a, size=n))
        boxes = []
        for length in (w, h):
            size = ratio * length
            start = g.uniform(0, 1, size=n) * (length - size)
            boxes.append((start, start + size))
        (x0, x1), (y0, y1) = boxes
        cols, rows = np.arange(w), np.arange(h)
        in_x = (cols >= x0[:, None]) & (cols < x1[:, None])
        in_y = (rows >= y0[:, None]) & (rows < y1[:, None])
        mask = in_y[:, :, None] & in_x[:, None, :]
        keep = 1.0 - mask.mean(axis=(1, 2))
        mask = mask[:, None] if self.data_format == "channels_first" else mask[..., None]
        return g.permutation(n), mask, keep.astype(images.dtype)

    def _mix(self, images, mix):
        if mix is None:
            return images
        perm, mask, _ = mix
        return np.where(mask, images[perm], images)

    def get_config(self):
        config = super().get_config()
        config["factor"] = list(self.factor)
        return config


class Equalization(_ColorAugment):
    """While training, equalize each channel's histogram: values fall into ``bins`` equal bins over
    ``value_range`` and are mapped through the cumulative count. As Keras 3, one histogram per channel is
    counted over the whole batch; a channel whose values fill at most one bin is left as it is.

    >>> import numpy as np, tapeflow as tf
    >>> x = np.array([[[[0.0], [10.0], [10.0], [200.0]]]])
    >>> tf.keras.layers.Equalization()(x).numpy().ravel().tolist()
    [0.0, 170.0, 170.0, 255.0]
    """

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range_of(self, value_range)
        if not isinstance(bins, (int, np.integer)) or isinstance(bins, bool) or bins < 2:
            raise ValueError(f"Equalization '{self.name}': `bins` must be an integer >= 2, got bins={bins!r}")
        self.bins = int(bins)

    def _images(self, x, training):
        if not training:
            return x
        v = x._value
        return Tensor._wrap(np.stack([self._channel(v[..., c]) for c in range(v.shape[-1])], axis=-1))

    def _channel(self, ch):
        dt, top = ch.dtype.type, self.bins - 1
        ch = to_range(ch, self.value_range, (0, 255))
        idx = np.clip((ch * dt(top) / dt(255)).astype(np.int64), 0, top)  # int cast truncates, as TF's
        hist = np.bincount(idx.ravel(), minlength=self.bins)
        if np.count_nonzero(hist) <= 1:
            out = ch
        else:
            cdf = np.cumsum(hist)
            cdf_min = cdf[np.nonzero(cdf)[0][0]]
            lut = np.clip(np.round((cdf - cdf_min) * 255 / max(cdf[-1] - cdf_min, 1)), 0, 255)
            out = lut[np.clip(ch / dt(255.0) * dt(top), 0, top).astype(np.int64)].astype(ch.dtype)
        return to_range(out, (0, 255), self.value_range)

    def get_config(self):
        config = super().get_config()
        del config["seed"]
        config.update({"bins": self.bins, "value_range": self.value_range})
        return config


def _gaussian_1d(size: int, sigma: float, dtype) -> np.ndarray:
    t = np.arange(size, dtype=dtype) - dtype.type((size - 1) / 2)
    k = np.exp(dtype.type(-0.5) * (t / dtype.type(sigma)) ** 2)
    return k / k.sum()


def gaussian_blur(x: np.ndarray, kernel_size, sigma) -> np.ndarray:
    """Per-channel Gaussian blur of NHWC ``x`` with zero ('same') padding; ``kernel_size`` and ``sigma`` are
    (width, height) pairs, as ``keras.ops.image.gaussian_blur``."""
    kw, kh = int(kernel_size[0]), int(kernel_size[1])
    wx, wy = _gaussian_1d(kw, sigma[0], x.dtype), _gaussian_1d(kh, sigma[1], x.dtype)
    h, w = x.shape[1:3]
    p = np.pad(x, ((0, 0), (kh // 2, kh - 1 - kh // 2), (0, 0), (0, 0)))
    rows = sum(wy[i] * p[:, i:i + h] for i in range(kh))
    p = np.pad(rows, ((0, 0), (0, 0), (kw // 2, kw - 1 - kw // 2), (0, 0)))
    return sum(wx[j] * p[:, :, j:j + w] for j in range(kw)).astype(x.dtype)


class RandomGaussianBlur(_ColorAugment):
    """While training, blur each image with probability drawn per image from ``factor`` (a float f means
    (0, f); (1, 1) blurs every image) by a ``kernel_size`` Gaussian whose (x, y) sigmas are drawn once per
    batch from ``sigma`` (in [0, 1]; a float s means (0, s)); then clip to ``value_range``.

    >>> import numpy as np, tapeflow as tf
    >>> x = np.zeros((1, 1, 3, 1)); x[0, 0, 1, 0] = 100.0
    >>> blur = tf.keras.layers.RandomGaussianBlur((1.0, 1.0), kernel_size=3, sigma=(1.0, 1.0))
    >>> blur(x).numpy().astype(float).round(2).ravel().tolist()
    [12.38, 20.42, 12.38]
    """

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255), data_format=None, seed=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(self, factor, (0, 1))
        sizes = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
        if len(sizes) != 2 or not all(isinstance(k, (int, np.integer)) and k > 0 and k % 2 == 1 for k in sizes):
            raise ValueError(f"RandomGaussianBlur '{self.name}': `kernel_size` must be an odd positive integer or a "
                             f"pair of them, got kernel_size={kernel_size!r}")
        self.kernel_size = tuple(int(k) for k in sizes)
        self.sigma = keras_factor(self, sigma, (0, 1), "sigma")
        self.value_range = value_range_of(self, value_range, sort=False)

    def _augment(self, x, g):
        n = x.shape[0]
        prob = g.uniform(*self.factor, size=n)
        apply = (g.uniform(0, 1, size=n) < prob).reshape(-1, 1, 1, 1)
        sigma = g.uniform(*self.sigma, size=2) + 1e-6
        blurred = gaussian_blur(x, self.kernel_size, sigma) if apply.any() else x
        return np.clip(np.where(apply, blurred, x), *self.value_range)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": list(self.factor), "kernel_size": list(self.kernel_size),
                       "sigma": list(self.sigma), "value_range": self.value_range})
        return config
