"""RandomErasing, RandomShear, RandomPerspective, RandomElasticTransform, RandAugment, AugMix: configs and
factor parsing as Keras 3.15, identity at training=False, and behaviour checked against values printed by real
Keras 3.15.1 where a setting makes them independent of the random draws (erased-box sizes and per-channel
fills, the two possible shears of a fixed factor, the perspective warp of fixed corners); statistical and
structural properties elsewhere."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers as L
from tapeflow.keras.layers.image_augmentation3 import homography, projective_sources, sample

NAMES = ["RandomErasing", "RandomShear", "RandomPerspective", "RandomElasticTransform", "RandAugment", "AugMix"]

# get_config() of a default layer named "x", printed by Keras 3.15.1 (the dtype entry left out)
KERAS_CONFIGS = {
    "RandomErasing": {"name": "x", "trainable": True, "data_format": "channels_last", "factor": [0, 1.0],
                      "scale": [0.02, 0.33], "fill_value": None, "value_range": [0, 255], "seed": None},
    "RandomShear": {"name": "x", "trainable": True, "data_format": "channels_last", "x_factor": [-0.0, 0.0],
                    "y_factor": [-0.0, 0.0], "fill_mode": "reflect", "interpolation": "bilinear", "seed": None,
                    "fill_value": 0.0},
    "RandomPerspective": {"name": "x", "trainable": True, "data_format": "channels_last", "factor": [0, 1.0],
                          "scale": 1.0, "interpolation": "bilinear", "fill_value": 0.0, "seed": None},
    "RandomElasticTransform": {"name": "x", "trainable": True, "data_format": "channels_last", "factor": [0, 1.0],
                               "scale": [0, 1.0], "interpolation": "bilinear", "fill_mode": "reflect",
                               "fill_value": 0.0, "value_range": [0, 255], "seed": None},
    "RandAugment": {"name": "x", "trainable": True, "data_format": "channels_last", "value_range": [0, 255],
                    "num_ops": 2, "factor": [0, 0.5], "interpolation": "bilinear", "seed": None},
    "AugMix": {"name": "x", "trainable": True, "data_format": "channels_last", "value_range": [0, 255],
               "num_chains": 3, "chain_depth": 3, "factor": [0, 0.3], "alpha": 1.0, "all_ops": True,
               "interpolation": "bilinear", "seed": None},
}
# keras.layers.RandomShear(x_factor=(0.5, 0.5)) on arange(16).reshape(1, 4, 4, 1): the two outcomes (sign)
KERAS_SHEARS = [
    [0.0, 1.0, 2.0, 3.0, 4.5, 5.5, 6.5, 7.0, 9.0, 10.0, 11.0, 11.0, 13.5, 14.5, 15.0, 14.5],
    [0.0, 1.0, 2.0, 3.0, 4.0, 4.5, 5.5, 6.5, 8.0, 8.0, 9.0, 10.0, 12.5, 12.0, 12.5, 13.5]]
# keras.ops.image.perspective_transform(arange(20).reshape(1, 4, 5, 1), START, END, fill_value=-1.0)
START = [[[0, 0], [3, 0], [0, 3], [3, 3]]]
END = [[[0.5, 0.2], [3, 0.4], [0.1, 2.5], [2.7, 3.1]]]
KERAS_PERSPECTIVE = [-0.815, 0.1051, 0.7067, 1.0725, 1.2624, 2.3931, 5.7106, 6.1417, 6.5288, 6.6656, 8.8587,
                     11.9615, 12.0533, 12.136, 10.8096, 5.0783, 10.6145, 16.1021, 17.4258, 14.0011]
KERAS_PERSPECTIVE_NEAREST = [0.0, 1.0, 2.0, 3.0, 0.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 0.0,
                             16.0, 17.0, 18.0, 19.0]


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()
    yield


def _images(shape=(3, 12, 10, 3), seed=0):
    return np.random.default_rng(seed).uniform(0, 255, shape).astype("float32")


@pytest.mark.parametrize("name", NAMES)
def test_config_matches_keras_and_round_trips(name):
    cls = getattr(L, name)
    mine = cls(name="x").get_config()
    theirs = KERAS_CONFIGS[name]
    assert set(mine) - {"dtype"} == set(theirs)
    for k, v in theirs.items():
        assert mine[k] == v, k
    assert cls.from_config(mine).get_config() == mine


@pytest.mark.parametrize("name", NAMES)
def test_identity_when_not_training_all_layouts(name):
    layer = getattr(L, name)(seed=1)
    x = _images()
    out = layer(x, training=False)
    assert out.dtype == tf.float32
    np.testing.assert_array_equal(out.numpy(), x)
    cf = getattr(L, name)(data_format="channels_first", seed=1)
    np.testing.assert_array_equal(cf(np.moveaxis(x, -1, 1), training=False).numpy(), np.moveaxis(x, -1, 1))
    assert tuple(layer(x[0]).shape) == x[0].shape                      # unbatched, training
    assert tuple(cf(np.moveaxis(x, -1, 1)).shape) == (3, 3, 12, 10)   # channels_first, training
    assert layer(x.astype("uint8")).dtype == tf.float32
    model = keras.Sequential([keras.Input((12, 10, 3)), getattr(L, name)(seed=2)])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


@pytest.mark.parametrize("name,kw,pattern", [
    ("RandomErasing", dict(factor=1.5), "RandomErasing.*factor"),
    ("RandomErasing", dict(scale=(0.5, 0.2, 0.1)), "scale"),
    ("RandomErasing", dict(fill_value=[1, 2]), "fill_value"),
    ("RandomShear", dict(x_factor=-0.2), "x_factor"),
    ("RandomShear", dict(y_factor=(0.1, 1.2)), "y_factor"),
    ("RandomShear", dict(fill_mode="mirror"), "fill_mode"),
    ("RandomPerspective", dict(scale=1.5), "scale"),
    ("RandomPerspective", dict(interpolation="bicubic"), "interpolation"),
    ("RandomElasticTransform", dict(fill_mode="edge"), "fill_mode"),
    ("RandomElasticTransform", dict(value_range=(1, 1)), "value_range"),
    ("RandAugment", dict(num_ops=-1), "num_ops"),
    ("RandAugment", dict(factor=2.0), "factor"),
    ("AugMix", dict(alpha=0.0), "alpha"),
    ("AugMix", dict(chain_depth=0), "chain_depth"),
])
def test_bad_arguments_name_the_layer_and_argument(name, kw, pattern):
    with pytest.raises(ValueError, match=pattern):
        getattr(L, name)(**kw)
    with pytest.raises(ValueError, match=name):
        getattr(L, name)(**kw)


def test_factor_parsing_as_keras():
    assert L.RandomErasing(factor=0.4).factor == [0.0, 0.4]
    assert L.RandomErasing(factor=(0.7, 0.2), scale=0.1).get_config()["scale"] == [0.0, 0.1]
    assert L.RandomShear(x_factor=(0.4, 0.1), y_factor=0.3).get_config()["y_factor"] == [-0.3, 0.3]
    assert L.RandomShear(x_factor=(0.4, 0.1)).x_factor == [0.1, 0.4]
    shear = L.RandomShear(x_factor=0.2)   # Keras cannot reload its own [-0.2, 0.2]; tapeflow can
    assert L.RandomShear.from_config(shear.get_config()).x_factor == [-0.2, 0.2]
    assert L.RandAugment(factor=0.8).factor == [0.0, 0.8]
    assert L.AugMix(factor=(0.1, 0.2)).factor == [0.1, 0.2]
    assert L.RandomElasticTransform(scale=0.5).scale == [0.0, 0.5]


def test_random_erasing_box_size_and_fill_match_keras():
    # Keras 3.15.1: side 4 of 8 erases exactly 16 pixels per image; fill [10, 20, 300] -> [10, 20, 255]
    x = np.full((3, 8, 8, 3), 100.0, "float32")
    y = L.RandomErasing((1.0, 1.0), scale=(0.25, 0.25), fill_value=[10, 20, 300], seed=1)(x).numpy()
    assert [np.where(y[i] != 100.0)[0].size // 3 for i in range(3)] == [16, 16, 16]
    assert sorted(np.unique(y).tolist()) == [10.0, 20.0, 100.0, 255.0]
    erased = y[0][(y[0] != 100.0).any(axis=-1)]
    assert (erased == [10.0, 20.0, 255.0]).all()
    rows, cols = np.where((y[0] != 100.0).any(axis=-1))
    assert np.ptp(rows) == 3 and np.ptp(cols) == 3                    # one 4 x 4 rectangle
    z = L.RandomErasing((1.0, 1.0), scale=(0.09, 0.09), fill_value=0.0, seed=1)(np.ones((2, 10, 10, 1)))
    assert [(z.numpy()[i] == 0).sum() for i in range(2)] == [9, 9]     # Keras: [9, 9]
    np.testing.assert_array_equal(L.RandomErasing((0.0, 0.0), seed=1)(x).numpy(), x)
    noise = L.RandomErasing((1.0, 1.0), scale=(0.3, 0.3), value_range=(0, 1), seed=2)(np.full((20, 8, 8, 1), 0.5))
    assert noise.numpy().min() >= 0.0 and noise.numpy().max() <= 1.0 and np.unique(noise.numpy()).size > 3


def test_random_erasing_probability_is_statistical():
    x = np.ones((400, 6, 6, 1), "float32")
    hit = (L.RandomErasing((0.5, 0.5), fill_value=0.0, seed=3)(x).numpy() == 0).any(axis=(1, 2, 3))
    assert 0.4 < hit.mean() < 0.6


def test_random_shear_outcomes_match_keras():
    img = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    seen = set()
    layer = L.RandomShear(x_factor=(0.5, 0.5), seed=0)
    for _ in range(16):
        out = layer(img).numpy().ravel().round(4).tolist()
        assert out in KERAS_SHEARS
        seen.add(KERAS_SHEARS.index(out))
    assert seen == {0, 1}
    flat = np.ones((2, 5, 5, 2), "float32")
    np.testing.assert_allclose(L.RandomShear(0.7, 0.7, seed=1)(flat).numpy(), flat)  # reflect keeps constants
    zero = L.RandomShear()(img).numpy()                                               # factor 0: no shear
    np.testing.assert_array_equal(zero, img)


def test_random_shear_channels_first_is_the_same_warp():
    x = _images((1, 6, 7, 2))
    last = L.RandomShear((0.4, 0.4), (0.2, 0.2), seed=5)       # only the sign is random
    outcomes = {tuple(last(x).numpy().ravel().round(3)) for _ in range(12)}
    assert len(outcomes) == 2
    first = L.RandomShear((0.4, 0.4), (0.2, 0.2), seed=6, data_format="channels_first")
    for _ in range(4):
        y = np.moveaxis(first(np.moveaxis(x, -1, 1)).numpy(), 1, -1)
        assert tuple(y.ravel().round(3)) in outcomes


def test_perspective_warp_matches_keras():
    t = homography(np.asarray(START, float), np.asarray(END, float))
    ends = np.concatenate([np.asarray(END, float)[0], np.ones((4, 1))], axis=1)
    mapped = ends @ np.array([t[0, :3], t[0, 3:6], [t[0, 6], t[0, 7], 1.0]]).T
    np.testing.assert_allclose(mapped[:, :2] / mapped[:, 2:], np.asarray(START, float)[0], atol=1e-9)
    img = np.arange(20, dtype="float32").reshape(1, 4, 5, 1)
    sx, sy = projective_sources(t, 4, 5)
    np.testing.assert_allclose(sample(img, sx, sy, "bilinear", "constant", -1.0).ravel(), KERAS_PERSPECTIVE,
                               atol=2e-4)
    np.testing.assert_allclose(sample(img, sx, sy, "nearest", "constant", 0.0).ravel(), KERAS_PERSPECTIVE_NEAREST)


def test_random_perspective_behaviour():
    x = _images((4, 9, 9, 1))
    np.testing.assert_array_equal(L.RandomPerspective(scale=0.0, seed=1)(x).numpy(), x)
    np.testing.assert_array_equal(L.RandomPerspective(factor=0.0, seed=1)(x).numpy(), x)
    out = L.RandomPerspective(factor=(1.0, 1.0), scale=1.0, fill_value=-5.0, seed=2)(x).numpy()
    assert not np.allclose(out, x)
    assert out.min() >= -5.0 and out.max() <= 255.0
    near = L.RandomPerspective(factor=(1.0, 1.0), interpolation="nearest", fill_value=-1.0, seed=3)(x).numpy()
    assert set(np.unique(near)) <= set(np.unique(x)) | {-1.0}
    assert (out[:, 0, 0] == x[:, 0, 0]).all()    # the top-left corner never moves (start * (1 + j) = 0)


def test_random_elastic_transform_behaviour():
    flat = np.full((2, 16, 16, 1), 7.0, "float32")
    assert float(np.abs(L.RandomElasticTransform(seed=0)(flat).numpy() - 7.0).max()) < 1e-4  # Keras: std 2e-7
    x = _images((3, 20, 20, 2))
    np.testing.assert_array_equal(L.RandomElasticTransform(scale=0.0, seed=1)(x).numpy(), x)
    np.testing.assert_array_equal(L.RandomElasticTransform(factor=0.0, seed=1)(x).numpy(), x)
    y = L.RandomElasticTransform(factor=(1.0, 1.0), scale=(1.0, 1.0), seed=2)(x).numpy()
    assert not np.allclose(y, x) and y.min() >= 0 and y.max() <= 255
    ramp = np.tile(np.arange(20, dtype="float32"), (1, 20, 1))[..., None] * 10
    warped = L.RandomElasticTransform(factor=(1.0, 1.0), scale=(1.0, 1.0), seed=4)(ramp).numpy()
    assert 0 < np.abs(warped - ramp).mean() < 40      # a displacement of a few pixels, not a scramble
    for mode in ("constant", "nearest", "wrap", "mirror"):
        out = L.RandomElasticTransform(factor=(1.0, 1.0), fill_mode=mode, seed=5)(x).numpy()
        assert out.shape == x.shape and np.isfinite(out).all()


def test_rand_augment_and_aug_mix_behaviour():
    x = _images((4, 16, 16, 3))
    np.testing.assert_array_equal(L.RandAugment(num_ops=0, seed=1)(x).numpy(), x)
    ra = L.RandAugment(num_ops=3, factor=0.9, seed=1)
    outs = [ra(x).numpy() for _ in range(4)]
    assert all(o.shape == x.shape and o.dtype == np.float32 for o in outs)
    assert any(not np.allclose(o, x) for o in outs)
    assert len(ra._op_names) == 11 and ra.random_posterization.get_config()["factor"] == [1.0, 7.0]
    mix = L.AugMix(seed=2)
    y = mix(np.full((2, 8, 8, 3), 300.0)).numpy()
    assert y.max() <= 255.0
    z = mix(x).numpy()
    assert z.min() >= 0 and z.max() <= 255 and not np.allclose(z, x)
    assert len(L.AugMix(all_ops=False)._op_names) == 7 and len(mix._op_names) == 11
    unit = L.AugMix(value_range=(0, 1), seed=3)(x / 255.0).numpy()
    assert unit.min() >= 0 and unit.max() <= 1


def test_augmentation_model_trains_and_keras_file_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (16, 8, 8, 3)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) / 255.0)[:, None].astype("float32")
    model = keras.Sequential([keras.Input((8, 8, 3)), L.RandomErasing(seed=1), L.RandomShear(0.2, 0.2, seed=2),
                              L.RandomPerspective(scale=0.3, seed=3), L.RandomElasticTransform(seed=4),
                              L.RandAugment(seed=5), L.AugMix(seed=6), L.Rescaling(1 / 255.0), L.Flatten(),
                              L.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    hist = model.fit(x, y, epochs=3, batch_size=8, verbose=0).history["loss"]
    assert np.isfinite(hist).all()
    path = str(tmp_path / "aug3.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [type(v).__name__ for v in loaded.layers[:6]] == NAMES
    for a, b in zip(model.layers[:6], loaded.layers[:6]):
        assert a.get_config() | {"name": None} == b.get_config() | {"name": None}
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
