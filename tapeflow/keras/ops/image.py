"""``keras.ops.image``: resize, crop/pad, patches and colour conversions (Keras 3 semantics).

``resize`` (every Keras interpolation, antialias, crop/pad to aspect ratio; the weights of
``tapeflow.image_resize``), ``crop_images``, ``pad_images`` and ``extract_patches`` are differentiable
compositions; ``rgb_to_grayscale`` is linear and differentiable; ``rgb_to_hsv`` and ``hsv_to_rgb`` return
NumPy results (no gradient). The warps (``affine_transform``, ``perspective_transform``,
``map_coordinates``, ``elastic_transform``, ``scale_and_translate``), filters (``gaussian_blur``, ``sobel_edges``),
``ssim`` and ``extract_patches_3d`` live in ``image_more`` and are re-exported here.

>>> from tapeflow import keras
>>> img = keras.ops.reshape(keras.ops.arange(4.0), (2, 2, 1))
>>> keras.ops.image.resize(img, (4, 4))[..., 0].numpy().tolist()[0]
[0.0, 0.25, 0.75, 1.0]
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor
from ...ops import array_ops as A
from ...ops import conv_ops as C
from ...ops import math_ops as M
from .numpy import _float, _t

__all__ = ["affine_transform", "crop_images", "elastic_transform", "extract_patches", "extract_patches_3d",
           "gaussian_blur", "hsv_to_rgb", "map_coordinates", "pad_images", "perspective_transform", "resize",
           "rgb_to_grayscale", "rgb_to_hsv", "scale_and_translate", "sobel_edges", "ssim"]


def _cf(data_format):
    from ...keras import backend as KB
    return (data_format or KB.image_data_format()) == "channels_first"


def _rank34(x: Tensor, op: str) -> None:
    if x._value.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a rank-3 image or a rank-4 batch of images, got shape {x._value.shape}")


def _hw_axes(x: Tensor, cf: bool):
    nd = x._value.ndim
    return (nd - 2, nd - 1) if cf else (nd - 3, nd - 2)


def _keys_cubic(x: np.ndarray) -> np.ndarray:
    out = ((1.5 * x - 2.5) * x) * x + 1.0
    out = np.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
    return np.where(x >= 2.0, 0.0, out)


def _lanczos(radius: float, x: np.ndarray) -> np.ndarray:
    y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius)
    out = np.where(x > 1e-3, y / np.where(x != 0, np.pi ** 2 * x ** 2, 1.0), 1.0)
    return np.where(x > radius, 0.0, out)


_KERNELS = {"linear": lambda x: np.maximum(0.0, 1.0 - x), "cubic": _keys_cubic,
            "lanczos3": lambda x: _lanczos(3.0, x), "lanczos5": lambda x: _lanczos(5.0, x)}


def _scale_weights(n_in: int, n_out: int, scale: float, translation: float, kernel: str = "linear",
                   antialias: bool = False) -> np.ndarray:
    """(n_in, n_out) resampling weights of Keras/JAX ``scale_and_translate`` (half-pixel centres): output j reads
    input position (j + 0.5 - translation) / scale - 0.5; normalized per output, zero where that falls outside."""
    inv = 1.0 / scale
    f = (np.arange(n_out) + 0.5) * inv - translation * inv - 0.5
    widen = max(inv, 1.0) if antialias else 1.0
    w = _KERNELS[kernel](np.abs(f[None, :] - np.arange(n_in)[:, None]) / widen)
    s = w.sum(axis=0, keepdims=True)
    w = np.where(np.abs(s) > 1000.0 * np.finfo(np.float32).eps, w / np.where(s != 0, s, 1), 0.0)
    return np.where(((f >= -0.5) & (f <= n_in - 0.5))[None, :], w, 0.0)


def _apply_axis(x: Tensor, axis: int, w: np.ndarray) -> Tensor:
    nd = x._value.ndim
    perm = [a for a in range(nd) if a != axis] + [axis]
    y = M.matmul(A.transpose(x, perm), Tensor._wrap(w.astype(x._value.dtype)))
    return A.transpose(y, list(np.argsort(perm)))


_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic", "area")


def _size_pair(size) -> tuple:
    if hasattr(size, "numpy"):
        size = size.numpy()
    if np.ndim(size) != 1 or len(size) != 2:
        raise ValueError(f"resize: `size` must be (height, width), a tuple of 2 integers, got size={size!r}")
    if min(size) <= 0:
        raise ValueError(f"resize: `size` must have positive height and width, got size={tuple(size)!r}")
    return int(size[0]), int(size[1])


def _crop_to_aspect(x: Tensor, th: int, tw: int) -> Tensor:
    """The largest centred window of NHWC ``x`` with the aspect ratio th:tw (Keras's float32 arithmetic)."""
    f = np.float32
    h, w = x._value.shape[1:3]
    ch = max(min(h, int(f(w * th) / f(tw))), 1)
    cw = max(min(w, int(f(h * tw) / f(th))), 1)
    top, left = int(f(h - ch) / f(2)), int(f(w - cw) / f(2))
    return A.getitem(x, (slice(None), slice(top, top + ch), slice(left, left + cw)))


def _fill_constant(fill_value, dtype: np.dtype):
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if not (float(fill_value).is_integer() and info.min <= fill_value <= info.max):
            raise ValueError(f"resize: `fill_value` must be a whole number in [{info.min}, {info.max}] to pad "
                             f"{dtype.name} images, got fill_value={fill_value!r}; pass such a value or cast the "
                             "images to float first")
        return int(fill_value)
    return np.asarray(fill_value, dtype=dtype)[()]


def _pad_to_aspect(x: Tensor, th: int, tw: int, fill_value) -> Tensor:
    """Pad NHWC ``x`` evenly on its short side towards the aspect ratio th:tw (Keras: the same margin, rounded
    down, on both sides)."""
    f = np.float32
    h, w = x._value.shape[1:3]
    top = int(f(max(h, int(f(w * th) / f(tw))) - h) / f(2))
    left = int(f(max(w, int(f(h * tw) / f(th))) - w) / f(2))
    if top == 0 and left == 0:
        return x
    return A.pad(x, [[0, 0], [top, top], [left, left], [0, 0]],
                 constant_values=_fill_constant(fill_value, x._value.dtype))


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    """Resize images to ``size`` = (height, width) as Keras 3 on TensorFlow (``tf.image.resize``, half-pixel
    centres): ``interpolation`` "bilinear", "nearest", "bicubic" (Keys, a = -0.5), "lanczos3", "lanczos5" or
    "area"; ``antialias`` widens the kernel when shrinking (bilinear, bicubic, lanczos). ``crop_to_aspect_ratio``
    first takes the largest centred window of the target aspect ratio; ``pad_to_aspect_ratio`` first pads the
    short side with ``fill_value`` (``fill_mode`` must be "constant"). The result has the input's dtype
    (integers rounded half to even and clipped to their range). Differentiable in float ``images``: the
    transposed resampling, as TF's gradients; "area" too, though TF registers no gradient for ResizeArea.

    >>> import numpy as np
    >>> from tapeflow import keras
    >>> x = np.arange(16.0, dtype="float32").reshape(4, 4, 1)
    >>> keras.ops.image.resize(x, (2, 2), interpolation="area")[..., 0].numpy().tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    >>> keras.ops.image.resize(x, (2, 4), pad_to_aspect_ratio=True, fill_value=-1.0).shape
    TensorShape([2, 4, 1])
    """
    from ...image_resize import resize_images
    from ..backend import standardize_data_format
    size = _size_pair(size)
    x = _t(images)
    _rank34(x, "resize")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"resize: `interpolation` must be one of {_INTERPOLATIONS}, got "
                         f"interpolation={interpolation!r}")
    if fill_mode != "constant":
        raise ValueError(f"resize: only fill_mode='constant' is supported (as Keras), got fill_mode={fill_mode!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("resize: only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be True; "
                         "pick one")
    dtype = x._value.dtype
    if dtype.kind in "bcmMOSU":   # bool, complex, dates, objects, strings (bfloat16 is kind "V": allowed)
        raise TypeError(f"resize: `images` must be real numbers (integers or floats), got dtype {dtype.name}; "
                        "cast them first")
    cf = standardize_data_format(data_format) == "channels_first"
    single = x._value.ndim == 3
    if single:
        x = A.expand_dims(x, 0)
    if cf:
        x = A.transpose(x, (0, 2, 3, 1))
    if crop_to_aspect_ratio:
        x = _crop_to_aspect(x, *size)
    elif pad_to_aspect_ratio:
        x = _pad_to_aspect(x, *size, fill_value)
    if interpolation == "nearest" or dtype in (np.float32, np.float64):
        y = resize_images(x, size, interpolation, bool(antialias))
    else:   # TF resamples in float32; Keras casts back (integers: rounded, saturated)
        y = resize_images(A.cast(x, np.float32), size, interpolation, bool(antialias))
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            y = Tensor._wrap(np.clip(np.round(y._value.astype(np.float64)), info.min, info.max).astype(dtype))
        else:
            y = A.cast(y, dtype)
    if cf:
        y = A.transpose(y, (0, 3, 1, 2))
    return A.squeeze(y, 0) if single else y


