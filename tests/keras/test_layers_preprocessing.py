"""Preprocessing layers against numbers printed by real Keras 3.15.1 (tensorflow-cpu) for the same inputs."""
import json
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.data import Dataset

L = tf.keras.layers
X = np.arange(2 * 4 * 6 * 1, dtype="float32").reshape(2, 4, 6, 1)
X2 = (np.arange(2 * 5 * 7 * 2, dtype="float32").reshape(2, 5, 7, 2) % 11) / 3


def test_resizing_bilinear_nearest_and_aspect_crop_match_keras():
    np.testing.assert_allclose(L.Resizing(3, 4)(X).numpy()[0, :, :, 0],
                               [[1.25, 2.75, 4.25, 5.75], [9.25, 10.75, 12.25, 13.75], [17.25, 18.75, 20.25, 21.75]])
    row = [0, 1, 1, 2, 3, 3, 4, 5, 5]
    want = np.array([[r * 6 + c for c in row] for r in (0, 1, 2, 2, 3)], np.float32)
    np.testing.assert_array_equal(L.Resizing(5, 9, interpolation="nearest")(X).numpy()[0, :, :, 0], want)
    np.testing.assert_allclose(L.Resizing(3, 3, crop_to_aspect_ratio=True)(X).numpy()[0, :, :, 0],
                               [[2.1667, 3.5, 4.8333], [10.1667, 11.5, 12.8333], [18.1667, 19.5, 20.8333]], atol=1e-4)
    np.testing.assert_allclose(L.Resizing(3, 10)(X2).numpy()[1, :, :, 1], [
        [2.0, 2.36667, 2.52778, 2.13889, 0.95556, 0.56667, 1.03333, 1.5, 1.96667, 2.33333],
        [0.0, 0.36667, 0.83333, 1.3, 1.76667, 2.23333, 2.7, 3.16667, 1.98333, 0.33333],
        [1.66667, 2.03333, 2.5, 2.96667, 1.84444, 1.02778, 0.7, 1.16667, 1.63333, 2.0]], atol=1e-4)


def test_center_crop_and_resize_when_smaller_match_keras():
    np.testing.assert_array_equal(L.CenterCrop(3, 3)(X).numpy()[0, :, :, 0], [[1, 2, 3], [7, 8, 9], [13, 14, 15]])
    out = L.CenterCrop(6, 6)(X).numpy()
    assert out.shape == (2, 6, 6, 1)
    np.testing.assert_allclose(out[0, 0, :, 0], [1.0, 1.5, 2.167, 2.833, 3.5, 4.0], atol=1e-3)
    np.testing.assert_allclose(out[0, 5, :, 0], [19.0, 19.5, 20.167, 20.833, 21.5, 22.0], atol=1e-3)


def test_channels_first_and_single_images():
    cf = L.Resizing(3, 4, data_format="channels_first")(X.transpose(0, 3, 1, 2)).numpy()
    np.testing.assert_allclose(cf.transpose(0, 2, 3, 1), L.Resizing(3, 4)(X).numpy())
    np.testing.assert_allclose(L.CenterCrop(3, 3)(X[0]).numpy(), L.CenterCrop(3, 3)(X).numpy()[0])
    with pytest.raises(ValueError, match="rank 4"):
        L.Resizing(2, 2)(np.zeros((2, 3), np.float32))


