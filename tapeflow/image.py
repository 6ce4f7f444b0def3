"""``tf.image``: image ops for preprocessing and augmentation.

Every op takes a single image ``(height, width, channels)`` or a batch ``(batch, height, width,
channels)`` (Tensors or NumPy) and returns a Tensor. On a batch the random ops draw one decision
*per image* in a single vectorized step, so ``ds.batch(64).map(augment)`` augments like
``ds.map(augment).batch(64)`` at a fraction of the cost. (TF's ``random_crop``,
``random_brightness`` and ``random_contrast`` draw once for the whole tensor; we draw per image.)

Random ops draw from ``tapeflow.backend.rng`` (repeatable after ``tf.random.set_seed``); inside
``Dataset.map`` they draw from the map's per-chunk generator, which keeps results independent
of thread scheduling. ``resize`` is composed of differentiable tapeflow ops; the augmentation
ops are NumPy and carry no gradient.
"""
from __future__ import annotations

import numpy as np

from . import backend as B
from .autodiff.tensor import Tensor, convert_to_tensor
from .data._seeding import element_rng


class ResizeMethod:
    """Names accepted by ``resize(method=...)``."""

    BILINEAR = "bilinear"
    NEAREST_NEIGHBOR = "nearest"
    AREA = "area"
    BICUBIC = "bicubic"
    LANCZOS3 = "lanczos3"
    LANCZOS5 = "lanczos5"
    GAUSSIAN = "gaussian"
    MITCHELLCUBIC = "mitchellcubic"


# -- helpers ----------------------------------------------------------------------------------------
def _array(image) -> np.ndarray:
    if isinstance(image, Tensor):
        return image._value
    if isinstance(image, np.ndarray):
        return image
    return convert_to_tensor(image)._value


def _image(image, what: str) -> np.ndarray:
    x = _array(image)
    if x.ndim not in (3, 4):
        hint = (" (a grayscale image needs a channel axis: x[..., None] or tf.expand_dims(x, -1))"
                if x.ndim == 2 else "")
        raise ValueError(f"{what}: 'image' must be 3-D (height, width, channels) or 4-D (batch, height, "
                         f"width, channels), got shape {x.shape}{hint}")
    return x


def _out(x: np.ndarray) -> Tensor:
    return Tensor._wrap(np.ascontiguousarray(x))


