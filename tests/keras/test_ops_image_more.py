"""keras.ops.image's warps, filters, SSIM and 3-D patches (affine_transform, perspective_transform,
map_coordinates, gaussian_blur, elastic_transform, scale_and_translate, sobel_edges, ssim, extract_patches_3d).

Values, and TF's gradients where TF's are exact, against real Keras 3.15.1 (TF backend) in
``fixtures/keras_ops_image_more.json`` (written by ``fixtures/make_keras_ops_image_more.py``); every gradient
against float64 central differences. Where Keras's TF backend is wrong or refuses, tapeflow follows Keras's
documented semantics (those of its JAX / NumPy backends) and is checked against an independent NumPy oracle here:

* ``map_coordinates`` "mirror" past the last pixel (TF gathers out of range and fails) and "reflect" before the
  first (TF mirrors instead): checked against ``np.pad(mode="reflect" / "symmetric")``;
* ``gaussian_blur`` with a non-square kernel (TF reshapes the (y, x) outer product into the wrong shape): the
  (x, y) = (width, height) convention every backend uses for square kernels, against a direct convolution;
* ``affine_transform`` / ``perspective_transform`` gradients: TF registers the inverse warp (an approximation);
  tapeflow's is the exact VJP, checked by central differences;
* ``elastic_transform``: TF's Philox stream cannot be reproduced, and TF draws the x and y fields with one seed
  (all displacements on the diagonal); tapeflow draws them independently. Checked by structure and statistics.
* integer ``scale_and_translate`` (TF fails clipping a float by integer bounds): rounded and clipped, as JAX.
"""
import json
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.debug import check_gradients

ops = keras.ops
FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras_ops_image_more.json")
with open(FIXTURE) as _f:
    DATA = json.load(_f)
CASES = {c["name"]: c for c in DATA["cases"]}
# TF's registered gradient for ImageProjectiveTransformV3 is the inverse warp, not the VJP: not compared
TF_GRAD_APPROXIMATE = {"affine_transform", "perspective_transform"}


def dec(v):
    if isinstance(v, dict) and "ref" in v:
        return dec(DATA["inputs"][v["ref"]])
    if isinstance(v, dict) and "a" in v:
        return np.array(v["a"], dtype=v["dtype"])
    if isinstance(v, list):
        return [dec(x) for x in v]
    return v


def ramp(shape):
    n = int(np.prod(shape))
    return np.cos(np.arange(n) * 0.37 + 0.1).reshape(shape)


def call(case, args=None):
    return getattr(ops.image, case["fn"])(*(dec(case["args"]) if args is None else args), **case["kwargs"])


def test_fixture_is_keras_3_15_1():
    assert DATA["keras"] == "3.15.1" and len(CASES) == len(DATA["cases"]) >= 55
    assert {c["fn"] for c in DATA["cases"]} >= {"affine_transform", "perspective_transform", "map_coordinates",
                                                "gaussian_blur", "scale_and_translate", "sobel_edges", "ssim",
                                                "extract_patches_3d", "extract_patches"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_match_keras(name):
    case = CASES[name]
    want = dec(case["out"])
    got = call(case).numpy()
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6 * max(1.0, float(np.abs(want).max())))


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items()
                                        if "grads" in c and c["fn"] not in TF_GRAD_APPROXIMATE))
def test_gradients_match_tensorflow(name):
    case = CASES[name]
    args = dec(case["args"])
    pos = [int(k) for k in case["grads"]]
    vs = [tf.Variable(a) if i in pos else a for i, a in enumerate(args)]
    with tf.GradientTape() as tape:
        y = call(case, vs)
        loss = tf.reduce_sum(tf.cast(y, "float64") * ramp(y.shape))
    for i, g in zip(pos, tape.gradient(loss, [vs[i] for i in pos])):
        want = dec(case["grads"][str(i)])
        np.testing.assert_allclose(g.numpy(), want, rtol=1e-5, atol=2e-6 * max(1.0, float(np.abs(want).max())))