def test_normalization_given_and_adapted_match_keras():
    assert L.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0])(np.array([[3.0, 5.0]])).numpy().tolist() == \
        [[1.0, 1.0]]
    assert L.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0], invert=True)(
        np.array([[1.0, 1.0]])).numpy().tolist() == [[3.0, 5.0]]
    d = (np.arange(30, dtype="float32").reshape(10, 3) ** 1.5) / 7
    norm = L.Normalization(name="norm")
    norm.adapt(d, batch_size=3)  # streamed in batches of 3, 3, 3, 1
    assert [w.path for w in norm.weights] == ["norm/mean", "norm/variance", "norm/count"]
    np.testing.assert_allclose(norm.mean.numpy(), [8.24329, 8.98836, 9.77266], rtol=1e-5)
    np.testing.assert_allclose(norm.variance.numpy(), [43.6298, 47.34196, 50.9543], rtol=1e-5)
    np.testing.assert_allclose(norm(d[:2]).numpy(), [[-1.24798, -1.28558, -1.31245], [-1.1356, -1.14024, -1.14531]],
                               atol=1e-4)
    from_ds = L.Normalization()
    from_ds.adapt(Dataset.from_tensor_slices(d).batch(4))
    np.testing.assert_allclose(from_ds.variance.numpy(), norm.variance.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        L.Normalization(mean=[0.0])
    given = L.Normalization(mean=3.0, variance=4.0)
    given.build((None, 2))
    assert given.weights == [] and given.mean.numpy().tolist() == [3.0, 3.0]   # constants, as Keras 3
    with pytest.raises(ValueError, match="was given mean and variance"):
        given.adapt(d)


def test_rescaling_unit_normalization_and_flip():
    assert L.Rescaling(1 / 255.0)(np.array([[255]], np.uint8)).numpy().tolist() == [[1.0]]
    assert L.Rescaling(2.0, offset=-1.0)(np.array([[0.5]])).numpy().tolist() == [[0.0]]
    np.testing.assert_allclose(L.UnitNormalization()(np.array([[3.0, 4.0], [0.0, 0.0]])).numpy(),
                               [[0.6, 0.8], [0.0, 0.0]])
    x = np.tile(np.arange(35, dtype="float32").reshape(1, 5, 7, 1), (64, 1, 1, 1))
    flip = L.RandomFlip("horizontal", seed=3)
    np.testing.assert_array_equal(flip(x).numpy(), x)  # inference: identity
    y = flip(x, training=True).numpy()
    flipped = (y[:, 0, 0, 0] == 6.0)
    assert 10 < flipped.sum() < 54 and np.array_equal(y[flipped], x[flipped][:, :, ::-1])
    assert np.array_equal(y[~flipped], x[~flipped])


def test_random_crop_one_window_per_batch_identity_at_inference():
    x = np.tile(np.arange(35, dtype="float32").reshape(1, 5, 7, 1), (4, 1, 1, 1))
    crop = L.RandomCrop(2, 3, seed=1)
    y = crop(x, training=True).numpy()
    assert y.shape == (4, 2, 3, 1) and len(set(y[:, 0, 0, 0].tolist())) == 1
    r, c = divmod(int(y[0, 0, 0, 0]), 7)
    np.testing.assert_array_equal(y[0, :, :, 0], x[0, r:r + 2, c:c + 3, 0])
    assert crop(x).shape == x.shape
    assert L.RandomCrop(3, 3)(np.ones((2, 2, 2, 1), np.float32), training=True).shape == (2, 3, 3, 1)


def test_model_with_preprocessing_trains_and_round_trips(tmp_path):
    tf.keras.utils.set_random_seed(0)       # the initial weights and the flips; unseeded, 3 Adam steps at 1e-3 could
    inp = tf.keras.Input((8, 8, 1))         # end above the first loss (half the runs did)
    h = L.RandomFlip("horizontal")(L.Rescaling(1 / 4.0)(inp))
    h = L.Resizing(6, 6)(h)
    out = L.Dense(2)(L.Flatten()(L.Normalization(mean=0.5, variance=0.25, axis=None)(h)))
    model = tf.keras.Model(inp, out)
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="mse")
    x = np.random.RandomState(0).randint(0, 4, (32, 8, 8, 1)).astype(np.float32)
    hist = model.fit(x, np.ones((32, 2), np.float32), epochs=5, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    model.save(tmp_path / "m.keras")
    again = tf.keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_resizing_is_differentiable():
    x = tf.Variable(np.random.RandomState(1).rand(1, 4, 5, 2).astype(np.float64))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(L.Resizing(3, 7, dtype="float64")(x) ** 2)
    g = tape.gradient(y, x).numpy()
    eps, num = 1e-6, np.zeros_like(g)
    base = x.numpy()
    for idx in np.ndindex(*base.shape):
        for sgn in (1, -1):
            p = base.copy()
            p[idx] += sgn * eps
            num[idx] += sgn * float(np.sum(L.Resizing(3, 7, dtype="float64")(p).numpy() ** 2)) / (2 * eps)
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8)


