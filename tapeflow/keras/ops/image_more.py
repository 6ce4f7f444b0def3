"""``keras.ops.image`` continued (Keras 3.15.1): warps, filters, SSIM and 3-D patches; re-exported by
``keras.ops.image``.

``affine_transform`` and ``perspective_transform`` sample as TensorFlow's ``ImageProjectiveTransformV3`` (Keras's
TF backend); ``map_coordinates`` and ``elastic_transform`` read outside pixels by Keras's documented fill modes
(those of ``jax.scipy.ndimage.map_coordinates``); ``scale_and_translate`` is ``jax.image.scale_and_translate``.
A warp is a weighted gather of the input pixels, so gradients reach the images (the true VJP: TF's registered
gradient for the projective transform is the inverse warp, an approximation) and, through the linear weights,
``map_coordinates``'s coordinates; ``gaussian_blur``, ``sobel_edges`` and ``ssim`` are convolutions and
differentiable too. Transforms, points and ``scale_and_translate``'s scale/translation get no gradient.

>>> import numpy as np
>>> from tapeflow import keras
>>> img = np.arange(9.0, dtype="float32").reshape(3, 3, 1)
>>> shift = [1, 0, 1, 0, 1, 0, 0, 0]          # output (x, y) reads input (x + 1, y)
>>> keras.ops.image.affine_transform(img, shift)[..., 0].numpy().tolist()
[[1.0, 2.0, 0.0], [4.0, 5.0, 0.0], [7.0, 8.0, 0.0]]
"""
from __future__ import annotations

import itertools
from functools import reduce

import numpy as np

from ...autodiff.tensor import Tensor
from ...ops import array_ops as A
from ...ops import math_ops as M
from .image import _apply_axis, _scale_weights
from .numpy import _float, _t

__all__ = ["affine_transform", "elastic_transform", "extract_patches_3d", "gaussian_blur", "map_coordinates",
           "perspective_transform", "scale_and_translate", "sobel_edges", "ssim"]

_INTERPOLATIONS = ("nearest", "bilinear")
_PROJECTIVE_FILL = ("constant", "nearest", "wrap", "reflect")   # TF's ImageProjectiveTransformV3 has no "mirror"
_MAP_FILL = ("constant", "nearest", "wrap", "mirror", "reflect")
_SCALE_METHODS = {"linear": "linear", "bilinear": "linear", "trilinear": "linear", "triangle": "linear",
                  "cubic": "cubic", "bicubic": "cubic", "tricubic": "cubic", "lanczos3": "lanczos3",
                  "lanczos5": "lanczos5"}


# -- argument checks --------------------------------------------------------------------------
def _channels_first(data_format, op: str) -> bool:
    from .. import backend as KB
    fmt = data_format or KB.image_data_format()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"{op}: `data_format` must be 'channels_last' or 'channels_first', got "
                         f"data_format={data_format!r}")
    return fmt == "channels_first"


def _choice(op: str, name: str, value, allowed, hint: str = "") -> None:
    if value not in allowed:
        raise ValueError(f"{op}: `{name}` must be one of {tuple(allowed)}, got {name}={value!r}{hint}")


def _nhwc(images, op: str, cf: bool, name: str = "images", ranks=(3, 4)):
    """``images`` as a batched channels-last Tensor, and the function that puts a result back in their layout."""
    x = _t(images)
    if x._value.ndim not in ranks:
        what = "one image (rank 3) or a batch of images (rank 4)" if len(ranks) == 2 else "a batch of images (rank 4)"
        raise ValueError(f"{op}: `{name}` must be {what}, got shape {x._value.shape}; add or remove the batch axis")
    single = x._value.ndim == 3
    if single:
        x = A.expand_dims(x, 0)
    if cf:
        x = A.transpose(x, (0, 2, 3, 1))

    def back(y: Tensor) -> Tensor:
        if cf:
            y = A.transpose(y, (0, 3, 1, 2) + tuple(range(4, y._value.ndim)))
        return A.squeeze(y, 0) if single else y
    return x, back


