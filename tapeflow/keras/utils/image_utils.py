"""Image helpers: ``array_to_img``, ``img_to_array``, ``save_img``, ``load_img`` (need Pillow).

Pillow is an optional dependency (``pip install pillow`` or ``pip install tapeflow[images]``);
without it these functions raise an ImportError that says so.
"""
from __future__ import annotations

import os

import numpy as np

from .. import backend as K


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("This image utility needs Pillow, which is not installed: run `pip install pillow` "
                          "(or `pip install tapeflow[images]`)") from None
    return Image


def _fmt(data_format):
    return K.standardize_data_format(data_format)


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A PIL image from a 3-D array (height, width, channels=1/3/4); ``scale`` maps its range to 0-255.

    >>> import numpy as np
    >>> from tapeflow import keras
    >>> keras.utils.array_to_img(np.random.rand(8, 8, 1)).size
    (8, 8)
    """
    Image = _pil()
    x = np.asarray(getattr(x, "_value", x), dtype=np.float64 if dtype is None else dtype)
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise ValueError(f"array_to_img: expected an image array of rank 3 (height, width, channels), got shape {x.shape}")
    if _fmt(data_format) == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        hi = np.max(x)
        if hi != 0:
            x = x / hi
        x = x * 255
    c = x.shape[2]
    if c == 4:
        return Image.fromarray(x.astype("uint8"), "RGBA")
    if c == 3:
        return Image.fromarray(x.astype("uint8"), "RGB")
    if c == 1:
        if np.max(x) > 255:
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img: unsupported number of channels {c} (use 1, 3 or 4)")


def img_to_array(img, data_format=None, dtype=None):
    """A float array (height, width, channels) from a PIL image."""
    x = np.asarray(img, dtype=dtype or K.floatx())
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise ValueError(f"img_to_array: unsupported image shape {x.shape}")
    if _fmt(data_format) == "channels_first":
        x = x.transpose(2, 0, 1)
    return x


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Write an image array to ``path`` (format from the extension unless ``file_format`` is given)."""
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and (file_format == "jpg" or str(path).lower().endswith((".jpg", ".jpeg"))):
        img = img.convert("RGB")
    img.save(os.fspath(path), format=file_format, **kwargs)


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest", keep_aspect_ratio=False):
    """Read an image file as a PIL image in ``color_mode`` ("grayscale", "rgb", "rgba"), resized to
    ``target_size`` (height, width) when given."""
    Image = _pil()
    img = Image.open(os.fspath(path))
    modes = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
    if color_mode not in modes:
        raise ValueError(f"load_img: color_mode must be one of {sorted(modes)}, got {color_mode!r}")
    if img.mode != modes[color_mode]:
        img = img.convert(modes[color_mode])
    if target_size is not None:
        size = (int(target_size[1]), int(target_size[0]))
        if img.size != size:
            methods = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}
            if interpolation not in methods:
                raise ValueError(f"load_img: interpolation must be one of {sorted(methods)}, got {interpolation!r}")
            img = img.resize(size, methods[interpolation])
    return img
