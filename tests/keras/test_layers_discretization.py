"""Discretization: bucket indices and encodings, and adapt's quantile boundaries equal to what Keras 3.15.1
computed for the same data (its weighted quantile summaries, reproduced step for step)."""
import json

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import layers as L

# printed by Keras 3.15.1 for the same data as _adapted() builds (same generator, same calls)
KERAS = json.loads("""{
 "normal1000": [-0.8496066927909851, -0.3048001825809479, 0.17602071166038513, 0.7710492014884949],
 "arange": [23.999982833862305, 48.99998092651367, 73.99998474121094],
 "batches": [0.15435853600502014, 0.3359803855419159, 0.5509599447250366, 0.8581300973892212, 1.2412381172180176,
             1.9770534038543701],
 "small": [2.0, 4.0]}""")


def _adapted():
    r = np.random.default_rng(0)
    out = {}
    layer = L.Discretization(num_bins=5)
    layer.adapt(r.normal(size=(1000,)).astype("float32"))
    out["normal1000"] = layer.bin_boundaries
    layer = L.Discretization(num_bins=4, epsilon=0.01)
    layer.adapt(np.arange(100, dtype="float32"))
    out["arange"] = layer.bin_boundaries
    layer = L.Discretization(num_bins=7, epsilon=0.02)
    layer.adapt([r.exponential(size=(300,)).astype("float32") for _ in range(4)])   # four batches, merged
    out["batches"] = layer.bin_boundaries
    layer = L.Discretization(num_bins=3)
    layer.adapt(tf.data.Dataset.from_tensor_slices(np.array([[1., 2.], [3., 4.], [5., 6.]], "float32")).batch(2))
    out["small"] = layer.bin_boundaries
    return out


def test_adapt_gives_keras_boundaries():
    got = _adapted()
    for key, want in KERAS.items():
        np.testing.assert_allclose(got[key], want, rtol=0, atol=0, err_msg=key)


def test_buckets_and_encodings():
    bounds = [0.0, 1.0, 2.0]
    x = np.array([[-1.5, 1.0, 3.4, 0.5]])
    assert L.Discretization(bin_boundaries=bounds)(x).numpy().tolist() == [[0, 2, 3, 1]]
    assert L.Discretization(bin_boundaries=bounds, output_mode="one_hot")(x[0]).numpy().tolist() == \
        [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0]]
    assert L.Discretization(bin_boundaries=bounds, output_mode="count")(
        np.array([[-1.5, 1.0, 3.4, 0.5], [0.1, 0.2, 5, 5]])).numpy().tolist() == [[1, 1, 1, 1], [0, 2, 0, 2]]
    adapted = L.Discretization(num_bins=4)
    adapted.adapt(np.arange(100, dtype="float32"))
    again = L.Discretization.from_config(adapted.get_config())
    assert again.bin_boundaries == adapted.bin_boundaries
    assert again(np.array([10.0, 60.0])).numpy().tolist() == [0, 2]


def test_errors():
    with pytest.raises(ValueError, match="exactly one of num_bins"):
        L.Discretization()
    with pytest.raises(ValueError, match="exactly one of num_bins"):
        L.Discretization(bin_boundaries=[1.0], num_bins=3)
    with pytest.raises(ValueError, match="adapt needs num_bins"):
        L.Discretization(bin_boundaries=[1.0]).adapt(np.ones(3))
    with pytest.raises(ValueError, match="call adapt"):
        L.Discretization(num_bins=3)(np.ones(3))
    with pytest.raises(ValueError, match="output_mode must be"):
        L.Discretization(num_bins=3, output_mode="tf_idf")
