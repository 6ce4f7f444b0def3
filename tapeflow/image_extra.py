"""More of ``tf.image``: HSV/YIQ/YUV colour spaces and hue, saturation and gamma adjustments; image gradients,
Sobel edges, total variation, PSNR and SSIM (differentiable, for losses); patch extraction, crop_and_resize and
resize_with_pad; non-maximum suppression. Values follow TensorFlow's kernels (``tests/fixtures/tf_image_ops.json``).

>>> import numpy as np, tapeflow as tf
>>> tf.image.rgb_to_hsv(np.array([[[1.0, 0.0, 0.0]]])).numpy().tolist()
[[[0.0, 1.0, 1.0]]]
"""
from __future__ import annotations

import numpy as np

from .autodiff.tensor import Tensor, convert_to_tensor
from .ops import array_ops as A
from .ops import math_ops as M
from .ops import reduce_ops as R

_YIQ = np.array([[0.299, 0.59590059, 0.2115], [0.587, -0.27455667, -0.52273617],
                 [0.114, -0.32134392, 0.31119955]])
_YUV = np.array([[0.299, -0.14714119, 0.61497538], [0.587, -0.28886916, -0.51496512],
                 [0.114, 0.43601035, -0.10001026]])
_YIQ_INV = np.array([[1, 1, 1], [0.95598634, -0.27201283, -1.10674021], [0.6208248, -0.64720424, 1.70423049]])
_YUV_INV = np.array([[1, 1, 1], [0, -0.394642334, 2.03206185], [1.13988303, -0.58062185, 0]])


def _float_image(image, what: str) -> Tensor:
    t = convert_to_tensor(image)
    if t._value.ndim < 3 or t._value.shape[-1] != 3:
        raise ValueError(f"{what}: expected RGB images with 3 channels on the last axis, got shape {t._value.shape}")
    return t if t._value.dtype.kind == "f" else A.cast(t, "float32")


def _rgb_to_hsv(x: np.ndarray) -> np.ndarray:
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    v = x.max(-1)
    rng = v - x.min(-1)
    s = np.where(v > 0, rng / np.where(v > 0, v, 1), 0)
    norm = 1.0 / (6.0 * np.where(rng > 0, rng, 1))
    h = np.where(r == v, (g - b) * norm, np.where(g == v, (b - r) * norm + 2 / 6, (r - g) * norm + 4 / 6))
    h = np.where(rng > 0, h, 0)
    return np.stack([np.where(h < 0, h + 1, h), s, v], -1).astype(x.dtype)


def _hsv_to_rgb(x: np.ndarray) -> np.ndarray:
    h, s, v = x[..., 0], x[..., 1], x[..., 2]
    dh = h * 6
    dr = np.clip(np.abs(dh - 3) - 1, 0, 1)
    dg = np.clip(2 - np.abs(dh - 2), 0, 1)
    db = np.clip(2 - np.abs(dh - 4), 0, 1)
    one_minus_s = 1 - s
    return np.stack([(one_minus_s + s * c) * v for c in (dr, dg, db)], -1).astype(x.dtype)


def rgb_to_hsv(images, name=None) -> Tensor:
    """RGB in [0, 1] to HSV, hue in [0, 1) (red 0, green 1/3, blue 2/3)."""
    return Tensor._wrap(_rgb_to_hsv(_float_image(images, "rgb_to_hsv")._value))


def hsv_to_rgb(images, name=None) -> Tensor:
    """The inverse of ``rgb_to_hsv``."""
    return Tensor._wrap(_hsv_to_rgb(_float_image(images, "hsv_to_rgb")._value))


def _in_dtype(image, fn, what: str, saturate: bool = False) -> Tensor:
    """``fn`` on the image as floats (integers converted to [0, 1] and back by ``convert_image_dtype``, as
    TensorFlow does)."""
    from .image import convert_image_dtype
    x = np.asarray(convert_to_tensor(image)._value)
    if x.dtype.kind == "f":
        return Tensor._wrap(fn(x).astype(x.dtype))
    y = fn(convert_image_dtype(x, "float32")._value)
    return convert_image_dtype(y.astype(np.float32), x.dtype, saturate=saturate)


