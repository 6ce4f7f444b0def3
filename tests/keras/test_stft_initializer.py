"""keras.initializers.STFT against Keras 3.15.1's kernels (tests/fixtures/make_keras3_stft_initializer.py)."""
import json
import os

import numpy as np
import pytest

import tapeflow as tf

with open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras3_stft_initializer.json")) as f:
    CASES = json.load(f)


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(str(a)[:8] for a in c["args"]))
def test_kernels_and_config_equal_keras(case):
    init = tf.keras.initializers.STFT(*case["args"])
    np.testing.assert_allclose(init(shape=tuple(case["shape"])).numpy(), np.array(case["value"]), rtol=1e-6,
                               atol=5e-7)  # Keras computes in float32
    assert init.get_config() == case["config"]
    again = tf.keras.initializers.deserialize(tf.keras.initializers.serialize(init))
    np.testing.assert_array_equal(again(shape=tuple(case["shape"])).numpy(), init(shape=tuple(case["shape"])).numpy())


def test_names_and_errors():
    I = tf.keras.initializers
    assert I.STFTInitializer is I.STFT and I.stft is I.STFT and type(I.get("stft")) is I.STFT
    with pytest.raises(ValueError, match="side must be 'real' or 'imag'"):
        I.STFT("both")
    layer = tf.keras.layers.STFTSpectrogram(frame_length=8, mode="real")
    layer.build((None, 32, 1))
    want = I.STFT("real", "hann", "density", False)(shape=(8, 1, 5)).numpy()
    assert any(np.array_equal(w.numpy(), want) for w in layer.weights)
