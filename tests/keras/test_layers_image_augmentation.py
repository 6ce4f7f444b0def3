"""Keras 3 colour and mixing augmentation layers against numbers printed by real Keras 3.15.1 (tensorflow-cpu)."""
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.backend import rng as _rng
from tapeflow.data import Dataset

L = tf.keras.layers
FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras3_image_augmentation.npz")
WANT = dict(np.load(FIXTURE))  # written by tests/fixtures/make_keras3_image_augmentation.py with Keras 3.15.1
X = WANT["x"]
UNIT = X / 255.0



@pytest.fixture(autouse=True)
def _keep_global_rng():
    """Tests here seed the global generator; later test files get back the state they would have had."""
    saved = _rng.get_state()
    yield
    gen = np.random.default_rng()
    gen.bit_generator.state = saved["generator"]
    _rng.set_state(saved["seed"], gen, saved["op_counts"])


# the same layers and inputs as the fixture script: settings under which Keras's draw cannot matter
CASES = {
    "grayscale": (lambda: L.RandomGrayscale(1.0), X),
    "invert": (lambda: L.RandomInvert((1.0, 1.0)), X),
    "invert_unit": (lambda: L.RandomInvert((1.0, 1.0), value_range=(0, 1)), UNIT),
    "solarize": (lambda: L.Solarization(0.0, 0.0), X),
    "solarize_unit": (lambda: L.Solarization(0.0, (0.0, 0.0), value_range=(0, 1)), UNIT),
    "autocontrast": (lambda: L.AutoContrast(), X),
    "autocontrast_unit": (lambda: L.AutoContrast(value_range=(0, 1)), UNIT),
    "posterize3": (lambda: L.RandomPosterization((3, 3)), X),
    "posterize1_unit": (lambda: L.RandomPosterization((1, 1), value_range=(0, 1)), UNIT),
    "saturation0": (lambda: L.RandomSaturation((0.0, 0.0)), X),
    "saturation_quarter": (lambda: L.RandomSaturation((0.25, 0.25)), X),
    "saturation_3q_unit": (lambda: L.RandomSaturation((0.75, 0.75), value_range=(0, 1)), UNIT),
    "hue_half": (lambda: L.RandomHue((1.0, 1.0)), X),
    "hue_half_unit": (lambda: L.RandomHue((1.0, 1.0), value_range=(0, 1)), UNIT),
    "degenerate_half": (lambda: L.RandomColorDegeneration((0.5, 0.5)), X),
    "degenerate_neg": (lambda: L.RandomColorDegeneration((-0.5, -0.5)), X),
    "sharpness0": (lambda: L.RandomSharpness((0.0, 0.0)), X),
    "sharpness_quarter": (lambda: L.RandomSharpness((0.25, 0.25)), X),
    "sharpness_max_unit": (lambda: L.RandomSharpness((1.0, 1.0), value_range=(0, 1)), UNIT),
    "equalize": (lambda: L.Equalization(), X),
    "equalize_16_bins": (lambda: L.Equalization(bins=16), X),
    "equalize_unit": (lambda: L.Equalization(value_range=(0, 1)), UNIT),
    "blur3": (lambda: L.RandomGaussianBlur((1.0, 1.0), kernel_size=3, sigma=(0.5, 0.5)), X),
    "blur5_unit": (lambda: L.RandomGaussianBlur((1.0, 1.0), kernel_size=5, sigma=(1.0, 1.0), value_range=(0, 1)),
                   UNIT),
    "jitter": (lambda: L.RandomColorJitter(brightness_factor=(0.1, 0.1), contrast_factor=(-0.5, 0.5),
                                           saturation_factor=(0.25, 0.25), hue_factor=(1.0, 1.0)), X),
}
RANDOM = [lambda: L.RandomGrayscale(), lambda: L.RandomInvert(), lambda: L.Solarization(0.5, 0.5),
          lambda: L.RandomPosterization(4), lambda: L.RandomSaturation(0.5), lambda: L.RandomHue(0.5),
          lambda: L.RandomColorDegeneration(0.5), lambda: L.RandomSharpness(0.5),
          lambda: L.RandomColorJitter(brightness_factor=0.2, contrast_factor=0.5, saturation_factor=0.5,
                                      hue_factor=0.3), lambda: L.MixUp(), lambda: L.CutMix(), lambda: L.Equalization(),
          lambda: L.RandomGaussianBlur((1.0, 1.0))]