def _pair(value, op: str, name: str, kind=float) -> tuple:
    vals = [value, value] if np.ndim(value) == 0 else list(np.asarray(value).reshape(-1))
    if len(vals) != 2 or not all(v > 0 for v in vals) or (kind is int and any(int(v) != v for v in vals)):
        want = "positive integers" if kind is int else "positive numbers"
        raise ValueError(f"{op}: `{name}` must be a pair of {want} (or one for both), got {name}={value!r}")
    return tuple(kind(v) for v in vals)


# -- projective sampling (TF's ImageProjectiveTransformV3) ------------------------------------
def _round_half_away(v: np.ndarray) -> np.ndarray:
    """``std::round``: halves go away from zero (NumPy's ``round`` sends them to the even neighbour)."""
    t = np.trunc(v)
    return np.where(np.abs(v - t) == 0.5, t + np.sign(v), np.round(v))


def _projective_sample(x: Tensor, t: np.ndarray, interpolation: str, fill_mode: str, fill_value) -> Tensor:
    """NHWC ``x`` sampled at output pixel (x, y) -> ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k),
    k = c0 x + c1 y + 1, per row [a0, a1, a2, b0, b1, b2, c0, c1] of ``t`` (one row, or one per image), in
    float32 and TF's order of operations; differentiable in ``x``."""
    from ..layers.preprocessing import _map_coord   # TF's fill-mode coordinate maps, shared with RandomRotation
    n, h, w, c = x._value.shape
    dtype = x._value.dtype
    xf = x if dtype.kind == "f" else A.cast(x, "float32")
    fdt = xf._value.dtype
    rows = np.arange(h, dtype=np.float32)[None, :, None]
    cols = np.arange(w, dtype=np.float32)[None, None, :]
    k = [t[:, i, None, None] for i in range(8)]
    proj = k[6] * cols + k[7] * rows + np.float32(1)
    infinite = np.broadcast_to(proj == 0, (n, h, w))        # TF returns fill_value there
    safe = np.where(proj == 0, np.float32(1), proj)
    sx = np.broadcast_to((k[0] * cols + k[1] * rows + k[2]) / safe, (n, h, w))
    sy = np.broadcast_to((k[3] * cols + k[4] * rows + k[5]) / safe, (n, h, w))
    sx, sy = _map_coord(sx, w, fill_mode), _map_coord(sy, h, fill_mode)
    flat = A.reshape(xf, (n, h * w, c))
    batch = np.arange(n)[:, None]
    fill = np.asarray(fill_value, fdt)

    def read(ty, tx):  # one tap per output pixel; taps outside the image read fill_value
        inside = (ty >= 0) & (ty <= h - 1) & (tx >= 0) & (tx <= w - 1) & ~infinite
        iy = np.clip(np.nan_to_num(ty), 0, h - 1).astype(np.intp)
        ix = np.clip(np.nan_to_num(tx), 0, w - 1).astype(np.intp)
        g = A.reshape(A.getitem(flat, (batch, (iy * w + ix).reshape(n, h * w))), (n, h, w, c))
        if inside.all():
            return g
        return A.where(np.broadcast_to(inside[..., None], (n, h, w, c)), g, Tensor._wrap(np.full((), fill)))

    def wt(v):
        return Tensor._wrap(v[..., None].astype(fdt))
    if interpolation == "nearest":
        out = read(_round_half_away(sy), _round_half_away(sx))
    else:
        y0, x0 = np.floor(sy), np.floor(sx)
        y1, x1 = y0 + 1, x0 + 1
        wx0, wx1 = wt(x1 - sx), wt(sx - x0)
        top = M.add(M.multiply(wx0, read(y0, x0)), M.multiply(wx1, read(y0, x1)))
        bottom = M.add(M.multiply(wx0, read(y1, x0)), M.multiply(wx1, read(y1, x1)))
        out = M.add(M.multiply(wt(y1 - sy), top), M.multiply(wt(sy - y0), bottom))
        if infinite.any():
            out = A.where(np.broadcast_to(infinite[..., None], out._value.shape), Tensor._wrap(np.full((), fill)), out)
    if dtype.kind != "f":  # TF's static_cast<T>: truncation toward zero
        return Tensor._wrap(np.trunc(out._value).astype(dtype))
    return out