def _three(a, b, target, full, what):
    given = [v is not None for v in (a, b, target)]
    if sum(given) != 2:
        raise ValueError(f"crop_images: exactly two of {what} must be set, got {(a, b, target)}")
    if a is None:
        a = full - target - b
    if b is None:
        b = full - target - a
    if target is None:
        target = full - a - b
    return int(a), int(b), int(target)


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None, right_cropping=None,
                target_height=None, target_width=None, data_format=None):
    """Crop to a box given by two of (top, bottom, target_height) and two of (left, right, target_width)."""
    x = _t(images)
    _rank34(x, "crop_images")
    ha, wa = _hw_axes(x, _cf(data_format))
    h, w = x._value.shape[ha], x._value.shape[wa]
    top, _, th = _three(top_cropping, bottom_cropping, target_height, h,
                        "top_cropping, bottom_cropping, target_height")
    left, _, tw = _three(left_cropping, right_cropping, target_width, w,
                         "left_cropping, right_cropping, target_width")
    if min(top, left, th, tw) < 0 or top + th > h or left + tw > w:
        raise ValueError(f"crop_images: the box top={top}, left={left}, {th}x{tw} does not fit an image of "
                         f"{h}x{w}")
    key = [slice(None)] * x._value.ndim
    key[ha], key[wa] = slice(top, top + th), slice(left, left + tw)
    return A.getitem(x, tuple(key))