@pytest.mark.parametrize("case", sorted(CASES))
def test_layers_match_keras_with_a_fixed_draw(case):
    make, x = CASES[case]
    got = make()(x)  # Keras 3: called on its own, the layer augments (training defaults to True)
    assert got.dtype == "float32"
    np.testing.assert_allclose(got.numpy(), WANT[case], atol=1e-6 if x is UNIT else 1e-4, rtol=0)


def test_channels_first_single_image_and_dtype():
    cf = L.RandomSaturation((0.25, 0.25), data_format="channels_first")(X.transpose(0, 3, 1, 2)).numpy()
    np.testing.assert_allclose(cf, WANT["saturation_quarter_cf"], atol=1e-4)
    np.testing.assert_allclose(cf.transpose(0, 2, 3, 1), WANT["saturation_quarter"], atol=1e-4)
    hue = L.RandomHue((1.0, 1.0))
    np.testing.assert_allclose(hue(X[1]).numpy(), WANT["hue_half"][1], atol=1e-4)   # one HWC image
    u8 = L.RandomInvert((1.0, 1.0))(X.astype(np.uint8))
    assert u8.dtype == "float32" and np.array_equal(u8.numpy(), WANT["invert"])
    f64 = L.AutoContrast(dtype="float64")(X)
    assert f64.dtype == "float64"
    np.testing.assert_allclose(f64.numpy(), WANT["autocontrast"], atol=1e-3)
    np.testing.assert_array_equal(WANT["autocontrast"][1, :, :, 2], 77.0)      # constant channel kept
    whole = L.Equalization()(X).numpy()                         # one histogram per channel over the batch
    assert not np.array_equal(whole[:1], L.Equalization()(X[:1]).numpy())


@pytest.mark.parametrize("make", RANDOM)
def test_identity_when_not_training(make):
    tf.random.set_seed(0)
    x = np.random.default_rng(0).uniform(0, 255, (6, 5, 5, 3)).astype(np.float32)
    layer = make()
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    assert not np.array_equal(layer(x, training=True).numpy(), x)
    model = tf.keras.Sequential([tf.keras.Input((5, 5, 3)), layer])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)          # inference inside a model
    again = type(layer).from_config(layer.get_config())
    assert again.get_config() == layer.get_config()


def test_seeds_repeat_and_draws_are_per_image():
    x = np.random.default_rng(1).uniform(0, 255, (32, 4, 4, 3)).astype(np.float32)
    runs = []
    for _ in range(2):
        tf.random.set_seed(7)
        layer = L.RandomHue(0.4, seed=5)
        runs.append([layer(x).numpy() for _ in range(2)])
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert not np.array_equal(runs[0][0], runs[0][1])                          # a new draw per call
    sharp = L.RandomSharpness((0.0, 1.0), seed=2)(np.tile(x[:1], (32, 1, 1, 1))).numpy()
    assert len({im.tobytes() for im in sharp}) == 32                            # a new factor per image