def _transforms(transform, n: int, op: str, name: str = "transform") -> np.ndarray:
    t = np.asarray(transform._value if isinstance(transform, Tensor) else transform, dtype=np.float32)
    if t.ndim not in (1, 2) or t.shape[-1] != 8:
        raise ValueError(f"{op}: `{name}` must have shape (8,) or (N, 8) ([a0, a1, a2, b0, b1, b2, c0, c1] per "
                         f"image), got shape {t.shape}")
    t = t.reshape(-1, 8)
    if t.shape[0] not in (1, n):
        raise ValueError(f"{op}: `{name}` has {t.shape[0]} rows but the batch has {n} images; pass one row, or "
                         f"one per image")
    return t


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0,
                     data_format=None) -> Tensor:
    """Warp image(s) by projective ``transform`` rows [a0, a1, a2, b0, b1, b2, c0, c1] (one, or one per image):
    output pixel (x, y) reads the input at ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1.
    ``interpolation`` "bilinear" or "nearest"; pixels outside follow ``fill_mode`` "constant" (``fill_value``),
    "nearest", "wrap" or "reflect", as TF's ``ImageProjectiveTransformV3``. Differentiable in ``images``.

    >>> import numpy as np
    >>> from tapeflow import keras
    >>> img = np.arange(4.0, dtype="float32").reshape(1, 4, 1)
    >>> half = [0.5, 0, 0, 0, 1, 0, 0, 0]      # zoom in 2x along x
    >>> keras.ops.image.affine_transform(img, half)[0, :, 0].numpy().tolist()
    [0.0, 0.5, 1.0, 1.5]
    """
    op = "affine_transform"
    _choice(op, "interpolation", interpolation, _INTERPOLATIONS)
    _choice(op, "fill_mode", fill_mode, _PROJECTIVE_FILL,
            "; 'mirror' is only in map_coordinates (Keras's TF backend has none here)" if fill_mode == "mirror" else "")
    x, back = _nhwc(images, op, _channels_first(data_format, op))
    t = _transforms(transform, x._value.shape[0], op)
    return back(_projective_sample(x, t, interpolation, fill_mode, fill_value))


def _points(p, op: str, name: str) -> np.ndarray:
    a = np.asarray(p._value if isinstance(p, Tensor) else p, dtype=np.float64)
    if a.ndim not in (2, 3) or a.shape[-2:] != (4, 2):
        raise ValueError(f"{op}: `{name}` must have shape (4, 2) or (N, 4, 2) (four (x, y) corners per image), "
                         f"got shape {a.shape}")
    return a


def perspective_transform(images, start_points, end_points, interpolation="bilinear", fill_value=0,
                          data_format=None) -> Tensor:
    """Warp image(s) so that the four ``start_points`` (x, y) land on ``end_points``: the homography taking
    each end point to its start point maps output pixels to input positions, sampled as ``affine_transform``
    with fill_mode "constant". Points are (4, 2), or (N, 4, 2) for one set per image. Differentiable in
    ``images``.

    >>> import numpy as np
    >>> from tapeflow import keras
    >>> img = np.arange(9.0, dtype="float32").reshape(3, 3, 1)
    >>> corners = [[0, 0], [2, 0], [0, 2], [2, 2]]
    >>> moved = [[1, 0], [3, 0], [1, 2], [3, 2]]     # everything one pixel to the right
    >>> keras.ops.image.perspective_transform(img, corners, moved)[..., 0].numpy().round(4).tolist()
    [[0.0, 0.0, 1.0], [0.0, 3.0, 4.0], [0.0, 6.0, 7.0]]
    """
    from ..layers.image_augmentation3 import homography   # the 8x8 solve RandomPerspective uses
    op = "perspective_transform"
    _choice(op, "interpolation", interpolation, _INTERPOLATIONS)
    start, end = _points(start_points, op, "start_points"), _points(end_points, op, "end_points")
    if start.shape != end.shape:
        raise ValueError(f"{op}: `start_points` and `end_points` must have the same shape, got {start.shape} and "
                         f"{end.shape}")
    x, back = _nhwc(images, op, _channels_first(data_format, op))
    t = homography(start.reshape(-1, 4, 2), end.reshape(-1, 4, 2)).astype(np.float32)
    t = _transforms(t, x._value.shape[0], op, "start_points/end_points")
    return back(_projective_sample(x, t, interpolation, "constant", fill_value))


