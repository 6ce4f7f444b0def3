"""tapeflow.image: values against hand computations and torch.nn.functional.interpolate."""
import numpy as np
import pytest

import tapeflow as tf
from _oracle import require_torch


def batch(n=16, h=5, w=7, c=3, seed=0):
    return np.random.default_rng(seed).random((n, h, w, c)).astype(np.float32)


def to_nchw(x):
    return np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)))


# -- flips, rotations, crops --------------------------------------------------------------------
def test_flips_single_and_batch():
    img = np.arange(2 * 3 * 1).reshape(2, 3, 1)
    assert tf.image.flip_left_right(img)[..., 0].numpy().tolist() == [[2, 1, 0], [5, 4, 3]]
    assert tf.image.flip_up_down(img)[..., 0].numpy().tolist() == [[3, 4, 5], [0, 1, 2]]
    b = batch()
    np.testing.assert_array_equal(tf.image.flip_left_right(b).numpy(), b[:, :, ::-1])
    np.testing.assert_array_equal(tf.image.flip_up_down(b).numpy(), b[:, ::-1])
    np.testing.assert_array_equal(tf.image.rot90(b, k=3).numpy(), np.rot90(b, 3, axes=(1, 2)))
    assert isinstance(tf.image.flip_left_right(tf.constant(img)), tf.Tensor)


def test_rank_two_image_error_suggests_a_channel_axis():
    with pytest.raises(ValueError, match=r"random_flip_left_right.*\(28, 28\).*channel axis"):
        tf.image.random_flip_left_right(np.zeros((28, 28)))


def test_random_flip_decides_per_image_and_is_seeded():
    b = batch(n=64)
    tf.random.set_seed(3)
    out = tf.image.random_flip_left_right(b).numpy()
    flipped = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(out, b)])
    kept = np.array([np.array_equal(o, i) for o, i in zip(out, b)])
    assert (flipped ^ kept).all() and 10 < flipped.sum() < 54
    tf.random.set_seed(3)
    np.testing.assert_array_equal(tf.image.random_flip_left_right(b).numpy(), out)
    ud = tf.image.random_flip_up_down(b).numpy()
    assert all(np.array_equal(o, i) or np.array_equal(o, i[::-1]) for o, i in zip(ud, b))
    s1 = tf.image.stateless_random_flip_left_right(b, seed=(1, 2)).numpy()
    np.testing.assert_array_equal(s1, tf.image.stateless_random_flip_left_right(b, seed=(1, 2)).numpy())
    tf.random.set_seed(None)


def test_random_crop_windows_per_image_offsets_and_errors():
    img = np.arange(10 * 12).reshape(10, 12, 1)
    tf.random.set_seed(0)
    out = tf.image.random_crop(img, (4, 5, 1)).numpy()[..., 0]
    r, c = divmod(int(out[0, 0]), 12)
    np.testing.assert_array_equal(out, img[r:r + 4, c:c + 5, 0])
    b = np.stack([img] * 32)
    outs = tf.image.random_crop(b, (32, 4, 5, 1)).numpy()
    corners = {int(o[0, 0, 0]) for o in outs}
    assert len(corners) > 5  # each image has its own offset
    for o in outs:
        r, c = divmod(int(o[0, 0, 0]), 12)
        np.testing.assert_array_equal(o[..., 0], img[r:r + 4, c:c + 5, 0])
    with pytest.raises(ValueError, match="random_crop"):
        tf.image.random_crop(img, (11, 5, 1))
    tf.random.set_seed(None)


def test_central_crop_and_bounding_boxes():
    img = np.arange(10 * 8).reshape(10, 8, 1)
    # TF: start = int((size - size * fraction) / 2), kept size = size - 2 * start
    out = tf.image.central_crop(img, 0.5).numpy()
    np.testing.assert_array_equal(out, img[2:8, 2:6])
    assert tf.image.central_crop(img, 0.33).shape.as_list() == [4, 4, 1]  # starts int(3.35)=3, int(2.68)=2
    np.testing.assert_array_equal(tf.image.crop_to_bounding_box(img, 1, 2, 3, 4).numpy(), img[1:4, 2:6])
    padded = tf.image.pad_to_bounding_box(img, 1, 2, 12, 11).numpy()
    assert padded.shape == (12, 11, 1) and padded[0].sum() == 0 and np.array_equal(padded[1:11, 2:10], img)
    assert tf.image.resize_with_crop_or_pad(img, 6, 10).shape.as_list() == [6, 10, 1]
    with pytest.raises(ValueError, match="central_fraction"):
        tf.image.central_crop(img, 0.0)


# -- dtype and photometric --------------------------------------------------------------------------
def test_convert_image_dtype():
    u8 = np.array([0, 128, 255], np.uint8)
    np.testing.assert_allclose(tf.image.convert_image_dtype(u8, tf.float32).numpy(), [0, 128 / 255, 1], rtol=1e-6)
    f = np.array([0.0, 0.5, 1.0, 1.2], np.float32)
    # float -> int scales by MAX + 0.5 and truncates, as TF
    assert tf.image.convert_image_dtype(f, tf.uint8, saturate=True).numpy().tolist() == [0, 127, 255, 255]
    assert tf.image.convert_image_dtype(u8, tf.int16).numpy().tolist() == [0, 128 * 128, 255 * 128]
    assert tf.image.convert_image_dtype(np.array([32767, 256], np.int16), tf.uint8).numpy().tolist() == [255, 2]