def test_random_draw_statistics():
    tf.random.set_seed(0)
    rgb = np.random.default_rng(2).uniform(0, 255, (400, 2, 2, 3)).astype(np.float32)
    gray = L.RandomGrayscale(0.5)(rgb).numpy()
    converted = np.all(gray == gray[..., :1], axis=(1, 2, 3))
    assert 160 < converted.sum() < 240
    assert np.all(np.isclose(gray[converted][..., 0], (rgb[converted] @ [0.2989, 0.587, 0.114]), atol=1e-3))
    assert np.array_equal(gray[~converted], rgb[~converted])
    inverted = np.all(L.RandomInvert()(rgb).numpy() == 255 - rgb, axis=(1, 2, 3))
    assert 160 < inverted.sum() < 240                                            # factor 1.0 means (0, 1): half
    assert L.RandomInvert(0.0)(rgb).numpy().tolist() == rgb.tolist()
    post = L.RandomPosterization(4)(rgb).numpy()                                 # bits drawn from {1, 2, 3}
    kept = [next(b for b in (1, 2, 3, 8) if np.all(im % 2 ** (8 - b) == 0)) for im in post]
    assert set(kept) == {1, 2, 3}
    blurred = L.RandomGaussianBlur(0.5)(rgb * 0 + np.float32([[[[0], [255]], [[255], [0]]]]))  # about a quarter
    assert 60 < np.sum(np.any(blurred.numpy() != [[[[0], [255]], [[255], [0]]]], axis=(1, 2, 3))) < 140
    hue = L.RandomHue((0.2, 0.2))(np.tile(np.array([[[[255.0, 0.0, 0.0]]]], np.float32), (400, 1, 1, 1)))
    green, blue = hue.numpy()[:, 0, 0, 1], hue.numpy()[:, 0, 0, 2]              # +-0.1 turn, sign at random
    assert 160 < np.sum(green > 0) < 240 and np.all((green > 0) != (blue > 0))
    np.testing.assert_allclose(np.maximum(green, blue), 153.0, atol=1e-3)
    sol = L.Solarization(threshold_factor=(0.5, 0.5))(rgb).numpy()              # threshold fixed at 127.5
    np.testing.assert_allclose(sol, np.where(rgb < 127.5, rgb, 255 - rgb), atol=1e-4)
    added = L.Solarization(addition_factor=(0.2, 0.2), threshold_factor=(1.0, 1.0))(rgb[:, :1, :1] * 0.5).numpy()
    np.testing.assert_allclose(added, rgb[:, :1, :1] * 0.5 + 51.0, atol=1e-3)


def test_bad_arguments_name_the_layer_and_argument():
    bad = [(lambda: L.RandomGrayscale(1.5), r"RandomGrayscale .*`factor`.*1.5"),
           (lambda: L.RandomInvert((1.5, 2.0)), r"RandomInvert .*`factor`.*\[0, 1\]"),
           (lambda: L.RandomInvert(value_range=(0, 1, 2)), r"RandomInvert .*`value_range`"),
           (lambda: L.Solarization(addition_factor=1.2), r"Solarization .*`addition_factor`"),
           (lambda: L.Solarization(threshold_factor=(-0.1, 0.5)), r"Solarization .*`threshold_factor`"),
           (lambda: L.AutoContrast(value_range=255), r"AutoContrast .*`value_range`"),
           (lambda: L.RandomPosterization(9), r"RandomPosterization .*`factor`.*\[1, 8\]"),
           (lambda: L.RandomPosterization(0.5), r"RandomPosterization .*`factor`"),
           (lambda: L.RandomSaturation(1.5), r"RandomSaturation .*`factor`"),
           (lambda: L.RandomHue((2.0, 3.0)), r"RandomHue .*`factor`"),
           (lambda: L.RandomColorDegeneration("a"), r"RandomColorDegeneration .*`factor`"),
           (lambda: L.RandomSharpness(-0.5), r"RandomSharpness .*`factor`"),
           (lambda: L.RandomSharpness(0.5, value_range=(1, 1)), r"RandomSharpness .*`value_range`"),
           (lambda: L.RandomColorJitter(hue_factor=1.5), r"RandomHue .*`factor`"),
           (lambda: L.MixUp(alpha=0), r"MixUp .*`alpha`"),
           (lambda: L.Equalization(bins=1), r"Equalization .*`bins`"),
           (lambda: L.RandomGaussianBlur(kernel_size=4), r"RandomGaussianBlur .*`kernel_size`"),
           (lambda: L.RandomGaussianBlur(sigma=2.0), r"RandomGaussianBlur .*`sigma`"),
           (lambda: L.CutMix(factor=(1.5, 2)), r"CutMix .*`factor`")]
    for make, match in bad:
        with pytest.raises(ValueError, match=match):
            make()
    with pytest.raises(ValueError, match=r"RandomHue .*3 channels, got 1"):
        L.RandomHue(0.2)(np.zeros((1, 2, 2, 1)))
    with pytest.raises(ValueError, match=r"RandomGrayscale .*rank 4"):
        L.RandomGrayscale()(np.zeros((2, 2)))