# -- map_coordinates (Keras's documented fill modes) -------------------------------------------
def _fix_index(i: np.ndarray, n: int, mode: str):
    """(index inside [0, n), valid mask or None) for integer taps ``i`` under ``fill_mode``."""
    if mode == "constant":
        return np.clip(i, 0, n - 1), (i >= 0) & (i < n)
    if mode == "nearest":
        return np.clip(i, 0, n - 1), None
    if mode == "wrap":
        return np.mod(i, n), None
    if n == 1:
        return np.zeros_like(i), None
    if mode == "mirror":                  # (c d c b | a b c d | c b a b): about the edge pixel centres
        s = n - 1
        return np.abs(np.mod(i + s, 2 * s) - s), None
    s = 2 * n                             # reflect (d c b a | a b c d | d c b a): about the image edges
    return (np.abs(np.mod(2 * i + 1 + s, 2 * s) - s) - 1) // 2, None


def _interpolate(x: Tensor, coords: list, order: int, fill_mode: str, fill_value) -> Tensor:
    """``x`` read at one coordinate per axis (broadcastable to the output shape): a float Tensor is interpolated
    (order 0: nearest, halves to even; order 1: linear, its weights differentiable), an integer ndarray is taken as
    exact in-range indices. The sum over taps of weight * value runs in ``itertools.product`` order, as Keras."""
    dt = x._value.dtype
    per_axis = []
    for axis, c in enumerate(coords):
        if isinstance(c, np.ndarray):
            per_axis.append([(c, None, None)])
            continue
        n = x._value.shape[axis]
        if order == 0:
            taps = [(np.round(c._value).astype(np.int64), None)]
        else:
            lower = np.floor(c._value)
            upper_w = M.subtract(c, Tensor._wrap(lower.astype(c._value.dtype)))
            low = lower.astype(np.int64)
            taps = [(low, M.subtract(np.ones((), c._value.dtype), upper_w)), (low + 1, upper_w)]
        per_axis.append([_fix_index(i, n, fill_mode) + (w,) for i, w in taps])
    fill = Tensor._wrap(np.full((), fill_value, dt))
    out = None
    for combo in itertools.product(*per_axis):
        g = A.getitem(x, tuple(i for i, _, _ in combo))
        valids = [v for _, v, _ in combo if v is not None]
        if valids:
            valid = np.broadcast_to(reduce(np.logical_and, valids), g._value.shape)
            if not valid.all():
                g = A.where(valid, g, fill)
        weights = [w for _, _, w in combo if w is not None]
        term = M.multiply(reduce(M.multiply, weights), g) if weights else g
        out = term if out is None else M.add(out, term)
    return out


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0) -> Tensor:
    """``inputs`` (any rank r) read at ``coordinates`` (r, ...): output[j] interpolates
    inputs[coordinates[0][j], ..., coordinates[r-1][j]]. ``order`` 0 takes the nearest element (halves to even),
    1 interpolates linearly. Outside, ``fill_mode``: "constant" (``fill_value``), "nearest", "wrap", "mirror"
    (c d c b | a b c d | c b a b) or "reflect" (d c b a | a b c d | d c b a). Differentiable in ``inputs`` and
    (order 1) in ``coordinates``. Integer inputs are rounded back to their dtype.

    >>> import numpy as np
    >>> from tapeflow import keras
    >>> x = np.array([0.0, 10.0, 20.0, 30.0], "float32")
    >>> keras.ops.image.map_coordinates(x, [[0.25, 2.5, -1.0, 4.0]], 1, fill_mode="reflect").numpy().tolist()
    [2.5, 25.0, 0.0, 30.0]
    """
    op = "map_coordinates"
    x = _t(inputs)
    if isinstance(coordinates, (list, tuple)) and any(isinstance(c, Tensor) for c in coordinates):
        c = A.stack([_t(ci) for ci in coordinates])
    else:
        c = _t(coordinates)
    if c._value.ndim < 2 or c._value.shape[0] != x._value.ndim:
        raise ValueError(f"{op}: `coordinates` must have shape (rank of inputs = {x._value.ndim}, ...) with at "
                         f"least one more axis, got shape {c._value.shape}; stack one coordinate array per input "
                         f"axis")
    _choice(op, "fill_mode", fill_mode, _MAP_FILL)
    if order not in (0, 1):
        raise ValueError(f"{op}: `order` must be 0 (nearest) or 1 (linear), got order={order!r}")
    if x._value.size == 0:
        raise ValueError(f"{op}: `inputs` is empty (shape {x._value.shape}); there is nothing to sample")
    dtype = x._value.dtype
    work = c._value.dtype if c._value.dtype.kind == "f" else np.dtype("float32")
    if dtype.kind == "f":
        work = dtype
    xf = x if x._value.dtype == work else A.cast(x, work.name)
    cf = c if c._value.dtype == work else A.cast(c, work.name)
    out = _interpolate(xf, [A.getitem(cf, i) for i in range(x._value.ndim)], order, fill_mode, fill_value)
    if dtype.kind != "f":  # Keras rounds (halves to even) before casting back
        return Tensor._wrap(np.round(out._value).astype(dtype))
    return out


