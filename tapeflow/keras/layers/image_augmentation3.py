"""Keras 3's remaining image augmentations: RandomErasing, RandomShear, RandomPerspective,
RandomElasticTransform, and the policies RandAugment and AugMix (compositions of the other augmentation layers).

As in Keras 3, ``call(images, training=True)``: a layer called on its own augments, and ``training=False``
returns the images unchanged (cast to the layer's float compute dtype). Draws come from
``tapeflow.backend.rng`` (``seed`` keys a repeatable stream). Images are NHWC or, with
``data_format="channels_first"``, NCHW; one unbatched image works too. Not differentiable, like Keras's.

>>> import numpy as np, tapeflow as tf
>>> x = np.ones((2, 4, 4, 3))
>>> float(tf.keras.layers.RandomErasing(fill_value=0.0)(x, training=False).numpy().sum())
96.0
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor
from .image_augmentation import (AutoContrast, _ColorAugment, RandomColorDegeneration, RandomPosterization, RandomSharpness,
                                 Solarization, _is_number, _who, keras_factor, value_range_of)
from .image_augmentation2 import Equalization, gaussian_blur
from .preprocessing import (_FILL_MODES, RandomBrightness, RandomContrast, RandomRotation, RandomTranslation,
                            _map_coord, affine_transform)

__all__ = ["RandomErasing", "RandomShear", "RandomPerspective", "RandomElasticTransform", "RandAugment", "AugMix"]

_INTERPOLATIONS = ("nearest", "bilinear")


def _check_choice(layer, name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{_who(layer)}: `{name}` must be one of {tuple(allowed)}, got {name}={value!r}")


def sample(x: np.ndarray, src_x: np.ndarray, src_y: np.ndarray, interpolation="bilinear", fill_mode="constant",
           fill_value=0.0) -> np.ndarray:
    """Read NHWC ``x`` at per-pixel source coordinates ``src_x``/``src_y`` (N, H, W), as TF's image
    transforms: coordinates outside are mapped by ``fill_mode`` ("constant": taps outside read
    ``fill_value``; "mirror" reflects about the edge pixels)."""
    n, h, w, _ = x.shape
    if fill_mode == "mirror":
        src_x, src_y = _mirror(src_x, w), _mirror(src_y, h)
    else:
        src_x, src_y = _map_coord(src_x, w, fill_mode), _map_coord(src_y, h, fill_mode)
    if interpolation == "nearest":
        taps = [(np.round(src_y), np.round(src_x), np.ones_like(src_x))]
    else:
        y0, x0 = np.floor(src_y), np.floor(src_x)
        fy, fx = src_y - y0, src_x - x0
        taps = [(y0, x0, (1 - fy) * (1 - fx)), (y0, x0 + 1, (1 - fy) * fx),
                (y0 + 1, x0, fy * (1 - fx)), (y0 + 1, x0 + 1, fy * fx)]
    batch = np.arange(n)[:, None, None]
    out = np.zeros(x.shape, np.float64)
    for ty, tx, wt in taps:
        inside = (ty >= 0) & (ty <= h - 1) & (tx >= 0) & (tx <= w - 1)
        vals = x[batch, np.clip(ty, 0, h - 1).astype(np.intp), np.clip(tx, 0, w - 1).astype(np.intp)]
        out += wt[..., None] * np.where(inside[..., None], vals, fill_value)
    return out.astype(x.dtype)


def _mirror(c: np.ndarray, n: int) -> np.ndarray:
    """(d c b | a b c d | c b a): reflection about the first and last pixel centres."""
    if n <= 1:
        return np.zeros_like(c)
    period = 2 * (n - 1)
    c = np.mod(c, period)
    return np.where(c > n - 1, period - c, c)


def homography(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """(N, 8) projective transforms [a0, a1, a2, b0, b1, b2, c0, c1] taking each of the four ``end`` points
    (N, 4, 2) of (x, y) to the matching ``start`` point, as ``keras.ops.image.perspective_transform``."""
    n = start.shape[0]
    a = np.zeros((n, 8, 8))
    b = np.zeros((n, 8))
    for i in range(4):
        ex, ey = end[:, i, 0], end[:, i, 1]
        sx, sy = start[:, i, 0], start[:, i, 1]
        one, zero = np.ones(n), np.zeros(n)
        a[:, 2 * i] = np.stack([ex, ey, one, zero, zero, zero, -sx * ex, -sx * ey], axis=1)
        a[:, 2 * i + 1] = np.stack([zero, zero, zero, ex, ey, one, -sy * ex, -sy * ey], axis=1)
        b[:, 2 * i], b[:, 2 * i + 1] = sx, sy
    return np.linalg.solve(a, b[..., None])[..., 0]


def projective_sources(t: np.ndarray, h: int, w: int):
    """Source (x, y) of every output pixel under (N, 8) transforms; a zero denominator sends it outside."""
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    k = [t[:, i, None, None] for i in range(8)]
    den = k[6] * cols + k[7] * rows + 1.0
    safe = np.where(den == 0, 1.0, den)
    sx = np.where(den == 0, -1e9, (k[0] * cols + k[1] * rows + k[2]) / safe)
    sy = np.where(den == 0, -1e9, (k[3] * cols + k[4] * rows + k[5]) / safe)
    return sx, sy


class _Augment3(_ColorAugment):
    """Shared call (``_ColorAugment``'s): NHWC NumPy in ``_augment(array, generator)`` while training, identity
    otherwise."""

    def _apply_mask(self, g, n):
        """Keras's per-image coin: apply where U(0, 1) < a probability drawn from ``factor``."""
        prob = g.uniform(self.factor[0], self.factor[1], size=n)
        return g.uniform(0.0, 1.0, size=n) < prob

    def get_config(self):
        config = super().get_config()
        config["seed"] = self.seed
        return config


class RandomErasing(_Augment3):
    """While training, with a probability drawn per image from ``factor`` (a float f means (0, f)), replace a
    random rectangle by ``fill_value``: its sides are ``sqrt(s)`` times the image's, ``s`` drawn per side from
    ``scale``. ``fill_value`` None fills with Gaussian noise times ``value_range[1]``; a number or three
    numbers (per channel) fill a constant; the fill is clipped to ``value_range``.

    >>> import numpy as np, tapeflow as tf
    >>> layer = tf.keras.layers.RandomErasing((1.0, 1.0), scale=(0.25, 0.25), fill_value=0.0, seed=1)
    >>> int((layer(np.ones((1, 8, 8, 1))).numpy() == 0).sum())
    16
    """

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255), seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = list(keras_factor(self, factor, (0, 1)))
        self.scale = list(keras_factor(self, scale, (0, 1), "scale"))
        if not (fill_value is None or _is_number(fill_value) or (
                isinstance(fill_value, (list, tuple)) and len(fill_value) == 3
                and all(_is_number(v) for v in fill_value))):
            raise ValueError(f"{_who(self)}: `fill_value` must be None, a number or a list of three numbers, got "
                             f"fill_value={fill_value!r}")
        self.fill_value = list(fill_value) if isinstance(fill_value, tuple) else fill_value
        self.value_range = list(value_range_of(self, value_range, sort=False))

    def _augment(self, x, g):
        n, h, w, c = x.shape
        side = np.sqrt(g.uniform(self.scale[0], self.scale[1], size=(n, 2)))
        lengths = side * np.array([w, h])
        start = g.uniform(0.0, 1.0, size=(n, 2)) * (np.array([w, h]) - lengths)
        gy, gx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        x0, y0 = start[:, 0, None, None], start[:, 1, None, None]
        x1, y1 = x0 + lengths[:, 0, None, None], y0 + lengths[:, 1, None, None]
        box = (gx >= x0) & (gx < x1) & (gy >= y0) & (gy < y1)
        apply = self._apply_mask(g, n)
        if self.fill_value is None:
            fill = g.standard_normal(x.shape) * self.value_range[1]
        else:
            fill = np.broadcast_to(np.asarray(self.fill_value, np.float64), x.shape)
        fill = np.clip(fill, self.value_range[0], self.value_range[1]).astype(x.dtype)
        return np.where((box & apply[:, None, None])[..., None], fill, x)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "scale": self.scale, "fill_value": self.fill_value,
                       "value_range": self.value_range})
        return config