def adjust_hue(image, delta, name=None) -> Tensor:
    """Rotate the hue by ``delta`` (in [-1, 1], a full turn being 1)."""
    d = float(np.asarray(getattr(delta, "_value", delta)))
    if not -1 <= d <= 1:
        raise ValueError(f"adjust_hue: delta must be in [-1, 1], got {d}")

    def shift(x):
        hsv = _rgb_to_hsv(x)
        hsv[..., 0] = np.mod(hsv[..., 0] + d, 1.0)
        return _hsv_to_rgb(hsv)
    return _in_dtype(image, shift, "adjust_hue")


def adjust_saturation(image, saturation_factor, name=None) -> Tensor:
    """Multiply the saturation by ``saturation_factor``, clipped to [0, 1]."""
    f = float(np.asarray(getattr(saturation_factor, "_value", saturation_factor)))

    def scale(x):
        hsv = _rgb_to_hsv(x)
        hsv[..., 1] = np.clip(hsv[..., 1] * f, 0, 1)
        return _hsv_to_rgb(hsv)
    return _in_dtype(image, scale, "adjust_saturation")


def random_hue(image, max_delta, seed=None) -> Tensor:
    """``adjust_hue`` by a delta drawn uniformly from [-max_delta, max_delta] (at most 0.5)."""
    if not 0 <= max_delta <= 0.5:
        raise ValueError(f"random_hue: max_delta must be in [0, 0.5], got {max_delta}")
    from .image import _stateless_gen
    return adjust_hue(image, float(_stateless_gen(seed).uniform(-max_delta, max_delta)))


def random_saturation(image, lower, upper, seed=None) -> Tensor:
    """``adjust_saturation`` by a factor drawn uniformly from [lower, upper)."""
    if not 0 <= lower < upper:
        raise ValueError(f"random_saturation: need 0 <= lower < upper, got lower={lower}, upper={upper}")
    from .image import _stateless_gen
    return adjust_saturation(image, float(_stateless_gen(seed).uniform(lower, upper)))


def adjust_gamma(image, gamma=1, gain=1) -> Tensor:
    """``gain * image ** gamma`` (integer images are scaled to [0, 1] and back)."""
    if gamma < 0:
        raise ValueError(f"adjust_gamma: gamma must be non-negative, got {gamma}")
    return _in_dtype(image, lambda x: gain * x ** gamma, "adjust_gamma", saturate=True)


def _mix(images, kernel, what) -> Tensor:
    x = _float_image(images, what)
    return M.matmul(x, A.cast(Tensor._wrap(kernel), x._value.dtype.name))


def rgb_to_yiq(images) -> Tensor:
    return _mix(images, _YIQ, "rgb_to_yiq")


def yiq_to_rgb(images) -> Tensor:
    return _mix(images, _YIQ_INV, "yiq_to_rgb")


def rgb_to_yuv(images) -> Tensor:
    return _mix(images, _YUV, "rgb_to_yuv")


def yuv_to_rgb(images) -> Tensor:
    return _mix(images, _YUV_INV, "yuv_to_rgb")


def _float(x) -> Tensor:
    t = convert_to_tensor(x)
    return t if t._value.dtype.kind == "f" else A.cast(t, "float32")


def total_variation(images, name=None) -> Tensor:
    """Sum of absolute differences of neighbouring pixels, per image (a scalar for one image)."""
    x = _float(images)
    axes = (-3, -2, -1)
    dy = M.abs(M.subtract(A.getitem(x, (Ellipsis, slice(1, None), slice(None), slice(None))),
                          A.getitem(x, (Ellipsis, slice(None, -1), slice(None), slice(None)))))
    dx = M.abs(M.subtract(A.getitem(x, (Ellipsis, slice(1, None), slice(None))),
                          A.getitem(x, (Ellipsis, slice(None, -1), slice(None)))))
    return M.add(R.reduce_sum(dy, axis=axes), R.reduce_sum(dx, axis=axes))


def image_gradients(image) -> tuple:
    """(dy, dx): forward differences of a (batch, h, w, c) image, zero on the last row / column."""
    x = _float(image)
    if x._value.ndim != 4:
        raise ValueError(f"image_gradients: expected a 4-D (batch, h, w, c) tensor, got shape {x._value.shape}")
    dy = M.subtract(A.getitem(x, (slice(None), slice(1, None))), A.getitem(x, (slice(None), slice(None, -1))))
    dx = M.subtract(A.getitem(x, (slice(None), slice(None), slice(1, None))),
                    A.getitem(x, (slice(None), slice(None), slice(None, -1))))
    return A.pad(dy, [[0, 0], [0, 1], [0, 0], [0, 0]]), A.pad(dx, [[0, 0], [0, 0], [0, 1], [0, 0]])