def test_config_keys_and_factor_parsing_follow_keras():
    keys = {"name", "trainable", "dtype", "data_format"}  # Keras 3.15.1's get_config keys, layer by layer
    want = {L.RandomGrayscale(): {"factor", "seed"}, L.RandomInvert(): {"factor", "value_range", "seed"},
            L.Solarization(): {"value_range", "addition_factor", "threshold_factor", "seed"},
            L.AutoContrast(): {"value_range"}, L.RandomPosterization(4): {"factor", "value_range", "seed"},
            L.RandomSaturation(0.5): {"factor", "value_range", "seed"},
            L.RandomColorJitter(): {"value_range", "brightness_factor", "contrast_factor", "saturation_factor",
                                    "hue_factor", "seed"},
            L.MixUp(): {"alpha", "seed"}, L.CutMix(): {"factor", "seed"}, L.Equalization(): {"value_range", "bins"}}
    for layer, extra in want.items():
        assert set(layer.get_config()) == keys | extra, type(layer).__name__
    # what Keras 3.15.1 stores for a float factor
    assert L.RandomSaturation(0.5).factor == (-0.5, 0.5) and L.RandomHue(0.5).factor == (0, 0.5)
    assert L.RandomColorDegeneration(0.5).factor == (-0.5, 0.5) and L.RandomSharpness(0.5).factor == (0, 0.5)
    assert L.RandomPosterization(4).factor == (1, 4) and L.RandomInvert().factor == (0, 1.0)
    assert L.CutMix().factor == (0, 1.0) and L.Solarization(0.3).addition_factor == (0, 0.3)
    assert L.RandomHue((0.6, 0.2)).factor == (0.2, 0.6)
    jit = L.RandomColorJitter(value_range=(0, 1), brightness_factor=0.2, hue_factor=(0.1, 0.3), seed=4)
    again = L.RandomColorJitter.from_config(jit.get_config())
    assert again.get_config() == jit.get_config() and again.hue_factor == [0.1, 0.3]
    seq = tf.keras.Sequential([tf.keras.Input((4, 5, 3)), L.RandomPosterization((2, 5), seed=1), L.AutoContrast()])
    rebuilt = tf.keras.Sequential.from_config(seq.get_config())
    assert [type(la).__name__ for la in rebuilt.layers] == ["RandomPosterization", "AutoContrast"]
    assert rebuilt.layers[0].factor == (2, 5)


