"""Weight-file group names are Keras 3's snake case of the class names (``conv2d``, ``depthwise_conv2d``): a
``.weights.h5`` written by Keras 3.15.1 loads (``fixtures/make_keras3_conv_weights.py``), and files tapeflow wrote
before session 5 with ``conv2_d`` groups still load."""
import os

import numpy as np

from tapeflow import keras
from tapeflow.keras.saving import weights_h5

HERE = os.path.join(os.path.dirname(__file__), "..", "fixtures")


def _model():
    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, padding="same"),
                             keras.layers.DepthwiseConv2D(3), keras.layers.BatchNormalization(),
                             keras.layers.Conv2DTranspose(2, 2, strides=2), keras.layers.Conv2D(3, 1),
                             keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])


def test_keras_written_conv_weights_load():
    io = np.load(os.path.join(HERE, "keras3_conv_io.npz"))
    model = _model()
    model.load_weights(os.path.join(HERE, "keras3_conv.weights.h5"))
    np.testing.assert_allclose(model.predict(io["x"], verbose=0), io["y"], rtol=1e-5, atol=1e-5)
    assert [p for p, _ in weights_h5.walk_saveables(model)][1:4] == ["layers/conv2d", "layers/depthwise_conv2d",
                                                                     "layers/batch_normalization"]


def test_files_with_the_old_names_still_load(tmp_path, monkeypatch):
    model = _model()
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    original = weights_h5.walk_saveables
    monkeypatch.setattr(weights_h5, "walk_saveables", lambda m, legacy=False: original(m, legacy=True))
    model.save_weights(str(tmp_path / "old.weights.h5"))           # written with conv2_d groups
    monkeypatch.setattr(weights_h5, "walk_saveables", original)
    import h5py
    with h5py.File(tmp_path / "old.weights.h5") as f:
        assert "conv2_d" in f["layers"] and "conv2d" not in f["layers"]
    again = _model()
    again.load_weights(str(tmp_path / "old.weights.h5"))
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