def sobel_edges(image) -> Tensor:
    """Sobel responses (batch, h, w, c, 2): [vertical (dy), horizontal (dx)], reflect-padded."""
    x = _float(image)
    p = A.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")
    h, w = x._value.shape[1:3]
    ky = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], np.float64)
    out = []
    for k in (ky, ky.T):
        terms = [M.multiply(float(k[i, j]), A.getitem(p, (slice(None), slice(i, i + h), slice(j, j + w))))
                 for i in range(3) for j in range(3) if k[i, j]]
        out.append(M.add_n(terms))
    return A.stack(out, axis=-1)


def psnr(a, b, max_val, name=None) -> Tensor:
    """Peak signal-to-noise ratio in dB per image: ``20 log10(max_val) - 10 log10(mse)``."""
    x, y = _float(a), _float(b)
    mse = R.reduce_mean(M.square(M.subtract(x, y)), axis=(-3, -2, -1))
    return M.subtract(20.0 * np.log10(float(max_val)), M.multiply(10.0 / np.log(10.0), M.log(mse)))


def _gauss_kernel(size: int, sigma: float) -> np.ndarray:
    coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = -0.5 * coords ** 2 / sigma ** 2
    g = np.exp(g[None, :] + g[:, None])
    return g / g.sum()


def ssim(img1, img2, max_val, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03, return_index_map=False) -> Tensor:
    """Structural similarity per image (mean over positions and channels of luminance x contrast-structure, with a
    Gaussian window ``filter_size`` wide, VALID), differentiable, as ``tf.image.ssim``."""
    from .ops.conv_ops import depthwise_conv2d
    x, y = _float(img1), _float(img2)
    h, w, c = x._value.shape[-3:]
    if h < filter_size or w < filter_size:
        raise ValueError(f"ssim: the images ({h}x{w}) must be at least filter_size ({filter_size}) on each side")
    lead = x._value.shape[:-3]
    kernel = np.tile(_gauss_kernel(filter_size, filter_sigma)[:, :, None, None], (1, 1, c, 1))
    kernel = Tensor._wrap(kernel.astype(x._value.dtype))

    def blur(t):
        t4 = A.reshape(t, (-1, h, w, c))
        return depthwise_conv2d(t4, kernel, [1, 1, 1, 1], "VALID")
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mean0, mean1 = blur(x), blur(y)
    num0 = M.multiply(M.multiply(mean0, mean1), 2.0)
    den0 = M.add(M.square(mean0), M.square(mean1))
    luminance = M.divide(M.add(num0, c1), M.add(den0, c1))
    num1 = M.multiply(blur(M.multiply(x, y)), 2.0)
    den1 = blur(M.add(M.square(x), M.square(y)))
    cs = M.divide(M.add(M.subtract(num1, num0), c2), M.add(M.subtract(den1, den0), c2))
    index_map = M.multiply(luminance, cs)
    if return_index_map:
        return A.reshape(index_map, lead + index_map._value.shape[1:])
    return A.reshape(R.reduce_mean(index_map, axis=(1, 2, 3)), lead)


def _four(v, what: str) -> tuple:
    v = [int(q) for q in np.asarray(v).reshape(-1)]
    if len(v) != 4 or v[0] != 1 or v[3] != 1:
        raise ValueError(f"extract_patches: {what} must be [1, rows, cols, 1], got {v}")
    return v[1], v[2]