def _shear_factor(layer, factor, name):
    """Keras RandomShear's rule: a number f in [0, 1] means (-f, f); a pair is sorted. Unlike Keras, a pair may
    hold negative values (down to -1), so the (-f, f) that ``get_config`` writes loads again."""
    vals = list(factor) if isinstance(factor, (list, tuple)) else [factor]
    low = -1.0 if len(vals) == 2 else 0.0
    if not vals or len(vals) > 2 or not all(_is_number(v) and low <= v <= 1.0 for v in vals):
        raise ValueError(f"{_who(layer)}: `{name}` must be a number in [0, 1] or a pair of numbers in [-1, 1], "
                         f"got {name}={factor!r}")
    if len(vals) == 1:
        return [-abs(float(vals[0])), abs(float(vals[0]))]
    return sorted(float(v) for v in vals)


class RandomShear(_Augment3):
    """While training, shear each image about its top-left corner: output pixel (x, y) reads input
    (x + sx * y, sy * x + y), with ``sx``/``sy`` drawn per image from ``x_factor``/``y_factor`` (a float f
    means (-f, f); values in [0, 1]) and both negated for a random half of the images. ``fill_mode``
    ("reflect", "wrap", "constant", "nearest") and ``fill_value`` handle pixels from outside.

    >>> import numpy as np, tapeflow as tf
    >>> tf.keras.layers.RandomShear(x_factor=0.3, y_factor=(0.1, 0.2)).get_config()["x_factor"]
    [-0.3, 0.3]
    """

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                 data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.x_factor = _shear_factor(self, x_factor, "x_factor")
        self.y_factor = _shear_factor(self, y_factor, "y_factor")
        _check_choice(self, "fill_mode", fill_mode, _FILL_MODES)
        _check_choice(self, "interpolation", interpolation, _INTERPOLATIONS)
        self.fill_mode, self.fill_value, self.interpolation = fill_mode, fill_value, interpolation

    def _augment(self, x, g):
        n = x.shape[0]
        invert = np.where(g.uniform(0.0, 1.0, size=n) > 0.5, -1.0, 1.0)
        sy = g.uniform(self.y_factor[0], self.y_factor[1], size=n) * invert
        sx = g.uniform(self.x_factor[0], self.x_factor[1], size=n) * invert
        one, zero = np.ones(n), np.zeros(n)
        t = np.stack([one, sx, zero, sy, one, zero, zero, zero], axis=1)
        return affine_transform(Tensor._wrap(x), t, self.interpolation, self.fill_mode, self.fill_value)._value

    def get_config(self):
        config = super().get_config()
        config.update({"x_factor": self.x_factor, "y_factor": self.y_factor, "fill_mode": self.fill_mode,
                       "interpolation": self.interpolation, "fill_value": self.fill_value})
        return config


