"""HashedCrossing and fingerprint_cat64: equal to TensorFlow's tf.sparse.cross_hashed and Keras 3.15.1's layer
(``fixtures/tf_hashed_crossing.json``, written by ``fixtures/make_tf_hashed_crossing.py``)."""
import json
import os

import numpy as np
import pytest

from tapeflow import keras
from tapeflow.backend.hashing import SPARSE_CROSS_HASH_KEY, fingerprint64, fingerprint_cat64

FIXTURE = json.load(open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "tf_hashed_crossing.json"),
                         encoding="utf-8"))
STRS = np.array(FIXTURE["strings"])
INTS = np.array(FIXTURE["ints"], dtype=np.int64)
CROSSES = {"str_int": [STRS, INTS], "int_str": [INTS, STRS], "int_int": [INTS, INTS[::-1].copy()],
           "str_str_int": [STRS, STRS[::-1].copy(), INTS]}


def _raw(features, row):
    h = SPARSE_CROSS_HASH_KEY
    for f in features:
        v = f[row]
        h = fingerprint_cat64(h, int(v) & (2 ** 64 - 1) if f.dtype.kind == "i" else fingerprint64(v.encode()))
    return h % (2 ** 63 - 1)


@pytest.mark.parametrize("name", sorted(CROSSES))
def test_chained_fingerprints_equal_tensorflows_cross_hashed(name):
    features = CROSSES[name]
    assert [_raw(features, i) for i in range(len(STRS))] == FIXTURE["raw"][name]


@pytest.mark.parametrize("name", sorted(CROSSES))
def test_layer_equals_keras(name):
    layer = keras.layers.HashedCrossing(num_bins=97)
    out = layer(tuple(f.reshape(-1, 1) for f in CROSSES[name])).numpy()
    assert out.shape == (len(STRS), 1) and out.dtype == np.int64
    assert out.reshape(-1).tolist() == FIXTURE["keras"][name]
    flat = layer(tuple(CROSSES[name])).numpy()                 # (batch,) features give (batch,) bins
    assert flat.tolist() == FIXTURE["keras"][name]


def test_scalar_and_one_hot_equal_keras():
    assert int(keras.layers.HashedCrossing(num_bins=50)((np.array("cat"), np.array(3))).numpy()) == \
        FIXTURE["keras_scalar"]
    one_hot = keras.layers.HashedCrossing(num_bins=6, output_mode="one_hot")((STRS[:4], INTS[:4]))
    np.testing.assert_array_equal(one_hot.numpy(), FIXTURE["keras_one_hot"])


def test_in_a_model_on_dict_features(tmp_path):
    rng = np.random.default_rng(0)
    colour = rng.choice(["red", "green", "blue"], 64)
    size = rng.integers(0, 3, 64)
    y = ((colour == "red") & (size == 2)).astype(np.float32)
    c_in, s_in = keras.Input((1,), dtype="string", name="colour"), keras.Input((1,), dtype="int64", name="size")
    crossed = keras.layers.HashedCrossing(num_bins=16, output_mode="one_hot")((c_in, s_in))
    model = keras.Model([c_in, s_in], keras.layers.Dense(1, activation="sigmoid")(crossed))
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="binary_crossentropy")
    hist = model.fit({"colour": colour[:, None], "size": size[:, None]}, y, epochs=20, verbose=0).history["loss"]
    assert hist[-1] < 0.5 * hist[0]
    config = model.layers[2].get_config()
    assert (config["num_bins"], config["output_mode"]) == (16, "one_hot")


def test_bad_inputs_are_named():
    cross = keras.layers.HashedCrossing(num_bins=4)
    with pytest.raises(ValueError, match="at least two features"):
        cross((INTS,))
    with pytest.raises(ValueError, match="must be integers or strings, got dtype float"):
        cross((np.array([1.5, 2.0]), np.array([3, 4])))
    with pytest.raises(ValueError, match="one shape"):
        cross((INTS[:3], INTS[:4]))
    with pytest.raises(ValueError, match="output_mode must be 'int' or 'one_hot'"):
        keras.layers.HashedCrossing(num_bins=4, output_mode="count")