def _per_image(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Shape per-image values to broadcast against ``x`` (scalar for one image)."""
    return values.reshape((-1, 1, 1, 1)) if x.ndim == 4 else values.reshape(())


def _draw_uniform(x: np.ndarray, low: float, high: float, seed) -> np.ndarray:
    n = x.shape[0] if x.ndim == 4 else 1
    return element_rng(seed).uniform(low, high, size=n)


def _stateless_gen(seed) -> np.random.Generator:
    s = np.asarray(seed.numpy() if hasattr(seed, "numpy") else seed).reshape(-1)
    if s.size != 2:
        raise ValueError(f"stateless random op: seed must have shape [2], got {s.size} values")
    return np.random.default_rng([int(v) & 0xFFFFFFFF for v in s])


def _dtype_max(dtype: np.dtype) -> float:
    return float(np.iinfo(dtype).max) if dtype.kind in "iu" else 1.0


# -- flips and rotations ----------------------------------------------------------------------------
def flip_left_right(image) -> Tensor:
    """Mirror horizontally.

    >>> import numpy as np, tapeflow as tf
    >>> tf.image.flip_left_right(np.arange(3).reshape(1, 3, 1))[..., 0].numpy().tolist()
    [[2, 1, 0]]
    """
    return _out(np.flip(_image(image, "flip_left_right"), axis=-2))


def flip_up_down(image) -> Tensor:
    """Mirror vertically.

    >>> import numpy as np, tapeflow as tf
    >>> tf.image.flip_up_down(np.arange(3).reshape(3, 1, 1))[..., 0, 0].numpy().tolist()
    [2, 1, 0]
    """
    return _out(np.flip(_image(image, "flip_up_down"), axis=-3))


def _random_flip(image, axis: int, seed, what: str, gen=None) -> Tensor:
    x = _image(image, what)
    g = gen if gen is not None else element_rng(seed)
    if x.ndim == 3:
        return _out(np.flip(x, axis=axis)) if g.random() < 0.5 else Tensor._wrap(x)
    flip = g.random(x.shape[0]) < 0.5
    return _out(np.where(flip.reshape(-1, 1, 1, 1), np.flip(x, axis=axis), x))


def random_flip_left_right(image, seed=None) -> Tensor:
    """Mirror horizontally with probability 1/2 (per image in a batch).

    >>> import numpy as np, tapeflow as tf
    >>> tf.random.set_seed(0)
    >>> tf.image.random_flip_left_right(np.zeros((8, 4, 4, 3))).shape.as_list()
    [8, 4, 4, 3]
    """
    return _random_flip(image, -2, seed, "random_flip_left_right")


def random_flip_up_down(image, seed=None) -> Tensor:
    """Mirror vertically with probability 1/2 (per image in a batch)."""
    return _random_flip(image, -3, seed, "random_flip_up_down")


def stateless_random_flip_left_right(image, seed) -> Tensor:
    """As ``random_flip_left_right``, fully determined by ``seed`` (shape [2])."""
    return _random_flip(image, -2, None, "stateless_random_flip_left_right", _stateless_gen(seed))


def stateless_random_flip_up_down(image, seed) -> Tensor:
    """As ``random_flip_up_down``, fully determined by ``seed`` (shape [2])."""
    return _random_flip(image, -3, None, "stateless_random_flip_up_down", _stateless_gen(seed))


def rot90(image, k: int = 1) -> Tensor:
    """Rotate counter-clockwise by ``k`` quarter turns.

    >>> import numpy as np, tapeflow as tf
    >>> tf.image.rot90(np.array([[1, 2], [3, 4]]).reshape(2, 2, 1))[..., 0].numpy().tolist()
    [[2, 4], [1, 3]]
    """
    x = _image(image, "rot90")
    return _out(np.rot90(x, int(k), axes=(x.ndim - 3, x.ndim - 2)))


def transpose(image) -> Tensor:
    """Swap height and width."""
    x = _image(image, "transpose")
    return _out(np.swapaxes(x, -3, -2))


# -- crops and pads ---------------------------------------------------------------------------------
def crop_to_bounding_box(image, offset_height, offset_width, target_height, target_width) -> Tensor:
    """The box with top-left corner ``(offset_height, offset_width)`` and the target size."""
    x = _image(image, "crop_to_bounding_box")
    oh, ow, th, tw = (int(v) for v in (offset_height, offset_width, target_height, target_width))
    h, w = x.shape[-3], x.shape[-2]
    if oh < 0 or ow < 0 or th <= 0 or tw <= 0 or oh + th > h or ow + tw > w:
        raise ValueError(f"crop_to_bounding_box: the box (offset {oh}, {ow}, size {th}x{tw}) does not fit in "
                         f"an image of height {h} and width {w}")
    return _out(x[..., oh:oh + th, ow:ow + tw, :])


def pad_to_bounding_box(image, offset_height, offset_width, target_height, target_width) -> Tensor:
    """Zero-pad to the target size, placing the image at the offset."""
    x = _image(image, "pad_to_bounding_box")
    oh, ow, th, tw = (int(v) for v in (offset_height, offset_width, target_height, target_width))
    h, w = x.shape[-3], x.shape[-2]
    if oh < 0 or ow < 0 or oh + h > th or ow + w > tw:
        raise ValueError(f"pad_to_bounding_box: an image of height {h} and width {w} at offset ({oh}, {ow}) "
                         f"does not fit in {th}x{tw}")
    pads = [(0, 0)] * (x.ndim - 3) + [(oh, th - oh - h), (ow, tw - ow - w), (0, 0)]
    return _out(np.pad(x, pads))


def resize_with_crop_or_pad(image, target_height, target_width) -> Tensor:
    """Center-crop or zero-pad (each axis independently) to the target size."""
    x = _image(image, "resize_with_crop_or_pad")
    th, tw = int(target_height), int(target_width)
    h, w = x.shape[-3], x.shape[-2]
    ch, cw = max((h - th) // 2, 0), max((w - tw) // 2, 0)
    x = x[..., ch:ch + min(th, h), cw:cw + min(tw, w), :]
    ph, pw = max((th - h) // 2, 0), max((tw - w) // 2, 0)
    return pad_to_bounding_box(x, ph, pw, th, tw)


def central_crop(image, central_fraction: float) -> Tensor:
    """Keep the central ``central_fraction`` of height and width (TF's rounding).

    >>> import numpy as np, tapeflow as tf
    >>> tf.image.central_crop(np.zeros((10, 8, 3)), 0.5).shape.as_list()
    [6, 4, 3]
    """
    x = _image(image, "central_crop")
    f = float(central_fraction)
    if not 0.0 < f <= 1.0:
        raise ValueError(f"central_crop: central_fraction must be within (0, 1], got {f}")
    if f == 1.0:
        return Tensor._wrap(x)
    h, w = x.shape[-3], x.shape[-2]
    sh, sw = int((h - h * f) / 2), int((w - w * f) / 2)
    return _out(x[..., sh:h - sh, sw:w - sw, :])


def _random_crop(x: np.ndarray, size, g: np.random.Generator, what: str) -> Tensor:
    size = [int(s) for s in (size.numpy() if hasattr(size, "numpy") else size)]
    if len(size) != x.ndim:
        raise ValueError(f"{what}: size must have one entry per dimension of value (rank {x.ndim}), got {size}")
    if any(s > d or s <= 0 for s, d in zip(size, x.shape)):
        raise ValueError(f"{what}: size {size} must be positive and fit in the value's shape {x.shape}")
    if x.ndim == 4 and size[0] == x.shape[0]:  # a batch: one offset per image
        n = x.shape[0]
        offs = [g.integers(0, d - s + 1, size=n) for s, d in zip(size[1:], x.shape[1:])]
        idx = [(o[:, None] + np.arange(s)[None, :]) for o, s in zip(offs, size[1:])]
        return _out(x[np.arange(n)[:, None, None, None], idx[0][:, :, None, None],
                      idx[1][:, None, :, None], idx[2][:, None, None, :]])
    offsets = [int(g.integers(0, d - s + 1)) for s, d in zip(size, x.shape)]
    return _out(x[tuple(slice(o, o + s) for o, s in zip(offsets, size))])


def random_crop(value, size, seed=None) -> Tensor:
    """A random ``size`` window of ``value`` (``size`` lists every dimension).

    For a 4-D batch with ``size[0] == batch`` each image gets its own offset.

    >>> import numpy as np, tapeflow as tf
    >>> tf.random.set_seed(1)
    >>> tf.image.random_crop(np.zeros((4, 32, 32, 3)), (4, 24, 24, 3)).shape.as_list()
    [4, 24, 24, 3]
    """
    return _random_crop(_array(value), size, element_rng(seed), "random_crop")


def stateless_random_crop(value, size, seed) -> Tensor:
    """As ``random_crop``, fully determined by ``seed`` (shape [2])."""
    return _random_crop(_array(value), size, _stateless_gen(seed), "stateless_random_crop")


# -- dtype ------------------------------------------------------------------------------------------
def convert_image_dtype(image, dtype, saturate: bool = False) -> Tensor:
    """Convert and rescale: integer images span [0, MAX], float images [0, 1].

    >>> import numpy as np, tapeflow as tf
    >>> tf.image.convert_image_dtype(np.array([0, 255], np.uint8), tf.float32).numpy().tolist()
    [0.0, 1.0]
    """
    x = _array(image)
    dtype = B.as_dtype(dtype)
    src = x.dtype
    if src == dtype:
        return Tensor._wrap(x)
    if src.kind in "iu" and dtype.kind in "iu":
        smax, dmax = int(np.iinfo(src).max), int(np.iinfo(dtype).max)
        if smax > dmax:
            scale = (smax + 1) // (dmax + 1)
            return _out((x // scale).astype(dtype))
        scale = (dmax + 1) // (smax + 1)
        return _out(x.astype(dtype) * np.asarray(scale, dtype))
    if src.kind in "iu":  # int -> float
        return _out(x.astype(dtype) * np.asarray(1.0 / _dtype_max(src), dtype))
    if dtype.kind in "iu":  # float -> int
        scaled = x * (_dtype_max(dtype) + 0.5)
        if saturate:
            info = np.iinfo(dtype)
            scaled = np.clip(scaled, info.min, info.max)
        return _out(scaled.astype(dtype))
    return _out(x.astype(dtype))


def _as_float(x: np.ndarray) -> np.ndarray:
    return x if x.dtype.kind == "f" else convert_image_dtype(x, "float32")._value


def _back(y: np.ndarray, dtype: np.dtype) -> Tensor:
    return Tensor._wrap(y) if y.dtype == dtype else convert_image_dtype(y, dtype, saturate=True)


# -- photometric ------------------------------------------------------------------------------------
def adjust_brightness(image, delta) -> Tensor:
    """Add ``delta`` (in the [0, 1] float scale; integer images are converted and back).

    >>> import numpy as np, tapeflow as tf
    >>> tf.image.adjust_brightness(np.full((1, 1, 1), 0.25, np.float32), 0.5).numpy().ravel().tolist()
    [0.75]
    """
    x = _image(image, "adjust_brightness")
    xf = _as_float(x)
    d = np.asarray(delta.numpy() if hasattr(delta, "numpy") else delta, dtype=xf.dtype)
    return _back(xf + d, x.dtype)


def adjust_contrast(images, contrast_factor) -> Tensor:
    """Per image and channel: ``(x - mean) * contrast_factor + mean`` (mean over height and width).

    >>> import numpy as np, tapeflow as tf
    >>> tf.image.adjust_contrast(np.array([0., 1.], np.float32).reshape(1, 2, 1), 2.0).numpy().ravel().tolist()
    [-0.5, 1.5]
    """
    x = _image(images, "adjust_contrast")
    xf = _as_float(x)
    f = np.asarray(contrast_factor.numpy() if hasattr(contrast_factor, "numpy") else contrast_factor,
                   dtype=xf.dtype)
    mean = xf.mean(axis=(-3, -2), keepdims=True, dtype=np.float64).astype(xf.dtype)
    return _back((xf - mean) * f + mean, x.dtype)


def random_brightness(image, max_delta, seed=None) -> Tensor:
    """``adjust_brightness`` by a delta uniform in [-max_delta, max_delta) (per image in a batch)."""
    if max_delta < 0:
        raise ValueError(f"random_brightness: max_delta must be non-negative, got {max_delta}")
    x = _image(image, "random_brightness")
    delta = _draw_uniform(x, -max_delta, max_delta, seed)
    return adjust_brightness(x, _per_image(x, delta))


def random_contrast(image, lower, upper, seed=None) -> Tensor:
    """``adjust_contrast`` by a factor uniform in [lower, upper) (per image in a batch)."""
    if not 0 <= lower < upper:
        raise ValueError(f"random_contrast: need 0 <= lower < upper, got lower={lower}, upper={upper}")
    x = _image(image, "random_contrast")
    factor = _draw_uniform(x, lower, upper, seed)
    return adjust_contrast(x, _per_image(x, factor))


def stateless_random_brightness(image, max_delta, seed) -> Tensor:
    """As ``random_brightness``, fully determined by ``seed`` (shape [2])."""
    x = _image(image, "stateless_random_brightness")
    delta = _stateless_gen(seed).uniform(-max_delta, max_delta, size=x.shape[0] if x.ndim == 4 else 1)
    return adjust_brightness(x, _per_image(x, delta))


def stateless_random_contrast(image, lower, upper, seed) -> Tensor:
    """As ``random_contrast``, fully determined by ``seed`` (shape [2])."""
    x = _image(image, "stateless_random_contrast")
    factor = _stateless_gen(seed).uniform(lower, upper, size=x.shape[0] if x.ndim == 4 else 1)
    return adjust_contrast(x, _per_image(x, factor))


def per_image_standardization(image) -> Tensor:
    """Scale each image to mean 0 and variance 1: ``(x - mean) / max(std, 1/sqrt(N))``, float32.

    >>> import numpy as np, tapeflow as tf
    >>> y = tf.image.per_image_standardization(np.arange(12.).reshape(2, 2, 3))
    >>> round(float(y.numpy().mean()), 6), round(float(y.numpy().std()), 4)
    (0.0, 1.0)
    """
    x = _image(image, "per_image_standardization")
    xf = x.astype(np.float32) if x.dtype != np.float32 else x
    n = int(np.prod(x.shape[-3:]))
    mean = xf.mean(axis=(-3, -2, -1), keepdims=True)
    std = xf.std(axis=(-3, -2, -1), keepdims=True)
    return _out((xf - mean) / np.maximum(std, np.float32(1.0 / np.sqrt(n))))


def rgb_to_grayscale(images) -> Tensor:
    """Luma with weights (0.2989, 0.5870, 0.1140); the channel axis is kept with size 1."""
    x = _array(images)
    if x.shape[-1] != 3:
        raise ValueError(f"rgb_to_grayscale: expected 3 channels in the last axis, got shape {x.shape}")
    xf = _as_float(x)
    gray = np.tensordot(xf, np.array([0.2989, 0.5870, 0.1140], xf.dtype), axes=([-1], [0]))[..., None]
    return _back(gray.astype(xf.dtype), x.dtype)


def grayscale_to_rgb(images) -> Tensor:
    """Repeat a single channel three times."""
    x = _array(images)
    if x.shape[-1] != 1:
        raise ValueError(f"grayscale_to_rgb: expected 1 channel in the last axis, got shape {x.shape}")
    return _out(np.repeat(x, 3, axis=-1))


# -- resize -----------------------------------------------------------------------------------------
def resize(images, size, method: str = "bilinear", preserve_aspect_ratio: bool = False,
           antialias: bool = False, name=None) -> Tensor:
    """Resize to ``size = (height, width)``, as TF2 (half-pixel centers; the weights of ``image_resize``).

    ``method``: ``bilinear`` (default), ``nearest``, ``bicubic``, ``area``, ``lanczos3``, ``lanczos5``,
    ``gaussian`` or ``mitchellcubic``; ``antialias`` widens the kernel when shrinking (all but ``nearest`` and
    ``area``). Output is float32 except for ``nearest``, which keeps the dtype. Differentiable in ``images``.

    >>> import numpy as np, tapeflow as tf
    >>> img = np.eye(5, dtype=np.float32)[None, :, :, None]
    >>> [round(float(v), 4) for v in tf.image.resize(img, [3, 5])[0, 0, :, 0].numpy()]
    [0.6667, 0.3333, 0.0, 0.0, 0.0]
    """
    from . import ops  # noqa: F401 - installs Tensor operators
    from .image_resize import METHODS, resize_images
    from .ops.array_ops import cast, expand_dims, squeeze

    x = images if isinstance(images, Tensor) else convert_to_tensor(_array(images))
    if x.ndim not in (3, 4):
        _image(x, "resize")
    size = [int(s) for s in (size.numpy() if hasattr(size, "numpy") else size)]
    if len(size) != 2 or min(size) <= 0:
        raise ValueError(f"resize: size must be two positive integers (height, width), got {size}")
    method = str(method).lower()
    method = "nearest" if method == "nearest_neighbor" else method
    if method not in METHODS:
        raise ValueError(f"resize: method {method!r} is not supported; use one of {METHODS}")
    h, w = x.shape[-3], x.shape[-2]
    th, tw = size
    if preserve_aspect_ratio:   # TF's float32 arithmetic, rounded half to even
        scale = min(np.float32(th) / np.float32(h), np.float32(tw) / np.float32(w))
        th, tw = max(1, int(np.round(scale * np.float32(h)))), max(1, int(np.round(scale * np.float32(w))))
    single = x.ndim == 3
    t = x if method == "nearest" or x._value.dtype == np.float32 else cast(x, "float32")
    t = resize_images(expand_dims(t, 0) if single else t, (th, tw), method, bool(antialias))
    return squeeze(t, 0) if single else t


__all__ = [n for n in dir() if not n.startswith("_") and n not in ("annotations", "np", "B", "Tensor",
                                                                   "convert_to_tensor", "element_rng")]


_CODECS = ("decode_bmp", "decode_gif", "decode_image", "decode_jpeg", "decode_png", "encode_png")


def __getattr__(name):
    """``image_extra.py`` (HSV/YIQ/YUV, SSIM, patches, crops, NMS) and the ``io_image.py`` codecs, on first use."""
    if name in _CODECS:
        from . import io_image
        return getattr(io_image, name)
    from . import image_extra
    if name in image_extra.__all__:
        return getattr(image_extra, name)
    raise AttributeError(f"module 'tapeflow.image' has no attribute {name!r}")