# -- filters ----------------------------------------------------------------------------------
def _gauss_1d(size: int, sigma: float) -> np.ndarray:
    t = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    k = np.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def _separable_same(x: Tensor, ky: np.ndarray, kx: np.ndarray) -> Tensor:
    """Per-channel 'SAME' (TF's zero padding) convolution of NHWC ``x`` by the kernel outer(ky, kx): a column
    pass then a row pass, kh + kw taps a pixel instead of kh * kw (a 31 x 31 blur runs ~15x faster)."""
    from ...ops.conv_ops import depthwise_conv2d
    c = x._value.shape[-1]
    for k in (ky[:, None], kx[None, :]):
        kernel = np.tile(k[:, :, None, None], (1, 1, c, 1)).astype(x._value.dtype)
        x = depthwise_conv2d(x, Tensor._wrap(kernel), [1, 1, 1, 1], "SAME")
    return x


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None) -> Tensor:
    """Per-channel Gaussian blur with zero ("same") padding. ``kernel_size`` and ``sigma`` are (x, y) pairs: the
    first entries act along the width, the second along the height (as every Keras backend does for a square
    kernel; Keras's TF backend scrambles non-square ones). Integer images are blurred as float32. Differentiable.

    >>> import numpy as np
    >>> from tapeflow import keras
    >>> x = np.zeros((1, 3, 1), "float32"); x[0, 1, 0] = 1.0
    >>> keras.ops.image.gaussian_blur(x, (3, 1), (1.0, 1.0))[0, :, 0].numpy().astype(float).round(4).tolist()
    [0.2741, 0.4519, 0.2741]
    """
    op = "gaussian_blur"
    kx, ky = _pair(kernel_size, op, "kernel_size", int)
    sx, sy = _pair(sigma, op, "sigma")
    x, back = _nhwc(_float(images), op, _channels_first(data_format, op))
    return back(_separable_same(x, _gauss_1d(ky, sy), _gauss_1d(kx, sx)))


