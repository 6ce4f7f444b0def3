"""``keras.layers.Resizing``: Keras 3.15.1's arguments, defaults and config, delegating to
``keras.ops.image.resize`` (every interpolation, antialias, crop or pad to the aspect ratio).

Kept apart from ``preprocessing.py`` (which re-exports it) only for file size; it builds on its ``_ImageLayer``.
"""
from __future__ import annotations

from ...autodiff.tensor import convert_to_tensor
from .preprocessing import _float_input, _ImageLayer

__all__ = ["Resizing"]


class Resizing(_ImageLayer):
    """Resize images to (height, width) with ``keras.ops.image.resize`` (Keras 3's arguments, defaults and
    config). Float inputs are cast to the layer's dtype; integer images keep theirs (rounded, as Keras).

    >>> import numpy as np, tapeflow as tf
    >>> x = np.arange(16, dtype="uint8").reshape(4, 4, 1)
    >>> tf.keras.layers.Resizing(2, 2, interpolation="area")(x)[..., 0].numpy().tolist()
    [[2, 4], [10, 12]]
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, antialias=False, data_format=None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        from ..ops.image import _INTERPOLATIONS
        who = f"Resizing '{self.name}'"
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f"{who}: interpolation must be one of {_INTERPOLATIONS}, got {interpolation!r}")
        if fill_mode != "constant":
            raise ValueError(f"{who}: only fill_mode='constant' is supported (as Keras), got {fill_mode!r}")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(f"{who}: only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True")
        if min(int(height), int(width)) <= 0:
            raise ValueError(f"{who}: height and width must be positive, got height={height!r}, width={width!r}")
        self.height, self.width, self.interpolation = int(height), int(width), interpolation
        self.crop_to_aspect_ratio, self.pad_to_aspect_ratio = crop_to_aspect_ratio, pad_to_aspect_ratio
        self.fill_mode, self.fill_value, self.antialias = fill_mode, fill_value, bool(antialias)

    def call(self, inputs, training=None):
        from ..ops.image import resize
        x = convert_to_tensor(inputs)
        if x._value.dtype.kind not in "iu":   # floats follow the layer's dtype; integer images keep theirs
            x = _float_input(self, x)
        if x._value.ndim not in (3, 4):
            raise ValueError(f"Resizing '{self.name}': expected images of rank 4 (batch, height, width, channels) "
                             f"or 3, got shape {x._value.shape}")
        return resize(x, (self.height, self.width), self.interpolation, self.antialias,
                      self.crop_to_aspect_ratio, self.pad_to_aspect_ratio, self.fill_mode, self.fill_value,
                      self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width, "interpolation": self.interpolation,
                       "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                       "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                       "fill_value": self.fill_value, "antialias": self.antialias})
        return config