def test_layers_inside_fit_and_dataset_map():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 255, (32, 6, 6, 3)).astype(np.float32)
    y = rng.integers(0, 2, 32)
    model = tf.keras.Sequential([
        tf.keras.Input((6, 6, 3)), L.RandomGrayscale(0.3, seed=1), L.RandomColorDegeneration(0.5, seed=2),
        L.RandomSharpness(0.5, seed=3), L.AutoContrast(), L.Rescaling(1 / 255.0), L.Flatten(), L.Dense(2)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    hist = model.fit(x, y, batch_size=8, epochs=3, verbose=0)
    assert np.all(np.isfinite(hist.history["loss"]))
    pred = model.predict(x, verbose=0)                         # inference: only AutoContrast acts
    direct = model.layers[-1](model.layers[-2](L.Rescaling(1 / 255.0)(L.AutoContrast()(x)))).numpy()
    np.testing.assert_allclose(pred, direct, rtol=1e-5, atol=1e-5)
    jitter = L.RandomColorJitter(brightness_factor=0.2, saturation_factor=(0.3, 0.5), seed=0)
    ds = Dataset.from_tensor_slices((x, y)).batch(8).map(lambda a, b: (jitter(a), b))
    batches = [a.numpy() for a, _ in ds]
    assert len(batches) == 4 and batches[0].shape == (8, 6, 6, 3) and not np.allclose(batches[0], x[:8])
    assert all(np.all((b >= -1e-3) & (b <= 255 + 1e-3)) for b in batches)
    single = Dataset.from_tensor_slices(x).map(L.RandomGrayscale(1.0))  # unbatched HWC elements
    first = next(iter(single)).numpy()
    np.testing.assert_allclose(first, np.repeat(x[0] @ np.float32([0.2989, 0.587, 0.114]), 3).reshape(6, 6, 3),
                               rtol=1e-5)


def _distinct_images(n, h=6, w=7, c=2):
    return (np.arange(n, dtype=np.float32).reshape(n, 1, 1, 1) * 10.0 + np.zeros((1, h, w, c), np.float32))


def test_mixup_mixes_images_and_labels_with_the_same_weights():
    x, labels = _distinct_images(16), np.eye(16, dtype=np.float32)
    out = L.MixUp(alpha=0.4, seed=3)({"images": x, "labels": labels})
    img, lab = out["images"].numpy(), out["labels"].numpy()
    assert img.shape == x.shape and lab.shape == labels.shape
    np.testing.assert_allclose(lab.sum(axis=1), 1.0, rtol=1e-6)
    mixed = img[:, 0, 0, 0] / 10.0                           # = w * i + (1 - w) * perm[i]
    np.testing.assert_allclose(lab @ np.arange(16), mixed, atol=1e-4)
    np.testing.assert_allclose(img, img[:, :1, :1, :1] * np.ones_like(img))
    weights = L.MixUp(alpha=0.2, seed=1)({"images": _distinct_images(400, 1, 1, 1), "labels": np.eye(400)})
    w = np.diag(weights["labels"].numpy())
    assert 0.3 < np.mean((w < 0.1) | (w > 0.9)) < 0.9 and abs(np.mean(w) - 0.5) < 0.1  # Beta(0.2, 0.2): U-shaped
    same = L.MixUp(seed=0)({"images": x, "labels": labels}, training=False)
    assert np.array_equal(same["images"].numpy(), x) and np.array_equal(same["labels"].numpy(), labels)
    assert np.array_equal(L.MixUp()(x[0]).numpy(), x[0])     # one image: nothing to mix with


def test_cutmix_pastes_a_box_and_mixes_labels_by_area():
    n = 32
    x, labels = _distinct_images(n, 8, 10, 3), np.eye(n, dtype=np.float32)
    out = L.CutMix(seed=5)({"images": x, "labels": labels})
    img, lab = out["images"].numpy(), out["labels"].numpy()
    own = img == x
    np.testing.assert_allclose(np.diag(lab), own.mean(axis=(1, 2, 3)), atol=1e-6)  # label weight = kept area
    np.testing.assert_allclose(lab.sum(axis=1), 1.0, rtol=1e-6)
    for i in range(n):
        pasted = ~own[i, :, :, 0]
        if pasted.any():
            rows, cols = np.nonzero(pasted)                    # a solid box from one partner image
            assert pasted[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()
            src = int(img[i, rows[0], cols[0], 0] // 10)
            assert lab[i, src] > 0 and np.all(img[i][pasted] == 10.0 * src)
    assert 0.05 < np.mean(np.diag(lab)) < 0.95
    cf = L.CutMix(seed=5, data_format="channels_first")(x.transpose(0, 3, 1, 2)).numpy()
    assert cf.shape == (n, 3, 8, 10) and np.all(cf == cf[:, :1])  # the box spans every channel
    np.testing.assert_array_equal(L.CutMix()(x, training=False).numpy(), x)
    np.testing.assert_array_equal(L.CutMix()(x[0]).numpy(), x[0])