class RandomPerspective(_Augment3):
    """While training, with a probability drawn per image from ``factor`` (a float f means (0, f)), warp
    each image by the homography that moves its four corners by up to ``scale / 2`` of their coordinates
    (``end = start * (1 + U(-scale/2, scale/2))``, per corner and axis); outside pixels read ``fill_value``.

    >>> import numpy as np, tapeflow as tf
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> bool((tf.keras.layers.RandomPerspective(scale=0.0)(x).numpy() == x).all())
    True
    """

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0, seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = list(keras_factor(self, factor, (0, 1)))
        if not _is_number(scale) or not 0.0 <= scale <= 1.0:
            raise ValueError(f"{_who(self)}: `scale` must be a number in [0, 1], got scale={scale!r}")
        _check_choice(self, "interpolation", interpolation, _INTERPOLATIONS)
        self.scale, self.interpolation, self.fill_value = scale, interpolation, fill_value

    def _augment(self, x, g):
        n, h, w, _ = x.shape
        apply = self._apply_mask(g, n)
        jitter = g.uniform(-0.5 * self.scale, 0.5 * self.scale, size=(n, 4, 2))
        start = np.broadcast_to(np.array([[0.0, 0.0], [w - 1, 0.0], [0.0, h - 1], [w - 1, h - 1]]), (n, 4, 2))
        end = start + start * jitter
        sx, sy = projective_sources(homography(start, end), h, w)
        out = sample(x, sx, sy, self.interpolation, "constant", float(self.fill_value))
        return np.where(apply[:, None, None, None], out, x)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "scale": self.scale, "interpolation": self.interpolation,
                       "fill_value": self.fill_value})
        return config


