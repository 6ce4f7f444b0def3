"""``keras.ops.image.resize``, ``keras.layers.Resizing`` and ``tf.image.resize`` against Keras 3.15.1 on
TensorFlow 2.21 (fixtures from tests/fixtures/make_keras3_resize.py): values, dtypes, TF's gradients for a fixed
upstream gradient, float64 finite differences, Resizing's config, the preprocessing layers' default configs,
and the errors for bad arguments.
"""
import json
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.debug import check_gradients
from _oracle import require

HERE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
_JSON, _NPZ = os.path.join(HERE, "keras3_resize.json"), os.path.join(HERE, "keras3_resize.npz")
require("keras3_resize fixture", os.path.exists(_JSON) and os.path.exists(_NPZ),
        "/tmp/tfenv/bin/python tests/fixtures/make_keras3_resize.py (TensorFlow 2.21 / Keras 3.15.1)")
META = json.load(open(_JSON))
ARR = dict(np.load(_NPZ))
L = keras.layers
resize = keras.ops.image.resize


def _input(case):
    x = ARR["input/" + case["input"]]
    return x if not case.get("cast") else x.astype(case["cast"])


def _kwargs(case):
    kw = dict(case["kwargs"])
    kw["size"] = tuple(kw["size"])
    return kw


def _upstream(shape):
    return np.cos(0.37 * np.arange(int(np.prod(shape)))).astype(np.float32).reshape(shape)


def _assert_matches(got, want, dtype):
    assert str(got.dtype) == dtype, f"dtype {got.dtype}, Keras returns {dtype}"
    assert got.shape == want.shape
    if dtype == "uint8":   # rounded half to even and saturated; at an exact .5 tie TF's float32 sum may fall
        diff = np.abs(got.astype(int) - want.astype(int))   # on the other side of ours (float64): one step, rarely
        assert diff.max() <= 1 and np.count_nonzero(diff) <= max(1, diff.size // 100)
    elif dtype == "float16":
        np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), rtol=2e-3, atol=4e-3)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(want).max())))


@pytest.mark.parametrize("case", META["cases"], ids=lambda c: c["name"])
def test_op_values_and_dtype_equal_keras(case):
    out = resize(_input(case), **_kwargs(case))
    _assert_matches(out.numpy(), ARR["out/" + case["name"]], case["dtype"])


GRAD_CASES = [c for c in META["cases"] if "grad" in c]


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c["name"])
def test_gradient_equals_tensorflow(case):
    x = tf.Variable(_input(case))
    with tf.GradientTape() as tape:
        y = resize(x, **_kwargs(case))
    g = tape.gradient(y, x, output_gradients=tf.constant(_upstream(y.shape))).numpy()
    if case["grad"]:
        np.testing.assert_allclose(g, ARR["grad/" + case["name"]], rtol=1e-5, atol=1e-5)
    else:   # TF: "gradient registry has no entry for: ResizeArea"; ours is the transposed averaging
        assert case["kwargs"]["interpolation"] == "area" and "ResizeArea" in case["grad_error"]
        assert g.shape == x.shape and np.isfinite(g).all()


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area"])
@pytest.mark.parametrize("options", [dict(size=(4, 7)), dict(size=(3, 9), antialias=True),
                                     dict(size=(4, 4), crop_to_aspect_ratio=True),
                                     dict(size=(2, 6), pad_to_aspect_ratio=True, fill_value=0.3,
                                          data_format="channels_first")],
                         ids=["h_down_w_up", "antialias", "crop", "pad_cf"])
def test_gradient_equals_finite_differences(interpolation, options):
    x = np.random.default_rng(3).standard_normal((2, 5, 6, 2))
    check_gradients(lambda t: resize(t, interpolation=interpolation, **options), x, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", META["tf_cases"], ids=lambda c: c["name"])
def test_tf_image_resize_equals_tensorflow(case):
    out = tf.image.resize(ARR["input/" + case["input"]], case["size"], method=case["method"],
                          antialias=case["antialias"], preserve_aspect_ratio=case["preserve_aspect_ratio"])
    _assert_matches(out.numpy(), ARR["out/" + case["name"]], case["dtype"])


@pytest.mark.parametrize("case", META["layer_cases"], ids=lambda c: c["name"])
def test_resizing_layer_equals_keras(case):
    out = L.Resizing(**case["kwargs"])(_input(case))
    _assert_matches(out.numpy(), ARR["layer/" + case["name"]], case["dtype"])


def _config(layer):
    c = json.loads(json.dumps(layer.get_config()))   # as written to a .keras file
    c.pop("name")
    c.pop("dtype")
    return c


@pytest.mark.parametrize("name", sorted(META["resizing_configs"]))
def test_resizing_config_equals_keras_and_round_trips(name):
    ref = META["resizing_configs"][name]
    layer = L.Resizing(**ref["kwargs"])
    assert _config(layer) == ref["config"] == ref["round_trip"]
    again = L.Resizing.from_config(layer.get_config())
    assert _config(again) == ref["config"]
    assert json.dumps(_config(again), sort_keys=True) == json.dumps(ref["config"], sort_keys=True)


@pytest.mark.parametrize("ref", META["layer_configs"], ids=lambda r: f"{r['cls']}-{json.dumps(r['kwargs'])}")
def test_preprocessing_layer_configs_equal_keras(ref):
    kwargs = {k: tuple(v) if isinstance(v, list) and k not in ("mean", "variance") else v
              for k, v in ref["kwargs"].items()}
    layer = getattr(L, ref["cls"])(**kwargs)
    want = dict(ref["config"])
    got = _config(layer)
    if ref["cls"] == "RandomCrop":   # Keras writes a random default seed drawn at construction; ours stays None
        assert isinstance(want.pop("seed"), int) and got.pop("seed") is None
    assert json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True)   # ints stay ints, lists are lists
    again = getattr(L, ref["cls"]).from_config(layer.get_config())
    assert _config(again) == _config(layer)
    if "round_trip" in ref:
        assert ref["round_trip"] == ref["config"]