# -- exact gradients: central differences in float64 ------------------------------------------
IMG = np.random.default_rng(3).random((2, 5, 6, 2))
SHEAR = np.array([[0.9, 0.35, -0.7, -0.25, 1.1, 0.6, 0.0, 0.0],
                  [0.8, -0.3, 2.2, 0.4, 0.7, -1.3, 0.03, -0.05]], np.float32)


@pytest.mark.parametrize("mode", ["constant", "nearest", "wrap", "reflect"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_affine_transform_gradient_is_the_exact_vjp(mode, interpolation):
    errs = check_gradients(lambda x: ops.image.affine_transform(x, SHEAR, interpolation, mode, fill_value=0.7), IMG)
    assert max(errs) < 1e-6


def test_perspective_transform_gradient():
    start = [[0, 0], [5, 0], [0, 4], [5, 4]]
    end = [[0.4, 0.3], [4.6, -0.2], [0.2, 4.3], [5.3, 3.6]]
    assert max(check_gradients(lambda x: ops.image.perspective_transform(x, start, end, fill_value=0.3), IMG)) < 1e-6


def test_map_coordinates_gradient_in_inputs_and_coordinates():
    grid = np.random.default_rng(4).random((4, 5))
    coords = np.random.default_rng(5).uniform(-1.7, 5.6, (2, 3, 3))
    coords = np.where(np.abs(coords - np.round(coords)) < 0.05, coords + 0.2, coords)   # away from the kinks
    for mode in ("constant", "nearest", "wrap", "mirror", "reflect"):
        errs = check_gradients(lambda x, c: ops.image.map_coordinates(x, c, 1, fill_mode=mode, fill_value=0.4),
                               grid, coords)
        assert max(errs) < 1e-6, mode
    assert max(check_gradients(lambda x: ops.image.map_coordinates(x, coords, 0, fill_mode="mirror"), grid)) < 1e-6


@pytest.mark.parametrize("fn", [
    lambda x: ops.image.gaussian_blur(x, (5, 3), (1.3, 0.6)),
    lambda x: ops.image.gaussian_blur(x, (4, 4), (0.9, 1.4), data_format="channels_first"),
    lambda x: ops.image.sobel_edges(x),
    lambda x: ops.image.ssim(x, np.cos(IMG * 3.0), max_val=1.0, filter_size=3),
    lambda x: ops.image.scale_and_translate(x, (2, 8, 3, 2), [1.6, 0.5], [0.2, -0.4], (1, 2), "lanczos3"),
    lambda x: ops.image.extract_patches_3d(x, (2, 2, 1), strides=1, padding="same"),
    lambda x: ops.image.elastic_transform(x, alpha=2.0, sigma=1.0, seed=3),
], ids=["blur", "blur_cf", "sobel", "ssim", "scale_and_translate", "patches3d", "elastic"])
def test_filter_gradients(fn):
    assert max(check_gradients(fn, IMG)) < 1e-6


def test_ssim_gradient_in_both_images():
    a, b = IMG, np.clip(IMG + 0.1 * np.sin(np.arange(IMG.size)).reshape(IMG.shape), 0, 1)
    assert max(check_gradients(lambda x, y: ops.image.ssim(x, y, filter_size=3, filter_sigma=0.9), a, b)) < 1e-6


# -- Keras's documented semantics where the TF backend is wrong ------------------------------
def _pad_oracle(x, coords, order, mode):
    """``map_coordinates`` by NumPy padding (Keras's NumPy backend's approach): pad every axis far enough with
    np.pad's matching mode, then interpolate inside the padded array."""
    p = 40
    padded = np.pad(x, p, mode={"mirror": "reflect", "reflect": "symmetric", "nearest": "edge",
                                "wrap": "wrap"}[mode])
    c = [np.asarray(ci, np.float64) + p for ci in coords]
    if order == 0:
        return padded[tuple(np.round(ci).astype(int) for ci in c)]
    out = 0.0
    lows = [np.floor(ci).astype(int) for ci in c]
    for corner in np.ndindex(*(2,) * x.ndim):
        w = np.prod([np.where(k, ci - lo, 1 - (ci - lo)) for k, ci, lo in zip(corner, c, lows)], axis=0)
        out = out + w * padded[tuple(lo + k for k, lo in zip(corner, lows))]
    return out


@pytest.mark.parametrize("mode", ["mirror", "reflect", "nearest", "wrap"])
@pytest.mark.parametrize("order", [0, 1])
def test_map_coordinates_fill_modes_everywhere(mode, order):
    rng = np.random.default_rng(11)
    x = rng.random((4, 5))
    coords = np.stack([rng.uniform(-9.3, 12.7, 40), rng.uniform(-9.6, 13.2, 40)])
    coords[:, :6] = [[-1.0, -0.5, 3.0, 4.0, -2.5, 6.5], [-1.0, 4.0, 5.0, -0.5, 5.5, -3.5]]   # edges and ties
    got = ops.image.map_coordinates(x, coords, order, fill_mode=mode).numpy()
    np.testing.assert_allclose(got, _pad_oracle(x, coords, order, mode), rtol=1e-12, atol=1e-12)


def test_map_coordinates_reflect_and_mirror_edges():
    x = np.array([0.0, 10.0, 20.0, 30.0])
    at = [[-1.0, -2.0, 4.0, 5.0]]
    assert ops.image.map_coordinates(x, at, 0, fill_mode="reflect").numpy().tolist() == [0.0, 10.0, 30.0, 20.0]
    assert ops.image.map_coordinates(x, at, 0, fill_mode="mirror").numpy().tolist() == [10.0, 20.0, 20.0, 10.0]
    assert ops.image.map_coordinates(x, at, 0, fill_mode="wrap").numpy().tolist() == [30.0, 20.0, 0.0, 10.0]
    assert ops.image.map_coordinates(np.ones(1), [[-3.0, 2.0]], 1, fill_mode="mirror").numpy().tolist() == [1, 1]


def _blur_oracle(x, kx, ky, sx, sy):
    def g(n, s):
        t = np.arange(n) - (n - 1) / 2
        k = np.exp(-0.5 * (t / s) ** 2)
        return k / k.sum()
    k2 = np.outer(g(ky, sy), g(kx, sx))                     # rows: height (y), columns: width (x)
    n, h, w, c = x.shape
    p = np.pad(x, ((0, 0), ((ky - 1) // 2, ky - 1 - (ky - 1) // 2), ((kx - 1) // 2, kx - 1 - (kx - 1) // 2), (0, 0)))
    return sum(k2[i, j] * p[:, i:i + h, j:j + w] for i in range(ky) for j in range(kx))


@pytest.mark.parametrize("kernel,sigma", [((5, 3), (1.5, 0.7)), ((2, 5), (0.8, 2.0)), ((3, 3), (0.5, 2.5))])
def test_gaussian_blur_kernel_and_sigma_are_x_then_y(kernel, sigma):
    x = np.random.default_rng(2).random((2, 7, 8, 3))
    got = ops.image.gaussian_blur(x, kernel, sigma).numpy()
    np.testing.assert_allclose(got, _blur_oracle(x, *kernel, *sigma), rtol=1e-12, atol=1e-12)


def test_gaussian_blur_matches_the_augmentation_layers_blur():
    from tapeflow.keras.layers.image_augmentation2 import gaussian_blur as layer_blur
    x = np.random.default_rng(9).random((1, 6, 9, 2))
    np.testing.assert_allclose(ops.image.gaussian_blur(x, (5, 3), (1.2, 0.4)).numpy(),
                               layer_blur(x, (5, 3), (1.2, 0.4)), rtol=1e-12, atol=1e-12)
    row = np.zeros((1, 5, 5, 1))
    row[0, 2, 2] = 1.0
    only_x = ops.image.gaussian_blur(row, (3, 1), (1.0, 1.0)).numpy()[0, ..., 0]
    assert np.count_nonzero(only_x[2]) == 3 and np.count_nonzero(only_x) == 3


def test_scale_and_translate_integer_images_round_and_clip():
    u8 = (np.random.default_rng(1).random((6, 5)) * 255).astype(np.uint8)
    got = ops.image.scale_and_translate(u8, (9, 4), [1.4, 0.8], [0.3, -0.2], (0, 1), "lanczos3")
    ref = ops.image.scale_and_translate(u8.astype(np.float64), (9, 4), [1.4, 0.8], [0.3, -0.2], (0, 1), "lanczos3")
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got.numpy(), np.clip(np.round(ref.numpy()), u8.min(), u8.max()))


def test_extract_patches_3d_layout():
    v = np.arange(2 * 3 * 4 * 5 * 2, dtype=np.float32).reshape(2, 3, 4, 5, 2)
    p = ops.image.extract_patches_3d(v, (2, 2, 3), strides=(1, 2, 2)).numpy()
    assert p.shape == (2, 2, 2, 2, 24)
    np.testing.assert_array_equal(p[1, 1, 0, 1].reshape(2, 2, 3, 2), v[1, 1:3, 0:2, 2:5])
    np.testing.assert_array_equal(ops.image.extract_patches(v, (2, 2, 3), strides=(1, 2, 2)).numpy(), p)


# -- elastic_transform: structure and statistics ---------------------------------------------
def _coordinate_image(n, h, w):
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    return np.broadcast_to(np.stack([rows, cols], -1), (n, h, w, 2)).copy()


def test_elastic_transform_displacement_statistics():
    n, h, w, alpha, sigma = 8, 64, 64, 10.0, 3.0
    img = _coordinate_image(n, h, w)
    out = ops.image.elastic_transform(img, alpha=alpha, sigma=sigma, seed=5).numpy()
    m = 16                                   # bilinear reads of a linear ramp are exact: out = source position
    dy = (out[..., 0] - img[..., 0])[:, m:-m, m:-m]
    dx = (out[..., 1] - img[..., 1])[:, m:-m, m:-m]
    t = np.arange(6 * int(sigma) | 1) - 9
    k = np.exp(-0.5 * (t / sigma) ** 2)
    k /= k.sum()
    expected = alpha * sigma * np.sqrt(np.sum(np.outer(k, k) ** 2))   # std of blurred white noise, interior
    for d in (dx, dy):
        assert abs(d.mean()) < 0.25 * expected and 0.8 * expected < d.std() < 1.2 * expected
    assert abs(np.corrcoef(dx.ravel(), dy.ravel())[0, 1]) < 0.3    # independent fields (Keras's TF backend: 1.0)


def test_elastic_transform_seeds_layouts_and_identity():
    x = np.random.default_rng(0).random((2, 12, 10, 3)).astype(np.float32)
    a = ops.image.elastic_transform(x, alpha=4.0, sigma=2.0, seed=7).numpy()
    assert a.shape == x.shape and a.dtype == np.float32 and not np.allclose(a, x)
    np.testing.assert_array_equal(ops.image.elastic_transform(x, alpha=4.0, sigma=2.0, seed=7).numpy(), a)
    assert not np.allclose(ops.image.elastic_transform(x, alpha=4.0, sigma=2.0, seed=8).numpy(), a)
    gen = keras.random.SeedGenerator(1)
    assert not np.allclose(ops.image.elastic_transform(x, seed=gen).numpy(),
                           ops.image.elastic_transform(x, seed=gen).numpy())
    cf = ops.image.elastic_transform(x.transpose(0, 3, 1, 2), alpha=4.0, sigma=2.0, seed=7,
                                     data_format="channels_first").numpy()
    np.testing.assert_allclose(cf.transpose(0, 2, 3, 1), a, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ops.image.elastic_transform(x, alpha=0.0, sigma=2.0, seed=1).numpy(), x, atol=1e-6)
    one = ops.image.elastic_transform(x[0], alpha=3.0, sigma=1.0, interpolation="nearest", fill_mode="constant",
                                      fill_value=-1.0, seed=2).numpy()
    assert one.shape == x[0].shape and set(np.unique(one)) <= set(np.unique(x[0])) | {-1.0}


# -- errors name the argument, what was expected and what came ---------------------------------
@pytest.mark.parametrize("call_,match", [
    (lambda: ops.image.affine_transform(IMG, SHEAR, interpolation="cubic"), "interpolation.*'nearest', 'bilinear'"),
    (lambda: ops.image.affine_transform(IMG, SHEAR, fill_mode="mirror"), "fill_mode.*map_coordinates"),
    (lambda: ops.image.affine_transform(IMG, SHEAR[:, :6]), r"transform.*\(8,\) or \(N, 8\).*\(2, 6\)"),
    (lambda: ops.image.affine_transform(IMG, np.tile(SHEAR, (2, 1))), "4 rows but the batch has 2"),
    (lambda: ops.image.affine_transform(IMG[0, 0], SHEAR), r"images.*rank 3.*rank 4.*\(6, 2\)"),
    (lambda: ops.image.affine_transform(IMG, SHEAR, data_format="NHWC"), "data_format.*'channels_last'"),
    (lambda: ops.image.perspective_transform(IMG, np.zeros((3, 2)), np.zeros((3, 2))), r"start_points.*\(4, 2\)"),
    (lambda: ops.image.perspective_transform(IMG, np.zeros((1, 4, 2)), np.zeros((4, 2))), "same shape"),
    (lambda: ops.image.map_coordinates(np.ones((3, 3)), np.zeros((3, 4)), 1), r"coordinates.*rank of inputs = 2"),
    (lambda: ops.image.map_coordinates(np.ones((3, 3)), np.zeros((2, 4)), 3), "order.*0.*1.*order=3"),
    (lambda: ops.image.map_coordinates(np.ones((3, 3)), np.zeros((2, 4)), 1, fill_mode="edge"), "fill_mode"),
    (lambda: ops.image.gaussian_blur(IMG, (3, 0)), "kernel_size.*positive integers"),
    (lambda: ops.image.gaussian_blur(IMG, (3, 3), (1.0, -1.0)), "sigma.*positive"),
    (lambda: ops.image.elastic_transform(IMG, sigma=0.0), "sigma.*> 0"),
    (lambda: ops.image.elastic_transform(IMG, fill_mode="mirror"), "fill_mode"),
    (lambda: ops.image.sobel_edges(IMG[0]), r"rank 4.*\(5, 6, 2\)"),
    (lambda: ops.image.ssim(IMG, IMG[:1]), r"same shape.*\(2, 5, 6, 2\).*\(1, 5, 6, 2\)"),
    (lambda: ops.image.ssim(IMG, IMG), "5x6 but `filter_size` is 11"),
    (lambda: ops.image.scale_and_translate(IMG, (2, 3, 3, 2), [1.0], [0.0, 0.0], (1, 2), "linear"), "one entry"),
    (lambda: ops.image.scale_and_translate(IMG, (3, 3), [1.0, 1.0], [0.0, 0.0], (1, 2), "linear"), "output_shape"),
    (lambda: ops.image.scale_and_translate(IMG, (2, 3, 3, 2), [1, 1], [0, 0], (1, 2), "area"), "method"),
    (lambda: ops.image.extract_patches_3d(np.ones((2, 3, 3, 3, 1)), (2, 2)), "size.*three"),
    (lambda: ops.image.extract_patches_3d(np.ones((2, 3, 3, 3, 1)), 4), "spans 4.*padding='same'"),
    (lambda: ops.image.extract_patches_3d(np.ones((3, 3, 3)), 2), r"volumes.*rank 4.*rank 5"),
    (lambda: ops.image.extract_patches_3d(np.ones((1, 3, 3, 3, 1)), 2, padding="full"), "padding"),
])
def test_bad_arguments_are_named(call_, match):
    with pytest.raises(ValueError, match=match):
        call_()