def test_brightness_contrast_and_standardization():
    x = np.array([0.1, 0.5, 0.9, 0.3], np.float32).reshape(2, 2, 1)
    np.testing.assert_allclose(tf.image.adjust_brightness(x, 0.2).numpy(), x + 0.2, rtol=1e-6)
    np.testing.assert_allclose(tf.image.adjust_contrast(x, 2.0).numpy(), (x - 0.45) * 2 + 0.45, rtol=1e-5)
    u8 = np.array([10, 250], np.uint8).reshape(1, 2, 1)
    assert tf.image.adjust_brightness(u8, 0.1).numpy().ravel().tolist() == [35, 255]  # saturates
    b = batch(n=32)
    tf.random.set_seed(1)
    out = tf.image.random_brightness(b, 0.2).numpy()
    deltas = (out - b).reshape(32, -1)
    np.testing.assert_allclose(deltas, deltas[:, :1].repeat(deltas.shape[1], 1), atol=1e-6)
    assert np.abs(deltas).max() <= 0.2 and len(np.unique(deltas[:, 0].round(5))) > 20
    c = tf.image.random_contrast(b, 0.5, 1.5).numpy()
    mean = b.mean(axis=(1, 2), keepdims=True)
    factors = (c - mean)[:, 0, 0, 0] / (b - mean)[:, 0, 0, 0]
    assert ((0.5 <= factors) & (factors < 1.5)).all() and len(np.unique(factors.round(3))) > 20
    s = tf.image.per_image_standardization(b).numpy()
    np.testing.assert_allclose(s.mean(axis=(1, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(s.std(axis=(1, 2, 3)), 1, atol=1e-4)
    assert (tf.image.per_image_standardization(np.full((2, 2, 1), 7, np.uint8)).numpy() == 0).all()
    tf.random.set_seed(None)


# -- resize ---------------------------------------------------------------------------------------------
def test_resize_matches_the_tf_docstring_example():
    img = np.eye(5, dtype=np.int32)[None, :, :, None]
    out = tf.image.resize(img, [3, 5])[0, ..., 0].numpy()
    expected = [[0.6666667, 0.3333333, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0.3333335, 0.6666665]]
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert out.dtype == np.float32


@pytest.mark.parametrize("size", [(10, 14), (3, 4), (5, 3), (8, 20)])
def test_resize_bilinear_matches_torch_half_pixel(size):
    torch = require_torch()
    b = batch()
    ours = tf.image.resize(b, size).numpy()
    ref = torch.nn.functional.interpolate(torch.from_numpy(to_nchw(b)), size=size, mode="bilinear",
                                          align_corners=False).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(ours, ref, atol=1e-5)
    single = tf.image.resize(b[0], size).numpy()
    np.testing.assert_allclose(single, ref[0], atol=1e-5)


@pytest.mark.parametrize("size", [(2, 3), (3, 2), (10, 14)])
def test_resize_antialias_and_nearest_match_torch(size):
    torch = require_torch()
    b = batch(h=9, w=11)
    tb = torch.from_numpy(to_nchw(b))
    aa = tf.image.resize(b, size, antialias=True).numpy()
    ref = torch.nn.functional.interpolate(tb, size=size, mode="bilinear", align_corners=False,
                                          antialias=True).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(aa, ref, atol=1e-5)
    near = tf.image.resize(b, size, method="nearest").numpy()
    ref = torch.nn.functional.interpolate(tb, size=size, mode="nearest-exact").numpy().transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(near, ref)


def test_resize_area_matches_average_pooling_for_integer_factors():
    torch = require_torch()
    b = batch(h=8, w=12)
    ours = tf.image.resize(b, (4, 3), method="area").numpy()
    ref = torch.nn.functional.avg_pool2d(torch.from_numpy(to_nchw(b)), (2, 4)).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_resize_is_differentiable_and_checks_arguments():
    v = tf.Variable(batch(n=2))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.image.resize(v, (10, 14)))
    g = tape.gradient(loss, v).numpy()
    # each output pixel's weights sum to 1, so the gradient sums to the number of output pixels
    np.testing.assert_allclose(g.sum(), 2 * 10 * 14 * 3, rtol=1e-5)
    with pytest.raises(ValueError, match="resize.*method"):
        tf.image.resize(batch(), (3, 3), method="lanczos9")
    assert tf.image.resize(batch(), (6, 7), preserve_aspect_ratio=True).shape.as_list() == [16, 5, 7, 3]


def test_batched_map_equals_per_element_map_for_deterministic_ops():
    imgs = np.random.default_rng(0).integers(0, 256, (10, 6, 6, 1), dtype=np.uint8)

    def prep(x):
        return tf.image.resize(tf.image.flip_left_right(tf.image.convert_image_dtype(x, tf.float32)), (4, 4))
    ds = tf.data.Dataset.from_tensor_slices(imgs)
    per_element = np.stack(list(ds.map(prep).as_numpy_iterator()))
    vectorized = np.concatenate(list(ds.batch(4).map(prep).as_numpy_iterator()))
    np.testing.assert_allclose(per_element, vectorized, atol=1e-6)