def extract_patches(images, sizes, strides, rates, padding) -> Tensor:
    """Patches of ``sizes`` every ``strides`` (dilated by ``rates``) as the last axis (rows, cols, channels order),
    as ``tf.image.extract_patches``; differentiable."""
    x = _float(images) if convert_to_tensor(images)._value.dtype.kind not in "f" else convert_to_tensor(images)
    (kh, kw), (sh, sw), (rh, rw) = _four(sizes, "sizes"), _four(strides, "strides"), _four(rates, "rates")
    n, h, w, c = x._value.shape
    eh, ew = (kh - 1) * rh + 1, (kw - 1) * rw + 1
    if padding == "VALID":
        oh, ow, top, left = (h - eh) // sh + 1, (w - ew) // sw + 1, 0, 0
    elif padding == "SAME":
        oh, ow = -(-h // sh), -(-w // sw)
        top, left = max((oh - 1) * sh + eh - h, 0) // 2, max((ow - 1) * sw + ew - w, 0) // 2
        x = A.pad(x, [[0, 0], [top, max((oh - 1) * sh + eh - h, 0) - top],
                      [left, max((ow - 1) * sw + ew - w, 0) - left], [0, 0]])
    else:
        raise ValueError(f"extract_patches: padding must be 'VALID' or 'SAME', got {padding!r}")
    rows = (np.arange(oh) * sh)[:, None, None, None, None] + (np.arange(kh) * rh)[None, None, :, None, None]
    cols = (np.arange(ow) * sw)[None, :, None, None, None] + (np.arange(kw) * rw)[None, None, None, :, None]
    chans = np.arange(c)[None, None, None, None, :]
    patches = A.getitem(x, (slice(None), rows, cols, chans))          # (n, oh, ow, kh, kw, c)
    return A.reshape(patches, (n, oh, ow, kh * kw * c))


def crop_and_resize(image, boxes, box_indices, crop_size, method="bilinear", extrapolation_value=0.0,
                    name=None) -> Tensor:
    """Crops of ``image[box_indices]`` inside normalized ``boxes`` [y1, x1, y2, x2] resampled to ``crop_size``;
    samples outside the image take ``extrapolation_value``. Differentiable in the image."""
    x = _float(image)
    b = np.asarray(getattr(boxes, "_value", boxes), np.float64).reshape(-1, 4)
    idx = np.asarray(getattr(box_indices, "_value", box_indices)).astype(np.int64).reshape(-1)
    ch, cw = (int(s) for s in np.asarray(crop_size).reshape(-1))
    if method not in ("bilinear", "nearest"):
        raise ValueError(f"crop_and_resize: method must be 'bilinear' or 'nearest', got {method!r}")
    _, h, w, c = x._value.shape

    def coords(lo, hi, n, size):
        if n > 1:
            return lo[:, None] * (size - 1) + np.arange(n)[None, :] * ((hi - lo) * (size - 1) / (n - 1))[:, None]
        return (0.5 * (lo + hi) * (size - 1))[:, None]
    ys, xs = coords(b[:, 0], b[:, 2], ch, h), coords(b[:, 1], b[:, 3], cw, w)      # (boxes, ch), (boxes, cw)
    inside = ((ys >= 0) & (ys <= h - 1))[:, :, None] & ((xs >= 0) & (xs <= w - 1))[:, None, :]
    bi = idx[:, None, None]
    if method == "nearest":
        def nearest(v, n):  # C's roundf: halves away from zero
            return np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5), 0, n - 1).astype(np.int64)
        yi, xi = nearest(ys, h), nearest(xs, w)
        out = A.getitem(x, (bi, yi[:, :, None], xi[:, None, :]))
    else:
        y0, x0 = np.clip(np.floor(ys), 0, h - 1).astype(np.int64), np.clip(np.floor(xs), 0, w - 1).astype(np.int64)
        y1, x1 = np.clip(np.ceil(ys), 0, h - 1).astype(np.int64), np.clip(np.ceil(xs), 0, w - 1).astype(np.int64)
        fy = Tensor._wrap((ys - np.floor(ys))[:, :, None, None].astype(x._value.dtype))
        fx = Tensor._wrap((xs - np.floor(xs))[:, None, :, None].astype(x._value.dtype))

        def at(yy, xx):
            return A.getitem(x, (bi, yy[:, :, None], xx[:, None, :]))
        top = M.add(at(y0, x0), M.multiply(M.subtract(at(y0, x1), at(y0, x0)), fx))
        bottom = M.add(at(y1, x0), M.multiply(M.subtract(at(y1, x1), at(y1, x0)), fx))
        out = M.add(top, M.multiply(M.subtract(bottom, top), fy))
    fill = Tensor._wrap(np.asarray(extrapolation_value, x._value.dtype))
    return A.where(np.broadcast_to(inside[..., None], inside.shape + (c,)), out, fill)