def sobel_edges(images, data_format=None) -> Tensor:
    """Sobel responses of a batch of images, shape (batch, h, w, channels, 2) holding [dy, dx]
    ((batch, channels, h, w, 2) for channels_first), reflect-padded as ``tf.image.sobel_edges``. Differentiable.

    >>> import numpy as np
    >>> from tapeflow import keras
    >>> x = np.zeros((1, 3, 3, 1), "float32"); x[0, :, 2, 0] = 1.0     # a vertical edge
    >>> keras.ops.image.sobel_edges(x)[0, 1, :, 0].numpy().tolist()    # [dy, dx] along the middle row
    [[0.0, 0.0], [0.0, 4.0], [0.0, 0.0]]
    """
    from ...image_extra import sobel_edges as _sobel
    op = "sobel_edges"
    x, back = _nhwc(_float(images), op, _channels_first(data_format, op), ranks=(4,))
    return back(_sobel(x))


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03, data_format=None) -> Tensor:
    """Structural similarity of two images (a scalar) or two batches (one value per pair): the mean over
    positions and channels of luminance x contrast-structure, with a ``filter_size`` Gaussian window (VALID) of
    ``filter_sigma``; ``max_val`` is the dynamic range (1.0 for images in [0, 1]). Computed in float and cast to
    ``image1``'s dtype, as Keras. Differentiable in both images.

    >>> import numpy as np
    >>> from tapeflow import keras
    >>> a = np.linspace(0.0, 1.0, 64, dtype="float32").reshape(8, 8, 1)
    >>> float(keras.ops.image.ssim(a, a, filter_size=3))
    1.0
    """
    from ...image_extra import ssim as _ssim
    op = "ssim"
    cf = _channels_first(data_format, op)
    a, b = _t(image1), _t(image2)
    if a._value.shape != b._value.shape:
        raise ValueError(f"{op}: `image1` and `image2` must have the same shape, got {a._value.shape} and "
                         f"{b._value.shape}")
    if not isinstance(filter_size, (int, np.integer)) or filter_size < 1:
        raise ValueError(f"{op}: `filter_size` must be a positive integer, got filter_size={filter_size!r}")
    dtype = a._value.dtype
    x, _ = _nhwc(_float(a), op, cf, "image1")
    y, _ = _nhwc(_float(b), op, cf, "image2")
    h, w = x._value.shape[1:3]
    if min(h, w) < filter_size:
        raise ValueError(f"{op}: the images are {h}x{w} but `filter_size` is {filter_size}; pass a filter_size no "
                         f"larger than the smaller side")
    out = _ssim(x, y, max_val, filter_size, filter_sigma, k1, k2)
    out = A.squeeze(out, 0) if a._value.ndim == 3 else out
    return out if out._value.dtype == dtype else A.cast(out, dtype.name)