class RandomElasticTransform(_Augment3):
    """While training, with a probability drawn per image from ``factor``, displace every pixel by a smooth
    random field: per image, Gaussian noise ``* sigma`` blurred by a Gaussian of that ``sigma`` (kernel
    ``6 * int(sigma) | 1``), scaled by ``alpha``, where ``alpha = 0.1 d max(H, W)``, ``sigma = 0.05 d min(H, W)``
    and the distortion ``d`` is drawn once per batch from ``scale``; then clip to ``value_range``.

    >>> import numpy as np, tapeflow as tf
    >>> layer = tf.keras.layers.RandomElasticTransform(seed=0)
    >>> float(layer(np.full((2, 16, 16, 1), 7.0)).numpy().round(4).std())
    0.0
    """

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                 value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = list(keras_factor(self, factor, (0, 1)))
        self.scale = list(keras_factor(self, scale, (0, 1), "scale"))
        _check_choice(self, "interpolation", interpolation, _INTERPOLATIONS)
        _check_choice(self, "fill_mode", fill_mode, ("constant", "nearest", "wrap", "mirror", "reflect"))
        self.interpolation, self.fill_mode, self.fill_value = interpolation, fill_mode, fill_value
        self.value_range = list(value_range_of(self, value_range, sort=False))

    def _augment(self, x, g):
        if self.scale[1] == 0 or self.factor[1] == 0:
            return x
        n, h, w, _ = x.shape
        apply = self._apply_mask(g, n)
        d = g.uniform(self.scale[0], self.scale[1])
        alpha, sigma = max(h, w) * 0.1 * d, min(h, w) * 0.05 * d
        size = 6 * int(sigma) | 1
        field = g.standard_normal((n, h, w, 2)) * sigma
        if sigma > 0:
            field = gaussian_blur(field, (size, size), (sigma, sigma))
        rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
        out = sample(x, cols + alpha * field[..., 0], rows + alpha * field[..., 1], self.interpolation,
                     self.fill_mode, float(self.fill_value))
        out = np.where(apply[:, None, None, None], out, x)
        return np.clip(out, self.value_range[0], self.value_range[1])

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "scale": self.scale, "interpolation": self.interpolation,
                       "fill_mode": self.fill_mode, "fill_value": self.fill_value, "value_range": self.value_range})
        return config


_GEOMETRIC = ("random_shear", "random_translation", "random_rotation")
_RAND_AUGMENT = _GEOMETRIC + ("random_brightness", "random_color_degeneration", "random_contrast",
                              "random_sharpness", "random_posterization", "solarization", "auto_contrast",
                              "equalization")
_AUGMIX = _GEOMETRIC + ("random_posterization", "solarization", "auto_contrast", "equalization")
_AUGMIX_ALL = _AUGMIX + ("random_brightness", "random_color_degeneration", "random_contrast", "random_sharpness")


class _Policy(_Augment3):
    """RandAugment / AugMix: own the Keras list of augmentation layers (NHWC, ``factor`` as their factor)."""

    def _make_ops(self, names, value_range, interpolation, seed):
        f, vr = tuple(self.factor), tuple(value_range)
        make = {
            "random_shear": lambda: RandomShear(f, f, interpolation=interpolation, seed=seed),
            "random_translation": lambda: RandomTranslation(f, f, interpolation=interpolation, seed=seed),
            "random_rotation": lambda: RandomRotation(f, interpolation=interpolation, seed=seed),
            "random_brightness": lambda: RandomBrightness(f, value_range=vr, seed=seed),
            "random_color_degeneration": lambda: RandomColorDegeneration(f, value_range=vr, seed=seed),
            "random_contrast": lambda: RandomContrast(f, value_range=vr, seed=seed),
            "random_sharpness": lambda: RandomSharpness(f, value_range=vr, seed=seed),
            "random_posterization": lambda: RandomPosterization(max(1, int(8 * f[1])), value_range=vr, seed=seed),
            "solarization": lambda: Solarization(f, f, value_range=vr, seed=seed),
            "auto_contrast": lambda: AutoContrast(value_range=vr),
            "equalization": lambda: Equalization(value_range=vr)}
        self._op_names = list(names)
        for name in names:
            setattr(self, name, make[name]())

    def _run(self, name, x):
        return getattr(self, name)(Tensor._wrap(x), training=True)._value.astype(x.dtype, copy=False)