def resize_with_pad(image, target_height, target_width, method="bilinear", antialias=False) -> Tensor:
    """Resize keeping the aspect ratio to fit ``target_height x target_width``, then pad with zeros around it
    (centred, the odd pixel after)."""
    from .image import pad_to_bounding_box, resize
    x = convert_to_tensor(image)
    h, w = x._value.shape[-3:-1]
    ratio = max(np.float32(w) / np.float32(target_width), np.float32(h) / np.float32(target_height))
    fh, fw = np.float32(h) / ratio, np.float32(w) / ratio         # the unrounded sizes set the padding
    resized = resize(x, [int(np.floor(fh)), int(np.floor(fw))], method=method, antialias=antialias)
    top = max(int(np.floor((np.float32(target_height) - fh) / 2)), 0)
    left = max(int(np.floor((np.float32(target_width) - fw) / 2)), 0)
    return pad_to_bounding_box(resized, top, left, target_height, target_width)


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    y1, x1 = np.minimum(box[0], box[2]), np.minimum(box[1], box[3])
    y2, x2 = np.maximum(box[0], box[2]), np.maximum(box[1], box[3])
    oy1, ox1 = np.minimum(others[:, 0], others[:, 2]), np.minimum(others[:, 1], others[:, 3])
    oy2, ox2 = np.maximum(others[:, 0], others[:, 2]), np.maximum(others[:, 1], others[:, 3])
    inter = np.clip(np.minimum(y2, oy2) - np.maximum(y1, oy1), 0, None) * \
        np.clip(np.minimum(x2, ox2) - np.maximum(x1, ox1), 0, None)
    union = (y2 - y1) * (x2 - x1) + (oy2 - oy1) * (ox2 - ox1) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _nms(boxes, scores, max_output_size, iou_threshold, score_threshold, sigma):
    b = np.asarray(getattr(boxes, "_value", boxes), np.float64).reshape(-1, 4)
    s = np.asarray(getattr(scores, "_value", scores), np.float64).reshape(-1).copy()
    if b.shape[0] != s.shape[0]:
        raise ValueError(f"non_max_suppression: {b.shape[0]} boxes but {s.shape[0]} scores")
    if not 0 <= iou_threshold <= 1:
        raise ValueError(f"non_max_suppression: iou_threshold must be in [0, 1], got {iou_threshold}")
    alive = s > score_threshold
    picked, picked_scores = [], []
    while len(picked) < int(max_output_size) and alive.any():
        i = int(np.flatnonzero(alive)[np.argmax(s[alive])])       # the best score; ties to the lower index
        picked.append(i)
        picked_scores.append(s[i])
        alive[i] = False
        iou = _iou(b[i], b)
        if sigma > 0:
            s = np.where(alive, s * np.exp(-0.5 * iou * iou / sigma), s)
            alive &= s > score_threshold
        else:
            alive &= iou <= iou_threshold
    return np.asarray(picked, np.int32), np.asarray(picked_scores, np.float32)


def non_max_suppression(boxes, scores, max_output_size, iou_threshold=0.5, score_threshold=float("-inf"),
                        name=None) -> Tensor:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first."""
    return Tensor._wrap(_nms(boxes, scores, max_output_size, iou_threshold, score_threshold, 0.0)[0])


def non_max_suppression_with_scores(boxes, scores, max_output_size, iou_threshold=0.5,
                                    score_threshold=float("-inf"), soft_nms_sigma=0.0, name=None) -> tuple:
    """(indices, scores) of greedy NMS; ``soft_nms_sigma > 0`` decays overlapping scores by
    ``exp(-iou^2 / (2 sigma))`` instead of dropping them (Soft-NMS)."""
    idx, sc = _nms(boxes, scores, max_output_size, iou_threshold, score_threshold, float(soft_nms_sigma))
    return Tensor._wrap(idx), Tensor._wrap(sc)


def non_max_suppression_padded(boxes, scores, max_output_size, iou_threshold=0.5, score_threshold=float("-inf"),
                               pad_to_max_output_size=False, name=None, sorted_input=False,
                               canonicalized_coordinates=False, tile_size=512) -> tuple:
    """(indices, count): NMS indices, zero-padded to ``max_output_size`` when asked, and how many are valid."""
    idx, _ = _nms(boxes, scores, max_output_size, iou_threshold, score_threshold, 0.0)
    n = idx.size
    if pad_to_max_output_size:
        idx = np.concatenate([idx, np.zeros(int(max_output_size) - n, np.int32)])
    return Tensor._wrap(idx), Tensor._wrap(np.asarray(n, np.int32))


__all__ = ["rgb_to_hsv", "hsv_to_rgb", "adjust_hue", "adjust_saturation", "random_hue", "random_saturation",
           "adjust_gamma", "rgb_to_yiq", "yiq_to_rgb", "rgb_to_yuv", "yuv_to_rgb", "total_variation",
           "image_gradients", "sobel_edges", "psnr", "ssim", "extract_patches", "crop_and_resize", "resize_with_pad",
           "non_max_suppression", "non_max_suppression_with_scores", "non_max_suppression_padded"]