# -- elastic_transform, scale_and_translate -----------------------------------------------------
def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                      seed=None, data_format=None) -> Tensor:
    """Displace every pixel by a smooth random field: per image, two normal fields (x and y) times ``sigma``,
    each blurred by a Gaussian of ``sigma`` (kernel ``6 * int(sigma) | 1``, zero padding), times ``alpha``; the
    image is read there by ``map_coordinates`` (order 1 for "bilinear", 0 for "nearest") with ``fill_mode``
    "constant", "nearest", "wrap" or "reflect". ``seed``: None, an int, or a ``keras.random.SeedGenerator``.
    Differentiable in ``images``. The draws are tapeflow's (Keras's TF backend draws TF's Philox stream, and
    draws the x and y fields with one seed, so its displacements all lie on the diagonal).

    >>> import numpy as np
    >>> from tapeflow import keras
    >>> flat = np.full((8, 8, 1), 3.0, "float32")
    >>> out = keras.ops.image.elastic_transform(flat, alpha=5.0, sigma=1.0, seed=1)
    >>> tuple(out.shape), bool(np.allclose(out.numpy(), 3.0))    # moving pixels of a flat image changes nothing
    ((8, 8, 1), True)
    """
    from .. import random as krandom
    op = "elastic_transform"
    _choice(op, "interpolation", interpolation, _INTERPOLATIONS)
    _choice(op, "fill_mode", fill_mode, _PROJECTIVE_FILL)
    if not float(sigma) > 0:
        raise ValueError(f"{op}: `sigma` must be > 0 (the smoothing of the displacement field), got sigma={sigma!r}")
    x, back = _nhwc(_float(images), op, _channels_first(data_format, op))
    n, h, w, c = x._value.shape
    dt = x._value.dtype
    g = krandom._gen(seed)
    size = 6 * int(sigma) | 1
    kernel = _gauss_1d(size, float(sigma))
    field = Tensor._wrap((g.standard_normal((n, h, w, 2)) * float(sigma)).astype(dt))   # (dx, dy) as channels
    field = _separable_same(field, kernel, kernel)._value.astype(np.float64) * float(alpha)
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    ys = Tensor._wrap((rows + field[..., 1])[..., None].astype(dt))
    xs = Tensor._wrap((cols + field[..., 0])[..., None].astype(dt))
    idx_b, idx_c = np.arange(n).reshape(n, 1, 1, 1), np.arange(c).reshape(1, 1, 1, c)
    out = _interpolate(x, [idx_b, ys, xs, idx_c], _INTERPOLATIONS.index(interpolation), fill_mode, fill_value)
    return back(out)


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method, antialias=True) -> Tensor:
    """Resample ``images`` to ``output_shape`` along ``spatial_dims``: input position (pixel centres at
    i + 0.5) p maps to p * scale + translation in the output, sampled with ``method`` "linear" (also
    "bilinear", "trilinear", "triangle"), "cubic" (Keys; also "bicubic", "tricubic"), "lanczos3" or "lanczos5";
    ``antialias`` widens the kernel when downsampling. Samples outside the input are zero. Integer images are
    rounded and clipped to their own range. Differentiable in ``images``.

    >>> import numpy as np
    >>> from tapeflow import keras
    >>> x = np.arange(3.0, dtype="float32")
    >>> keras.ops.image.scale_and_translate(x, (5,), [2.0], [-0.5], (0,), "linear").numpy().tolist()
    [0.0, 0.5, 1.0, 1.5, 2.0]
    """
    op = "scale_and_translate"
    _choice(op, "method", method, tuple(_SCALE_METHODS))
    x = _t(images)
    nd = x._value.ndim
    dims = [int(d) for d in np.asarray(spatial_dims).reshape(-1)]
    sc = np.asarray(scale._value if isinstance(scale, Tensor) else scale, np.float64).reshape(-1)
    tr = np.asarray(translation._value if isinstance(translation, Tensor) else translation, np.float64).reshape(-1)
    if not len(sc) == len(tr) == len(dims):
        raise ValueError(f"{op}: `scale`, `translation` and `spatial_dims` need one entry per resampled axis, got "
                         f"{len(sc)}, {len(tr)} and {len(dims)}")
    shape = [int(s) for s in np.asarray(output_shape._value if isinstance(output_shape, Tensor) else output_shape)]
    if len(shape) != nd:
        raise ValueError(f"{op}: `output_shape` must give all {nd} axes of `images` (shape {x._value.shape}), got "
                         f"{tuple(shape)}")
    if any(not -nd <= d < nd for d in dims) or np.any(sc == 0):
        raise ValueError(f"{op}: `spatial_dims` must be axes of a rank-{nd} input and `scale` non-zero, got "
                         f"spatial_dims={tuple(dims)}, scale={sc.tolist()}")
    dtype = x._value.dtype
    out = x if dtype.kind == "f" else A.cast(x, "float32")
    if nd == 1:   # (the matmul in _apply_axis wants rank >= 2)
        out = A.expand_dims(out, 0)
    for d, s, t in zip(dims, sc, tr):
        d %= nd
        w = _scale_weights(x._value.shape[d], shape[d], s, t, _SCALE_METHODS[method], bool(antialias))
        out = _apply_axis(out, d + (nd == 1), w)
    if nd == 1:
        out = A.squeeze(out, 0)
    if dtype.kind != "f":
        v = x._value
        lo, hi = (v.min(), v.max()) if v.size else (0, 0)
        return Tensor._wrap(np.clip(np.round(out._value), lo, hi).astype(dtype))
    return out