def test_integer_images_keep_their_dtype_and_pad_with_a_whole_fill_value():
    x = ARR["input/u8"]
    out = resize(x, (3, 7), interpolation="nearest", pad_to_aspect_ratio=True, fill_value=7)
    ref = resize(x.astype(np.float32), (3, 7), interpolation="nearest", pad_to_aspect_ratio=True, fill_value=7.0)
    assert out.dtype == tf.uint8 and np.array_equal(out.numpy(), ref.numpy().astype(np.uint8))
    big = resize(x, (12, 16), interpolation="lanczos5").numpy()   # overshoot saturates instead of wrapping
    assert big.dtype == np.uint8 and big.min() == 0 and big.max() == 255
    with pytest.raises(ValueError, match=r"fill_value.*whole number in \[0, 255\].*fill_value=0.5"):
        resize(x, (3, 7), pad_to_aspect_ratio=True, fill_value=0.5)


def test_resizing_layer_keeps_integer_images_and_casts_floats_to_its_dtype():
    x = ARR["input/u8"]
    assert L.Resizing(3, 4)(x).dtype == tf.uint8
    assert L.Resizing(3, 4)(x.astype(np.float64)).dtype == tf.float32
    assert L.Resizing(3, 4, dtype="float64")(x.astype(np.float32)).dtype == tf.float64
    layer = L.Resizing(5, 3, data_format="channels_first")
    assert layer.compute_output_shape((None, 2, 8, 8)) == (None, 2, 5, 3)
    assert layer(ARR["input/f32_cf"]).shape == (2, 2, 5, 3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(interpolation="gaussian"), r"interpolation.*'bilinear', 'nearest'.*interpolation='gaussian'"),
    (dict(fill_mode="reflect"), r"fill_mode='constant'.*fill_mode='reflect'"),
    (dict(crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), r"only one of `crop_to_aspect_ratio`"),
    (dict(size=(5,)), r"`size` must be \(height, width\).*size=\(5,\)"),
    (dict(size=(3, 4, 1)), r"`size` must be \(height, width\)"),
    (dict(size=(0, 3)), r"positive height and width.*\(0, 3\)"),
    (dict(data_format="channels_middle"), r"data_format.*channels_middle"),
])
def test_op_errors_name_the_argument(kwargs, match):
    kw = dict(size=(3, 4))
    kw.update(kwargs)
    with pytest.raises(ValueError, match=match):
        resize(ARR["input/f32"], **kw)


def test_op_and_layer_refuse_bad_ranks_and_arguments():
    with pytest.raises(ValueError, match=r"rank-3 image or a rank-4 batch.*\(6, 8\)"):
        resize(np.zeros((6, 8), np.float32), (3, 4))
    with pytest.raises(ValueError, match="rank 4"):
        L.Resizing(2, 2)(np.zeros((1, 2, 3, 4, 5), np.float32))
    for kwargs, match in ((dict(interpolation="cubic"), "interpolation must be one of"),
                          (dict(fill_mode="wrap"), "fill_mode='constant'"),
                          (dict(crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "only one of"),
                          (dict(height=0), "height and width must be positive")):
        kw = dict(height=3, width=4)
        kw.update(kwargs)
        with pytest.raises(ValueError, match=match):
            L.Resizing(**kw)
    for cls, factor in ((L.RandomRotation, 1.5), (L.RandomRotation, (2, 3)), (L.RandomRotation, (0.1, 0.2, 0.3)),
                        (L.RandomContrast, -0.3), (L.RandomContrast, (0.3, -0.2)), (L.RandomBrightness, "0.1")):
        with pytest.raises(ValueError, match=r"factor must be a number or a list of two numbers in the range"):
            cls(factor)


def test_same_size_is_identity_where_tf_is_exact_and_blurs_where_it_is_not():
    x = ARR["input/f32"]
    for interp in ("bilinear", "nearest", "bicubic", "area"):
        assert np.array_equal(resize(x, (6, 8), interpolation=interp).numpy(), x)
    assert np.array_equal(tf.image.resize(x, (6, 8), method="bilinear", antialias=True).numpy(), x)
    blurred = tf.image.resize(x, (6, 8), method="gaussian").numpy()
    assert not np.allclose(blurred, x) and np.isclose(blurred.mean(), x.mean(), atol=0.2)
