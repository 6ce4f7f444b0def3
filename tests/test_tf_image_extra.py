"""tf.image's colour, gradient, quality, patch, crop and NMS ops against TensorFlow 2's values
(``fixtures/tf_image_ops.json``, written by ``fixtures/make_tf_image_ops.py``); gradients of the loss-like ones."""
import json
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.debug import check_gradients

F = json.load(open(os.path.join(os.path.dirname(__file__), "fixtures", "tf_image_ops.json")))
IMG, IMG2 = np.array(F["img"], np.float32), np.array(F["img2"], np.float32)
BIG, BIG2 = np.array(F["big"], np.float32), np.array(F["big2"], np.float32)
BOXES = np.array([[0.1, 0.2, 0.8, 0.9], [0.5, 0.5, 0.2, 0.1], [-0.2, 0.0, 1.3, 1.0]], np.float32)


def close(got, key, atol=2e-6):
    np.testing.assert_allclose(np.asarray(got.numpy() if hasattr(got, "numpy") else got), F[key], atol=atol,
                               rtol=1e-5)


def test_colour_spaces_and_adjustments():
    close(tf.image.rgb_to_hsv(IMG), "hsv")
    close(tf.image.hsv_to_rgb(tf.image.rgb_to_hsv(IMG)), "rgb_back")
    close(tf.image.hsv_to_rgb(IMG), "hsv_to_rgb")
    close(tf.image.adjust_hue(IMG, 0.3), "hue", atol=1e-5)
    close(tf.image.adjust_hue(IMG, -0.45), "hue_neg", atol=1e-5)
    close(tf.image.adjust_saturation(IMG, 1.7), "sat", atol=1e-5)
    close(tf.image.adjust_gamma(IMG, 2.2, 0.9), "gamma")
    assert tf.image.adjust_gamma((IMG * 255).astype(np.uint8), 0.5).numpy().tolist() == F["gamma_u8"]
    for key, fn in (("yiq", tf.image.rgb_to_yiq), ("yiq_back", tf.image.yiq_to_rgb), ("yuv", tf.image.rgb_to_yuv),
                    ("yuv_back", tf.image.yuv_to_rgb)):
        close(fn(IMG), key, atol=1e-5)


def test_gradients_quality_and_patches():
    close(tf.image.total_variation(IMG), "tv", atol=1e-4)
    close(tf.image.total_variation(IMG[0]), "tv3", atol=1e-4)
    dy, dx = tf.image.image_gradients(IMG)
    close(dy, "dy")
    close(dx, "dx")
    close(tf.image.sobel_edges(IMG), "sobel", atol=1e-5)
    close(tf.image.psnr(IMG, IMG2, 1.0), "psnr", atol=1e-4)
    close(tf.image.ssim(BIG, BIG2, 1.0), "ssim", atol=1e-5)
    close(tf.image.ssim(BIG, BIG2, 2.0, filter_size=5, filter_sigma=0.8, k1=0.02, k2=0.05), "ssim_small", atol=1e-5)
    close(tf.image.extract_patches(IMG, [1, 3, 2, 1], [1, 2, 2, 1], [1, 1, 1, 1], "VALID"), "patches_valid")
    close(tf.image.extract_patches(IMG, [1, 2, 3, 1], [1, 3, 2, 1], [1, 2, 1, 1], "SAME"), "patches_same")


def test_crops_and_padding():
    close(tf.image.crop_and_resize(IMG, BOXES, [0, 1, 1], [4, 5]), "car_bilinear", atol=1e-5)
    close(tf.image.crop_and_resize(IMG, BOXES, [1, 0, 0], [3, 1], method="nearest", extrapolation_value=-1.0),
          "car_nearest")
    close(tf.image.resize_with_pad(IMG, 10, 4), "rwp", atol=1e-5)
    close(tf.image.resize_with_pad(IMG, 5, 9, method="nearest"), "rwp2")


def test_non_max_suppression():
    boxes, scores = np.array(F["nms_boxes"], np.float32), np.array(F["nms_scores"], np.float32)
    assert tf.image.non_max_suppression(boxes, scores, 8, 0.3).numpy().tolist() == F["nms"]
    assert tf.image.non_max_suppression(boxes, scores, 10, 0.5, score_threshold=0.4).numpy().tolist() == F["nms_thr"]
    idx, kept = tf.image.non_max_suppression_with_scores(boxes, scores, 8, 0.3, soft_nms_sigma=0.5)
    assert idx.numpy().tolist() == F["soft_i"]
    np.testing.assert_allclose(kept.numpy(), F["soft_s"], atol=1e-6)
    idx, n = tf.image.non_max_suppression_padded(boxes, scores, 6, 0.3, pad_to_max_output_size=True)
    assert idx.numpy().tolist() == F["pad_i"] and int(n) == F["pad_n"]


LOSSES = {
    "ssim": lambda a: tf.image.ssim(a, np.full((1, 6, 6, 2), 0.5), 1.0, filter_size=3),
    "psnr": lambda a: tf.image.psnr(a, np.full((1, 6, 6, 2), 0.5), 1.0),
    "total_variation": lambda a: tf.image.total_variation(a),
    "sobel": lambda a: tf.image.sobel_edges(a),
    "patches": lambda a: tf.image.extract_patches(a, [1, 2, 2, 1], [1, 2, 1, 1], [1, 1, 2, 1], "SAME"),
    "crop_and_resize": lambda a: tf.image.crop_and_resize(a, BOXES[:2], [0, 0], [3, 4]),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_like_ops_are_differentiable(name):
    x = np.random.default_rng(0).random((1, 6, 6, 2)) * 0.8 + 0.1
    check_gradients(LOSSES[name], x)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="rgb_to_hsv: expected RGB images with 3 channels"):
        tf.image.rgb_to_hsv(np.ones((2, 2, 4)))
    with pytest.raises(ValueError, match="ssim: the images \\(7x6\\) must be at least filter_size \\(11\\)"):
        tf.image.ssim(IMG, IMG2, 1.0)
    with pytest.raises(ValueError, match="adjust_hue: delta must be in \\[-1, 1\\]"):
        tf.image.adjust_hue(IMG, 1.5)