def test_deterministic_preprocessing_replays_bitwise_in_fit():
    x = np.random.RandomState(2).randint(0, 255, (48, 8, 8, 1)).astype(np.float32)
    y = np.random.RandomState(3).randint(0, 3, 48)
    weights = []
    for jit in (False, "auto"):
        tf.random.set_seed(0)
        inp = tf.keras.Input((8, 8, 1))
        h = L.CenterCrop(6, 6)(L.Resizing(7, 7)(L.Rescaling(1 / 255.0)(inp)))
        h = L.UnitNormalization()(L.Flatten()(L.Normalization(mean=0.4, variance=0.1, axis=None)(h)))
        model = tf.keras.Model(inp, L.Dense(3)(h))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=jit)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        weights.append(model.get_weights())
    assert model._trace_status == "replaying"
    assert all(np.array_equal(a, b) for a, b in zip(*weights))


AUG = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras3_augmentation.json")
IMG = (np.arange(35, dtype="float32").reshape(1, 5, 7, 1) * 7 % 13)
AFFINE = {
    "rot_reflect": lambda: L.RandomRotation((0.1, 0.1)),
    "rot_constant": lambda: L.RandomRotation((-0.15, -0.15), fill_mode="constant", fill_value=-1.0),
    "rot_nearest_interp": lambda: L.RandomRotation((0.07, 0.07), interpolation="nearest", fill_mode="nearest"),
    "zoom_in": lambda: L.RandomZoom((-0.3, -0.3)),
    "zoom_out_wrap": lambda: L.RandomZoom((0.4, 0.4), (0.2, 0.2), fill_mode="wrap"),
    "trans_constant": lambda: L.RandomTranslation((0.2, 0.2), (-0.3, -0.3), fill_mode="constant"),
    "trans_reflect": lambda: L.RandomTranslation((-0.4, -0.4), (0.25, 0.25)),
}


@pytest.mark.parametrize("case", sorted(AFFINE))
def test_random_affine_layers_match_keras_with_a_fixed_draw(case):
    with open(AUG) as f:
        want = json.load(f)[case]  # written by tests/fixtures/make_keras3_augmentation.py with Keras 3.15.1
    got = AFFINE[case]()(IMG, training=True).numpy()[0, :, :, 0]
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_random_affine_draws_per_image_identity_at_inference_and_gradients():
    x = np.tile(IMG, (16, 1, 1, 1))
    rot = L.RandomRotation(0.2, seed=5)
    np.testing.assert_array_equal(rot(x).numpy(), x)
    y = rot(x, training=True).numpy()
    assert len({arr.tobytes() for arr in y}) > 8  # one angle per image
    with pytest.raises(ValueError, match="fill_mode"):
        L.RandomZoom(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match="lower <= upper"):
        L.RandomTranslation((0.3, 0.1), 0.1)
    v = tf.Variable(IMG.astype(np.float64))
    layer = L.RandomRotation((0.1, 0.1), fill_mode="constant", fill_value=0.5, dtype="float64")
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(layer(v, training=True) ** 2)
    g = tape.gradient(out, v).numpy()
    eps, base, num = 1e-6, IMG.astype(np.float64), np.zeros((1, 5, 7, 1))
    for idx in np.ndindex(*base.shape):
        for sgn in (1, -1):
            p = base.copy()
            p[idx] += sgn * eps
            num[idx] += sgn * float(np.sum(layer(p, training=True).numpy() ** 2)) / (2 * eps)
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-7)
    again = L.RandomRotation.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()


