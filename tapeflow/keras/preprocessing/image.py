"""``tf.keras.preprocessing.image``: the image-file helpers of ``keras.utils`` (Pillow) and ``smart_resize``.

>>> import numpy as np
>>> from tapeflow.keras.preprocessing import image
>>> image.smart_resize(np.zeros((340, 500, 3), np.float32), (200, 200)).shape
(200, 200, 3)
"""
from __future__ import annotations

import numpy as np

from ..utils.image_utils import array_to_img, img_to_array, load_img, save_img  # noqa: F401

__all__ = ["array_to_img", "img_to_array", "load_img", "save_img", "smart_resize"]

_INTERPOLATIONS = ("bilinear", "nearest")


def _crop_box(height: int, width: int, target_height: int, target_width: int) -> tuple[int, int, int, int]:
    """(top, left, crop_height, crop_width) of the largest centred box with the target's aspect ratio."""
    crop_h = max(min(height, width * target_height // target_width), 1)
    crop_w = max(min(width, height * target_width // target_height), 1)
    return (height - crop_h) // 2, (width - crop_w) // 2, crop_h, crop_w


def smart_resize(x, size, interpolation: str = "bilinear", data_format: str | None = None):
    """Resize images to ``size`` = (height, width) without distorting them, as Keras: take the largest centred
    crop with the aspect ratio of ``size``, then resize it ("bilinear" or "nearest", half-pixel centres).

    ``x`` is one image (3-D) or a batch (4-D), channels_last or channels_first (``data_format``; None means
    ``keras.backend.image_data_format()``). A NumPy input gives a NumPy output, anything else a Tensor (the
    bilinear path is differentiable). As in TensorFlow, "bilinear" returns float32 and "nearest" keeps the
    dtype.

    >>> import numpy as np
    >>> img = np.arange(12, dtype=np.float32).reshape(3, 4, 1)   # a 3x4 image: keep the middle 3x3, halve it
    >>> smart_resize(img, (2, 2), interpolation="nearest")[..., 0].tolist()
    [[0.0, 2.0], [8.0, 10.0]]
    """
    from ...autodiff.tensor import Tensor
    from ...ops import array_ops as A
    from .. import backend as K
    from ..ops.image import resize
    from ..ops.numpy import _t

    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"smart_resize: `interpolation` must be one of {_INTERPOLATIONS}, got {interpolation!r} "
                         "(Keras's bicubic, lanczos and area resampling are not implemented in tapeflow)")
    if data_format is not None and data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"smart_resize: `data_format` must be 'channels_last', 'channels_first' or None, got "
                         f"{data_format!r}")
    data_format = K.standardize_data_format(data_format)
    try:
        target_h, target_w = (int(s) for s in size)
    except (TypeError, ValueError):
        raise ValueError(f"smart_resize: `size` must be a pair of integers (height, width), got {size!r}") from None
    if target_h < 1 or target_w < 1:
        raise ValueError(f"smart_resize: `size` must be positive, got {size!r}")
    as_numpy = isinstance(x, np.ndarray)
    img = x if isinstance(x, Tensor) else _t(x)
    shape = img._value.shape
    if len(shape) not in (3, 4):
        layout = "(channels, height, width)" if data_format == "channels_first" else "(height, width, channels)"
        raise ValueError(f"smart_resize: `x` must be one image {layout} or a batch of them (4-D), got shape "
                         f"{shape}; add a channel axis to a 2-D image (x[..., None])")
    h_axis = len(shape) - (2 if data_format == "channels_first" else 3)
    height, width = shape[h_axis], shape[h_axis + 1]
    top, left, crop_h, crop_w = _crop_box(height, width, target_h, target_w)
    if (crop_h, crop_w) != (height, width):
        key = [slice(None)] * len(shape)
        key[h_axis], key[h_axis + 1] = slice(top, top + crop_h), slice(left, left + crop_w)
        img = A.getitem(img, tuple(key))
    if interpolation != "nearest" and img._value.dtype != np.float32:
        img = A.cast(img, np.float32)  # Keras resizes through the backend, which gives float32 (ops.image keeps uint8)
    out = resize(img, (target_h, target_w), interpolation=interpolation, data_format=data_format)
    dtype = img._value.dtype if interpolation == "nearest" else np.dtype(np.float32)
    if out._value.dtype != dtype:
        out = A.cast(out, dtype)
    return out.numpy() if as_numpy else out