class RandAugment(_Policy):
    """While training, apply ``num_ops`` augmentations chosen at random (with repetition, once per batch) from
    Keras's list: shear, translation, rotation, brightness, colour degeneration, contrast, sharpness,
    posterization, solarization, auto-contrast, equalization, each with magnitude ``factor`` (a float f means
    (0, f)) and ``value_range``.

    >>> import numpy as np, tapeflow as tf
    >>> layer = tf.keras.layers.RandAugment(num_ops=3, seed=3)
    >>> layer(np.zeros((2, 8, 8, 3))).shape.as_list()
    [2, 8, 8, 3]
    """

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear", seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = list(value_range_of(self, value_range))
        if not isinstance(num_ops, (int, np.integer)) or isinstance(num_ops, bool) or num_ops < 0:
            raise ValueError(f"{_who(self)}: `num_ops` must be a non-negative integer, got num_ops={num_ops!r}")
        self.num_ops = int(num_ops)
        self.factor = list(keras_factor(self, factor, (0, 1)))
        _check_choice(self, "interpolation", interpolation, _INTERPOLATIONS)
        self.interpolation = interpolation
        self._make_ops(_RAND_AUGMENT, self.value_range, interpolation, seed)

    def _augment(self, x, g):
        for i in g.integers(0, len(self._op_names), size=self.num_ops):
            x = self._run(self._op_names[i], x)
        return x

    def get_config(self):
        config = super().get_config()
        config.update({"value_range": self.value_range, "num_ops": self.num_ops, "factor": self.factor,
                       "interpolation": self.interpolation})
        return config


class AugMix(_Policy):
    """While training, AugMix (Hendrycks et al. 2020): ``num_chains`` chains of up to ``chain_depth``
    augmentations (each step picks one of Keras's list or nothing), mixed with Dirichlet(``alpha``) weights,
    then blended with the original by a Beta(``alpha``, ``alpha``) weight and clipped to ``value_range``.
    ``all_ops=False`` leaves out brightness, colour degeneration, contrast and sharpness.

    >>> import numpy as np, tapeflow as tf
    >>> out = tf.keras.layers.AugMix(seed=0)(np.full((2, 8, 8, 3), 300.0))
    >>> float(out.numpy().max()) <= 255.0
    True
    """

    def __init__(self, value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3, alpha=1.0, all_ops=True,
                 interpolation="bilinear", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = list(value_range_of(self, value_range))
        for name, v in (("num_chains", num_chains), ("chain_depth", chain_depth)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{_who(self)}: `{name}` must be a positive integer, got {name}={v!r}")
        self.num_chains, self.chain_depth = int(num_chains), int(chain_depth)
        self.factor = list(keras_factor(self, factor, (0, 1)))
        if not _is_number(alpha) or alpha <= 0:
            raise ValueError(f"{_who(self)}: `alpha` must be a positive number, got alpha={alpha!r}")
        self.alpha, self.all_ops = float(alpha), bool(all_ops)
        _check_choice(self, "interpolation", interpolation, _INTERPOLATIONS)
        self.interpolation = interpolation
        self._make_ops(_AUGMIX_ALL if self.all_ops else _AUGMIX, self.value_range, interpolation, seed)

    def _augment(self, x, g):
        gamma = g.gamma(self.alpha, size=self.num_chains)
        weights = gamma / gamma.sum()
        keep = g.beta(self.alpha, self.alpha)
        mixed = np.zeros(x.shape, np.float64)
        for c in range(self.num_chains):
            chain = x
            for pick in g.integers(0, len(self._op_names) + 1, size=self.chain_depth):
                if pick < len(self._op_names):  # the last choice is "no operation"
                    chain = self._run(self._op_names[pick], chain)
            mixed += weights[c] * chain
        out = keep * x + (1.0 - keep) * mixed
        return np.clip(out, self.value_range[0], self.value_range[1])

    def get_config(self):
        config = super().get_config()
        config.update({"value_range": self.value_range, "num_chains": self.num_chains,
                       "chain_depth": self.chain_depth, "factor": self.factor, "alpha": self.alpha,
                       "all_ops": self.all_ops, "interpolation": self.interpolation})
        return config