# -- extract_patches_3d ---------------------------------------------------------------------
def _triple(value, op: str, name: str) -> tuple:
    vals = [value] * 3 if np.ndim(value) == 0 else list(np.asarray(value).reshape(-1))
    if len(vals) != 3 or any(int(v) != v or v < 1 for v in vals):
        raise ValueError(f"{op}: `{name}` must be a positive integer or three of them (depth, height, width), got "
                         f"{name}={value!r}")
    return tuple(int(v) for v in vals)


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None) -> Tensor:
    """Patches of ``size`` (depth, height, width) every ``strides`` (default: ``size``), spread by
    ``dilation_rate``, laid out along the channel axis in (depth, row, column, channel) order:
    (B, D, H, W, C) -> (B, oD, oH, oW, pd*ph*pw*C); one unbatched volume works too. ``padding`` "valid" or
    "same" (TF's split, the extra on the far side). Differentiable.

    >>> import numpy as np
    >>> from tapeflow import keras
    >>> v = np.arange(8.0, dtype="float32").reshape(2, 2, 2, 1)
    >>> keras.ops.image.extract_patches_3d(v, 2).numpy().reshape(-1).tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    """
    op = "extract_patches_3d"
    x = _t(volumes)
    if x._value.ndim not in (4, 5):
        raise ValueError(f"{op}: `volumes` must be one volume (rank 4) or a batch of volumes (rank 5), got shape "
                         f"{x._value.shape}")
    ks = _triple(size, op, "size")
    st = ks if strides is None else _triple(strides, op, "strides")
    dl = _triple(dilation_rate, op, "dilation_rate")
    mode = str(padding).lower()
    _choice(op, "padding", mode, ("valid", "same"))
    cf = _channels_first(data_format, op)
    single = x._value.ndim == 4
    if single:
        x = A.expand_dims(x, 0)
    if cf:
        x = A.transpose(x, (0, 2, 3, 4, 1))
    spatial = x._value.shape[1:4]
    outs, pads, index = [], [[0, 0]], []
    for n, k, s, d in zip(spatial, ks, st, dl):
        eff = (k - 1) * d + 1
        if mode == "valid":
            o, before, total = (n - eff) // s + 1, 0, 0
        else:
            o = -(-n // s)
            total = max((o - 1) * s + eff - n, 0)
            before = total // 2
        if o < 1:
            raise ValueError(f"{op}: a patch spans {eff} along an axis of length {n} (shape {x._value.shape}); "
                             f"use padding='same' or a smaller size/dilation_rate")
        outs.append(o)
        pads.append([before, total - before])
        index.append((np.arange(o) * s)[:, None] + (np.arange(k) * d)[None, :])   # (out, k)
    if any(p != [0, 0] for p in pads):
        x = A.pad(x, pads + [[0, 0]])
    (od, kd), (oh, kh), (ow, kw) = [i.shape for i in index]
    c = x._value.shape[-1]
    key = (slice(None), index[0].reshape(od, 1, 1, kd, 1, 1, 1), index[1].reshape(1, oh, 1, 1, kh, 1, 1),
           index[2].reshape(1, 1, ow, 1, 1, kw, 1), np.arange(c).reshape(1, 1, 1, 1, 1, 1, c))
    y = A.reshape(A.getitem(x, key), (x._value.shape[0], od, oh, ow, kd * kh * kw * c))
    if cf:
        y = A.transpose(y, (0, 4, 1, 2, 3))
    return A.squeeze(y, 0) if single else y