def _pads(a, b, target, full, what):
    if sum(v is not None for v in (a, b, target)) != 2:
        raise ValueError(f"pad_images: exactly two of {what} must be set, got {(a, b, target)}")
    if a is None:
        a = target - full - b
    if b is None:
        b = target - full - a
    return int(a), int(b)


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None, right_padding=None,
               target_height=None, target_width=None, data_format=None):
    """Zero-pad to a size given by two of (top, bottom, target_height) and two of (left, right, target_width)."""
    x = _t(images)
    _rank34(x, "pad_images")
    ha, wa = _hw_axes(x, _cf(data_format))
    h, w = x._value.shape[ha], x._value.shape[wa]
    top, bottom = _pads(top_padding, bottom_padding, target_height, h, "top_padding, bottom_padding, target_height")
    left, right = _pads(left_padding, right_padding, target_width, w, "left_padding, right_padding, target_width")
    if min(top, bottom, left, right) < 0:
        raise ValueError(f"pad_images: paddings must be >= 0, got top={top}, bottom={bottom}, left={left}, "
                         f"right={right}")
    pads = [[0, 0]] * x._value.ndim
    pads[ha], pads[wa] = [top, bottom], [left, right]
    return A.pad(x, pads)


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Patches of ``size`` as channels (patch row, column, channel order, as ``tf.image.extract_patches``):
    (B, H, W, C) -> (B, out_h, out_w, kh*kw*C); strides default to ``size``. A 3-D ``size`` extracts volume
    patches (``extract_patches_3d``). Differentiable."""
    if not isinstance(size, int) and len(size) == 3:
        return extract_patches_3d(images, size, strides, dilation_rate, padding, data_format)
    x = _float(images)
    _rank34(x, "extract_patches")
    if isinstance(size, int):
        size = (size, size)
    if len(size) != 2:
        raise ValueError(f"extract_patches: `size` must be an int, (height, width) or (depth, height, width), got "
                         f"size={size!r}")
    strides = size if strides is None else strides
    cf = _cf(data_format)
    single = x._value.ndim == 3
    if single:
        x = A.expand_dims(x, 0)
    c = x._value.shape[1 if cf else 3]
    kh, kw = size
    kernel = np.eye(kh * kw * c, dtype=x._value.dtype).reshape(kh, kw, c, kh * kw * c)
    y = C.conv2d(x, Tensor._wrap(kernel), strides, padding.upper(), data_format="NCHW" if cf else "NHWC",
                 dilations=dilation_rate)
    return A.squeeze(y, 0) if single else y


def rgb_to_grayscale(images, data_format=None):
    """0.2989 R + 0.5870 G + 0.1140 B, keeping a channel axis of 1 (as ``tf.image.rgb_to_grayscale``)."""
    x = _t(images)
    _rank34(x, "rgb_to_grayscale")
    axis = x._value.ndim - 3 if _cf(data_format) else x._value.ndim - 1
    c = x._value.shape[axis]
    if c == 1:
        return x
    if c != 3:
        raise ValueError(f"rgb_to_grayscale: expected 1 or 3 channels, got shape {x._value.shape}")
    dtype = x._value.dtype
    xf = _float(x)
    shape = [1] * xf._value.ndim
    shape[axis] = 3
    wts = Tensor._wrap(np.array([0.2989, 0.5870, 0.1140], xf._value.dtype).reshape(shape))
    from ...ops import reduce_ops as R
    out = R.reduce_sum(M.multiply(xf, wts), axis=axis, keepdims=True)
    return out if dtype.kind == "f" else A.cast(out, dtype)


def _planes(x: np.ndarray, axis: int):
    return [np.take(x, i, axis=axis) for i in range(3)]


def rgb_to_hsv(images, data_format=None):
    """RGB in [0, 1] to HSV in [0, 1] (dm_pix's formulas, as Keras); not differentiable."""
    x = _float(images)
    _rank34(x, "rgb_to_hsv")
    axis = x._value.ndim - 3 if _cf(data_format) else x._value.ndim - 1
    v = x._value
    v = np.where(np.abs(v) < np.finfo(v.dtype).eps, 0.0, v)
    r, g, b = _planes(v, axis)
    value = np.maximum(np.maximum(r, g), b)
    rng = value - np.minimum(np.minimum(r, g), b)
    sat = np.where(value > 0, rng / np.where(value > 0, value, 1.0), 0.0)
    norm = 1.0 / (6.0 * np.where(rng > 0, rng, 1.0))
    hue = np.where(value == g, norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
    hue = np.where(value == r, norm * (g - b), hue)
    hue = np.where(rng > 0, hue, 0.0) + (hue < 0.0)
    return Tensor._wrap(np.stack([hue, sat, value], axis=axis).astype(x._value.dtype))


def hsv_to_rgb(images, data_format=None):
    """HSV in [0, 1] to RGB (dm_pix's formulas, as Keras); not differentiable."""
    x = _float(images)
    _rank34(x, "hsv_to_rgb")
    axis = x._value.ndim - 3 if _cf(data_format) else x._value.ndim - 1
    h, s, v = _planes(x._value, axis)
    dh = np.mod(h, 1.0) * 6.0
    dr = np.clip(np.abs(dh - 3.0) - 1.0, 0.0, 1.0)
    dg = np.clip(2.0 - np.abs(dh - 2.0), 0.0, 1.0)
    db = np.clip(2.0 - np.abs(dh - 4.0), 0.0, 1.0)
    rgb = [v * (1.0 - s + s * d) for d in (dr, dg, db)]
    return Tensor._wrap(np.stack(rgb, axis=axis).astype(x._value.dtype))


from .image_more import (affine_transform, elastic_transform, extract_patches_3d, gaussian_blur,  # noqa: E402
                         map_coordinates, perspective_transform, scale_and_translate, sobel_edges, ssim)