def test_random_brightness_matches_keras_with_a_fixed_draw():
    x = (np.arange(48, dtype="float32").reshape(2, 3, 4, 2) * 11 % 255)
    np.testing.assert_array_equal(L.RandomBrightness((0.2, 0.2))(x, training=True).numpy()[0, :, :, 0],
                                  [[51, 73, 95, 117], [139, 161, 183, 205], [227, 249, 255, 255]])
    got = L.RandomBrightness((-0.5, -0.5), value_range=(0, 1))(x / 255, training=True).numpy()[0, :, :, 0]
    np.testing.assert_allclose(got, [[0, 0, 0, 0], [0, 0, 0.01765, 0.10392], [0.1902, 0.27647, 0.36275, 0.44902]],
                               atol=1e-5)  # numbers printed by Keras 3.15.1
    assert np.array_equal(L.RandomBrightness(0.3)(x).numpy(), x)
    deltas = L.RandomBrightness(0.3, seed=2)(np.zeros((64, 2, 2, 1), np.float32) + 100, training=True).numpy()
    assert len(np.unique(deltas[:, 0, 0, 0])) == 64 and np.all(np.abs(deltas - 100) <= 0.3 * 255 + 1e-3)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        L.RandomBrightness((-1.5, 0.2))


def test_random_contrast_matches_keras_with_a_fixed_draw():
    x = (np.arange(48, dtype="float32").reshape(2, 3, 4, 2) * 11 % 255)
    layer = L.RandomContrast((-0.5, 0.5))              # sorted (-0.5, 0.5): factor always 1.5
    got = layer(x, training=True).numpy()
    # numbers printed by Keras 3.15.1
    np.testing.assert_allclose(got[0, :, :, 0], [[0, 0, 5.5, 38.5], [71.5, 104.5, 137.5, 170.5],
                                                 [203.5, 236.5, 255, 255]], atol=1e-4)
    np.testing.assert_allclose(got[1, :, :, 1], [[0, 3.125, 36.125, 69.125], [102.125, 135.125, 168.125, 201.125],
                                                 [234.125, 255, 255, 0]], atol=1e-4)
    small = L.RandomContrast((-0.25, 0.25), value_range=(0, 1))(x / 255, training=True).numpy()[0, :, :, 1]
    np.testing.assert_allclose(small, [[0, 0.032353, 0.140196, 0.248039], [0.355882, 0.463726, 0.571569, 0.679412],
                                       [0.787255, 0.895098, 1, 1]], atol=1e-5)
    assert np.array_equal(layer(x).numpy(), x)         # inference: unchanged
    single = layer(x[0], training=True).numpy()        # one HWC image
    np.testing.assert_allclose(single, got[0], atol=1e-4)
    cf = L.RandomContrast((-0.5, 0.5), data_format="channels_first")(x.transpose(0, 3, 1, 2), training=True)
    np.testing.assert_allclose(cf.numpy().transpose(0, 2, 3, 1), got, atol=1e-4)


def test_random_contrast_factor_range_config_and_errors():
    layer = L.RandomContrast(0.3, seed=4)
    assert layer.get_config()["factor"] == [0.0, 0.3]  # Keras 3: a float f means (0, f), contrast only grows
    x = np.random.default_rng(0).uniform(50, 200, (64, 5, 5, 1)).astype(np.float32)
    y = layer(x, training=True).numpy()
    dev_in, dev_out = x - x.mean(axis=(1, 2), keepdims=True), y - y.mean(axis=(1, 2), keepdims=True)
    scale = np.abs(dev_out).sum(axis=(1, 2, 3)) / np.abs(dev_in).sum(axis=(1, 2, 3))
    assert np.all(scale >= 1 - 1e-5) and np.all(scale <= 1.3 + 1e-5) and len(np.unique(scale.round(6))) == 64
    again = L.RandomContrast.from_config(layer.get_config())
    assert again.get_config() == layer.get_config() and again.factor == (0.0, 0.3)
    for bad in (1.5, -0.1, (1.2, 1.5), (-0.2, -0.1), (0.1, 0.2, 0.3)):
        with pytest.raises(ValueError, match=r"RandomContrast .*factor must be"):
            L.RandomContrast(bad)
